/**
 * The Stingray demo: a local cluster running tasks, actors and objects.
 * Run it with `npm run demo`.
 */
import * as ray from "stingray";

// Remote functions and classes are defined at module top level; their code ships to workers.
const square = ray.remote((x: number) => x * x);

class Counter {
  n = 0;
  inc(by = 1): number { return (this.n += by); }
}

async function sumArray(a: Float64Array): Promise<number> {
  let s = 0;
  for (let i = 0; i < a.length; i += 1000) s += a[i]!;
  return s;
}
const remoteSum = ray.remote(sumArray);

async function* countdown(n: number): AsyncGenerator<number> {
  for (let i = n; i > 0; i--) yield i;
}
const remoteCountdown = ray.remote(countdown);

const t0 = performance.now();
const info = await ray.init();
console.log(`local cluster up in ${(performance.now() - t0).toFixed(0)} ms; dashboard at ${info.dashboardUrl ?? "(off)"} while this runs`);

const refs = [0, 1, 2, 3].map((i) => square.remote(i));
console.log("squares:", await ray.get(refs));

const c = ray.remote(Counter).options({ name: "counter" }).remote();
console.log("counter after inc(5):", await ray.get(c.inc.remote(5)));
const again = await ray.getActor<Counter>("counter");
console.log("same actor by name, inc(1):", await ray.get(again.inc.remote(1)));

const big = await ray.put(new Float64Array(50_000_000).fill(1)); // 400 MB, in shared memory once
console.log("sum of every 1000th element of a 400 MB array, computed on a worker:", await ray.get(remoteSum.remote(big)));

const [ready] = await ray.wait(refs, { numReturns: 2, timeout: 1 });
console.log("ready after wait:", ready.length);

const gen = remoteCountdown.options({ numReturns: "streaming" }).remote(3);
for await (const ref of gen) console.log("streamed:", await ray.get(ref));

console.log("cluster resources:", await ray.clusterResources());
await ray.shutdown();
