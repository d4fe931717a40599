/**
 * N no-op tasks submitted at once to a one-node cluster (they queue in the driver: only a few
 * workers run them), then all results fetched. Prints the time from first submit to last result,
 * and the driver's memory: resident set and V8 heap before, at the peak (everything queued), and
 * the growth per queued task.
 *   node bench/sections/stingray_drivers/queued_tasks.ts N
 */
import * as ray from "../../../src/api/index.ts";

const n = Number(process.argv[2] ?? 1_000_000);
const noop = ray.remote(() => 0);
await ray.init({ logToDriver: false });
await ray.get(noop.remote());
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const before = process.memoryUsage();
const t0 = performance.now();
const refs = new Array<ray.ObjectRef<number>>(n);
for (let i = 0; i < n; i++) refs[i] = noop.remote();
const submitMs = performance.now() - t0;
gc?.();
const queued = process.memoryUsage();
let sum = 0;
const chunk = 10_000;
for (let i = 0; i < n; i += chunk) {
  for (const v of await ray.get(refs.slice(i, i + chunk))) sum += v + 1;
}
const totalMs = performance.now() - t0;
if (sum !== n) throw new Error(`expected ${n} results, got ${sum}`);
await ray.shutdown();
process.stdout.write(`${JSON.stringify({
  n, submitMs, totalMs,
  rssBefore: before.rss, rssQueued: queued.rss, heapBefore: before.heapUsed, heapQueued: queued.heapUsed,
  bytesPerTask: (queued.rss - before.rss) / n, heapTotalBefore: before.heapTotal, heapTotalQueued: queued.heapTotal, externalQueued: queued.external,
})}\n`);
