import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as ray from "stingray";

class Counter {
  n = 0;
  inc(by = 1): number { return (this.n += by); }
  get(): number { return this.n; }
  pid(): number { return process.pid; }
}
class Log {
  items: number[] = [];
  add(i: number): number { this.items.push(i); return i; }
  all(): number[] { return this.items; }
}
class Slow {
  inFlight = 0;
  peak = 0;
  async work(ms: number): Promise<number> {
    this.inFlight++;
    this.peak = Math.max(this.peak, this.inFlight);
    await new Promise((r) => setTimeout(r, ms));
    this.inFlight--;
    return this.peak;
  }
}
class Broken {
  constructor() { throw new Error("constructor exploded"); }
  hello(): string { return "never"; }
}
class Stream {
  async *ticks(n: number): AsyncGenerator<number> { for (let i = 0; i < n; i++) yield i * 10; }
}

const CounterActor = ray.remote(Counter);
const useCounter = ray.remote(async (c: ray.ActorHandle<Counter>) => ray.get(c.inc.remote(100)));

before(async () => { await ray.init({ numCpus: 2 }); });
after(async () => { await ray.shutdown(); });

test("the issue's actor example and named actors", async () => {
  const c = CounterActor.options({ name: "counter" }).remote();
  assert.equal(await ray.get(c.inc.remote(5)), 5);
  const same = await ray.getActor<Counter>("counter");
  assert.equal(await ray.get(same.inc.remote()), 6);
  await assert.rejects(ray.getActor("no-such-actor"), (e: unknown) => e instanceof ray.NameError);
  // A second actor with the same name fails with NameError on use.
  const dup = CounterActor.options({ name: "counter" }).remote();
  await assert.rejects(ray.get(dup.inc.remote()), (e: unknown) => e instanceof ray.StingrayError && /already exists/.test(e.message));
  await ray.kill(c);
});

test("calls from one caller run in submission order", async () => {
  const log = ray.remote(Log).remote();
  const refs = Array.from({ length: 300 }, (_, i) => log.add.remote(i));
  await ray.get(refs);
  assert.deepEqual(await ray.get(log.all.remote()), Array.from({ length: 300 }, (_, i) => i));
});

test("async actors run up to maxConcurrency calls at once", async () => {
  const a = ray.remote(Slow).options({ maxConcurrency: 4 }).remote();
  const peaks = await ray.get(Array.from({ length: 8 }, () => a.work.remote(100)));
  assert.equal(Math.max(...peaks), 4);
  const serial = ray.remote(Slow).options({ maxConcurrency: 1 }).remote();
  const p2 = await ray.get(Array.from({ length: 3 }, () => serial.work.remote(20)));
  assert.equal(Math.max(...p2), 1);
});

test("actor handles can be passed to tasks", async () => {
  const c = CounterActor.remote();
  assert.equal(await ray.get(useCounter.remote(c)), 100);
  assert.equal(await ray.get(c.get.remote()), 100);
});

test("actor methods can stream", async () => {
  const s = ray.remote(Stream).remote();
  const got: number[] = [];
  for await (const r of s.ticks.options({ numReturns: "streaming" }).remote(3)) got.push(await ray.get(r));
  assert.deepEqual(got, [0, 10, 20]);
});

test("a killed actor gives ActorDiedError; with maxRestarts it comes back", async () => {
  const c = CounterActor.remote();
  await ray.get(c.inc.remote());
  await ray.kill(c);
  await assert.rejects(ray.get(c.inc.remote()), (e: unknown) => e instanceof ray.ActorDiedError);

  const r = CounterActor.options({ maxRestarts: 1 }).remote();
  const pid1 = await ray.get(r.pid.remote());
  process.kill(pid1, "SIGKILL");
  // Calls after the crash wait for the restart and then run on a fresh instance.
  let pid2 = pid1;
  for (let i = 0; i < 50 && pid2 === pid1; i++) {
    try { pid2 = await ray.get(r.pid.remote()); } catch (e) { assert.ok(e instanceof ray.ActorDiedError); }
  }
  assert.notEqual(pid2, pid1);
  assert.equal(await ray.get(r.inc.remote()), 1, "state is fresh after a restart");
  const pid3 = await ray.get(r.pid.remote());
  process.kill(pid3, "SIGKILL");
  let died = false;
  for (let i = 0; i < 50 && !died; i++) {
    try { await ray.get(r.pid.remote()); await new Promise((res) => setTimeout(res, 50)); } catch (e) { died = e instanceof ray.ActorDiedError; }
  }
  assert.ok(died, "after maxRestarts the actor stays dead");
});

test("an actor whose constructor throws is dead with the cause", async () => {
  const b = ray.remote(Broken).remote();
  await assert.rejects(ray.get(b.hello.remote()), (e: unknown) => e instanceof ray.ActorDiedError && /constructor exploded/.test(e.message));
});
