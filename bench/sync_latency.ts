/**
 * The distribution of sync task round trips (submit one no-op task, get its result, repeat for
 * 5 s) on a local cluster: mean, p50, p90, p99, p99.9, max and how many took over 1 ms. Medians
 * are robust to this VM's stalls, so A/B comparisons of the sync path use p50:
 *
 *   node bench/sync_latency.ts
 *   STINGRAY_TASK_EVENTS_REPORT_INTERVAL_MS=0 node bench/sync_latency.ts     # task events off
 *   NODASH=1 node bench/sync_latency.ts                                        # no dashboard
 */
import * as ray from "../src/api/index.ts";
const noop = ray.remote(function noop(): number { return 1; });
await ray.init({ numCpus: 2, logToDriver: false, includeDashboard: process.env.NODASH ? false : undefined });
for (let i = 0; i < 2000; i++) await ray.get(noop.remote());
const lat: number[] = [];
const t0 = performance.now();
while (performance.now() - t0 < 5000) { const a = performance.now(); await ray.get(noop.remote()); lat.push(performance.now() - a); }
lat.sort((a, b) => a - b);
const q = (p: number) => (lat[Math.floor(lat.length * p)]! * 1000).toFixed(0);
const mean = lat.reduce((a, b) => a + b, 0) / lat.length * 1000;
const big = lat.filter((x) => x > 1).length;
console.log(JSON.stringify({ n: lat.length, mean_us: +mean.toFixed(0), p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max_ms: lat.at(-1)!.toFixed(1), over_1ms: big }));
await ray.shutdown();
