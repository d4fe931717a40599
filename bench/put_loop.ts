/**
 * Milliseconds per 400 MB put() in a loop on a fresh local cluster, with the dropped ref freed in
 * one of three ways, to see whether the writer's mapping cache keeps up when frees arrive late:
 *
 *   node bench/put_loop.ts [wait|late|nowait] [puts]
 *     wait    full collection, then two 1 ms waits (the free reaches the raylet before the next put)
 *     late    full collection, then one setImmediate (the free usually lands after the next create)
 *     nowait  full collection, the next put at once
 *
 * Prints one line: the mode and the time of each put (the first few write fresh files).
 */
import v8 from "node:v8";
import vm from "node:vm";
import * as ray from "../src/api/index.ts";

const mode = process.argv[2] ?? "wait";
const puts = Number(process.argv[3] ?? 12);
if (!["wait", "late", "nowait"].includes(mode) || !(puts > 0)) throw new Error("usage: put_loop.ts [wait|late|nowait] [puts > 0]");
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
await ray.init({ numCpus: 1, logToDriver: false, includeDashboard: false });
const a = new Float64Array(50_000_000).fill(1);
const times: number[] = [];
for (let i = 0; i < puts; i++) {
  const t = performance.now();
  await ray.put(a); // the ref is dropped at once
  times.push(performance.now() - t);
  gc();
  if (mode === "wait") { await new Promise((r) => setTimeout(r, 1)); await new Promise((r) => setTimeout(r, 1)); }
  else if (mode === "late") await new Promise((r) => setImmediate(r));
}
console.log(mode, times.map((x) => x.toFixed(0)).join(" "));
await ray.shutdown();
