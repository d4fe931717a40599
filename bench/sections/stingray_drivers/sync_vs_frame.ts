/**
 * The sync round-trip targets, measured side by side: Stingray's sync task and sync actor call
 * round trips, interleaved with the raw Unix-socket frame round trip (bench/frames.ts), so each
 * ratio compares figures taken seconds apart rather than in different sections minutes apart
 * (this VM's raw round trip drifts by half between sections).
 *
 * Order: R T R A R T R A R ... with every step time-boxed to the same length. The ratio of each
 * T (or A) is to the mean of the raw steps just before and just after it. Prints one JSON line:
 * { raw: [µs...], task: [µs...], actor: [µs...], taskRatio: [...], actorRatio: [...] }.
 *
 *   node bench/sections/stingray_drivers/sync_vs_frame.ts [trials] [stepMs]
 */
import * as ray from "../../../src/api/index.ts";
import { startFrameEcho } from "../../frames.ts";

const trials = Number(process.argv[2] ?? 5);
const stepMs = Number(process.argv[3] ?? 1500);
const warmMs = stepMs >= 1000 ? 3000 : stepMs; // --quick sizes use short steps and a short warm-up
if (!(Number.isInteger(trials) && trials >= 1 && stepMs > 0)) throw new Error("usage: sync_vs_frame.ts [trials >= 1] [stepMs > 0]");

const noop = ray.remote(() => 0);
class Target { ping(): number { return 0; } }
const TargetActor = ray.remote(Target);

/** Mean round trip in µs of `step` repeated for `ms` milliseconds. */
async function roundTripUsFor(ms: number, step: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  do { await step(); n++; } while (performance.now() - t0 < ms);
  return ((performance.now() - t0) / n) * 1000;
}

await ray.init({ logToDriver: false });
const echo = await startFrameEcho("unix");
try {
  const target = TargetActor.remote();
  const task = (): Promise<number> => ray.get(noop.remote());
  const call = (): Promise<number> => ray.get(target.ping.remote());
  // Warm-up: steady state is what is compared. On this 2-core VM V8 keeps optimizing the task
  // path for about 3 s under load (`node --trace-opt`: ~240 functions optimized in the first
  // second, ~80 in the second, ~25 in the third, a handful after), so each path gets 3 s; the
  // raw client's few functions settle in well under that.
  await roundTripUsFor(warmMs, task);
  await roundTripUsFor(warmMs, call);
  await echo.client.roundTripUsFor(warmMs);

  const raw: number[] = [await echo.client.roundTripUsFor(stepMs)];
  const out = { raw, task: [] as number[], actor: [] as number[], taskRatio: [] as number[], actorRatio: [] as number[] };
  for (let t = 0; t < trials; t++) {
    for (const [step, times, ratios] of [[task, out.task, out.taskRatio], [call, out.actor, out.actorRatio]] as const) {
      const us = await roundTripUsFor(stepMs, step);
      const before = raw.at(-1)!;
      const after = await echo.client.roundTripUsFor(stepMs);
      raw.push(after);
      times.push(us);
      ratios.push(us / ((before + after) / 2));
    }
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
} finally {
  await echo.close();
  await ray.shutdown();
}
