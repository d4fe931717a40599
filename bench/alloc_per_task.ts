/**
 * Bytes the JavaScript heap allocates per no-op task, in the driver or in the worker that runs
 * the tasks, with the allocation sites that account for most of it. Allocation is deterministic
 * where time on this VM is not, so it is the steady measure of per-task overhead (every byte is
 * also work for the young-generation collector).
 *
 *   node bench/alloc_per_task.ts                 # driver, sync loop (submit one task, get it)
 *   node bench/alloc_per_task.ts async           # driver, batches of 1000 tasks
 *   node bench/alloc_per_task.ts sync worker     # the executing worker, sync loop
 *
 * It uses V8's sampling heap profiler with objects collected by minor and major GCs included, so
 * short-lived garbage counts too (a 64-byte sampling interval: the totals are estimates, good to
 * a few percent, and the listed sites are the leaf frames that allocated).
 */
import inspector from "node:inspector";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ray from "../src/api/index.ts";

const mode = process.argv[2] === "async" ? "async" : "sync";
const side = process.argv[3] === "worker" ? "worker" : "driver";
const N = Number(process.env.N ?? (mode === "async" ? 100_000 : 30_000));
const out = path.join(os.tmpdir(), `stingray-alloc-${process.pid}.json`);

interface ProfileNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: ProfileNode[] }

/** Start (op 1) or stop and save (op 2) heap sampling in whatever process runs it. */
async function sampling(op: number, file: string): Promise<void> {
  const g = globalThis as { __allocSession?: inspector.Session };
  const insp = process.getBuiltinModule("node:inspector") as typeof inspector;
  if (op === 1) { g.__allocSession = new insp.Session(); g.__allocSession.connect(); }
  const s = g.__allocSession!;
  const post = (m: string, p: object = {}): Promise<{ profile?: { head: ProfileNode } }> =>
    new Promise((resolve, reject) => s.post(m, p, (e, r) => (e ? reject(e) : resolve(r as { profile?: { head: ProfileNode } }))));
  if (op === 1) {
    await post("HeapProfiler.enable");
    await post("HeapProfiler.startSampling", { samplingInterval: 64, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  } else {
    const { profile } = await post("HeapProfiler.stopSampling");
    (process.getBuiltinModule("node:fs") as typeof fs).writeFileSync(file, JSON.stringify(profile));
  }
}

const noop = ray.remote(function noop(): number { return 1; });
const control = ray.remote(async function control(op: number, file: string): Promise<number> {
  await sampling(op, file);
  return process.pid;
});

await ray.init({ numCpus: 1, logToDriver: false, includeDashboard: false });
const run = async (n: number): Promise<void> => {
  if (mode === "async") {
    for (let k = 0; k < n; k += 1000) await ray.get(Array.from({ length: 1000 }, () => noop.remote()));
  } else {
    for (let i = 0; i < n; i++) await ray.get(noop.remote());
  }
};
await run(10_000); // warm up (the optimising compiler, the lease, the connection's templates)
// One CPU: one worker, so the control task runs where the no-op tasks run.
if (side === "worker") await ray.get(control.remote(1, out)); else await sampling(1, out);
await run(N);
if (side === "worker") await ray.get(control.remote(2, out)); else await sampling(2, out);
await ray.shutdown();

const profile = JSON.parse(fs.readFileSync(out, "utf8")) as { head: ProfileNode };
fs.rmSync(out, { force: true });
const sites = new Map<string, number>();
let total = 0;
const walk = (n: ProfileNode): void => {
  const cf = n.callFrame;
  const k = `${cf.functionName || "(anonymous)"} ${cf.url.split("/").slice(-2).join("/")}:${cf.lineNumber + 1}`;
  sites.set(k, (sites.get(k) ?? 0) + n.selfSize);
  total += n.selfSize;
  for (const c of n.children) walk(c);
};
walk(profile.head);
console.log(`${side}, ${mode} loop, ${N} tasks: ${(total / N).toFixed(0)} bytes allocated per task`);
for (const [k, v] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${(v / N).toFixed(0).padStart(7)}  ${k}`);
