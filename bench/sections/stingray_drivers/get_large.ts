/**
 * Get of a large array put by another process on the same node (a task returns it): the time of
 * `get()` and how much the driver's resident memory grew, which shows whether the payload was
 * copied (a copy grows it by the array's size; a mapping does not until pages are read).
 *   node bench/sections/stingray_drivers/get_large.ts BYTES RUNS
 */
import * as ray from "../../../src/api/index.ts";

const bytes = Number(process.argv[2] ?? 400e6);
const runs = Number(process.argv[3] ?? 5);
const make = ray.remote((n: number) => new Float64Array(n / 8).fill(1));
await ray.init({ logToDriver: false });
const samples: { ms: number; rssGrowth: number }[] = [];
for (let i = 0; i < runs + 1; i++) {
  const ref = make.remote(bytes);
  await ray.wait([ref]);
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const a = await ray.get(ref);
  const ms = performance.now() - t0;
  const rssGrowth = process.memoryUsage().rss - rss0;
  if (a.length !== bytes / 8 || a[a.length - 1] !== 1) throw new Error("wrong array");
  if (i > 0) samples.push({ ms, rssGrowth }); // the first is a warm-up
}
await ray.shutdown();
process.stdout.write(`${JSON.stringify({ bytes, samples })}\n`);
