/**
 * CPU cost per no-op task, summed over the driver, the GCS and the workers of a local cluster
 * (from /proc: user + system time), with the rate. CPU time is steadier than throughput on a noisy
 * machine, so A/B comparisons of per-task overheads use this, e.g. task events on and off:
 *
 *   node bench/task_cpu_cost.ts 200000
 *   STINGRAY_TASK_EVENTS_REPORT_INTERVAL_MS=0 node bench/task_cpu_cost.ts 200000
 */
import fs from "node:fs";
import * as ray from "../src/api/index.ts";
const noop = ray.remote(function noop(): number { return 1; });
await ray.init({ numCpus: 2, logToDriver: false });
// warm up
for (let i = 0; i < 5; i++) await ray.get(Array.from({ length: 2000 }, () => noop.remote()));
function cpuOfTree(): Record<string, number> {
  const out: Record<string, number> = {};
  const tick = 100;
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, "utf8");
      const m = /src\/(gcs|raylet|worker|dashboard)\/main\.ts/.exec(cmd);
      const self = Number(d) === process.pid;
      if (!m && !self) continue;
      const st = fs.readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1]!.split(" ");
      const t = (Number(st[11]) + Number(st[12])) / tick;
      const k = self ? "driver" : m![1]!;
      out[k] = (out[k] ?? 0) + t;
    } catch { /* gone */ }
  }
  return out;
}
const before = cpuOfTree();
const t0 = performance.now();
const N = Number(process.argv[2] ?? 200_000);
for (let done = 0; done < N; done += 10000) await ray.get(Array.from({ length: 10000 }, () => noop.remote()));
const wall = (performance.now() - t0) / 1000;
await new Promise((r) => setTimeout(r, 1500)); // let the last reports land
const after = cpuOfTree();
const diff: Record<string, number> = {};
let total = 0;
for (const k of Object.keys(after)) { diff[k] = +(after[k]! - (before[k] ?? 0)).toFixed(2); if (k !== "dashboard") total += diff[k]!; }
console.log(JSON.stringify({ rate: Math.round(N / wall), cpu: diff, total_cpu_s: +total.toFixed(2), us_per_task: +(total / N * 1e6).toFixed(1) }));
await ray.shutdown();
