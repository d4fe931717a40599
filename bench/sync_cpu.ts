/**
 * Sync round trips (submit one no-op task or actor call, get it, repeat) for a few seconds after a
 * 1.5 s warm-up, on a fresh local cluster: wall time per round trip and the CPU time (user +
 * system, from /proc) the driver and the executing worker spent per round trip, all in µs. CPU
 * per round trip moves less than wall time on a noisy VM, so A/B comparisons run this in
 * interleaved pairs, each side from its own checkout:
 *
 *   node bench/sync_cpu.ts [task|actor] [seconds] [checkout]     # prints "<rt> <driver> <worker>"
 *   for i in 1 2 3 4 5 6; do node bench/sync_cpu.ts task 3 /path/to/old; node bench/sync_cpu.ts task 3; done
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const mode = process.argv[2] ?? "task";
const secs = Number(process.argv[3] ?? 3);
const repo = path.resolve(process.argv[4] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), ".."));
if ((mode !== "task" && mode !== "actor") || !(secs > 0)) throw new Error("usage: sync_cpu.ts [task|actor] [seconds > 0] [checkout]");
const ray = (await import(path.join(repo, "src/api/index.ts"))) as typeof import("../src/api/index.ts");

const noop = ray.remote(function noop(): number { return process.pid; });
const A = ray.remote(class A { f(): number { return process.pid; } });
await ray.init({ numCpus: 2, logToDriver: false, includeDashboard: false });
/** CPU time of a process so far, in ms (clock ticks of 10 ms). */
const cpuMs = (pid: number): number => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
};
const actor = mode === "actor" ? A.remote() : undefined;
const call = (): Promise<number> => ray.get(actor ? actor.f.remote() : noop.remote());
let worker = 0;
const warm = performance.now();
while (performance.now() - warm < 1500) worker = await call();
const before = [cpuMs(process.pid), cpuMs(worker)];
let n = 0;
const t0 = performance.now();
while (performance.now() - t0 < secs * 1000) { await call(); n++; }
const elapsed = performance.now() - t0;
const after = [cpuMs(process.pid), cpuMs(worker)];
const us = (ms: number): string => ((ms * 1000) / n).toFixed(1);
process.stdout.write(`${us(elapsed)} ${us(after[0]! - before[0]!)} ${us(after[1]! - before[1]!)}\n`);
await ray.shutdown();
