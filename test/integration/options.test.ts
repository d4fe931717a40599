import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as ray from "stingray";

const where = ray.remote(() => ray.getRuntimeContext().nodeId);
const hold = ray.remote(async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return ms; });
class Counter {
  n = 0;
  inc(): number { return ++this.n; }
  pid(): number { return process.pid; }
  async slowInc(ms: number): Promise<number> { await new Promise((r) => setTimeout(r, ms)); return ++this.n; }
}
const C = ray.remote(Counter);

before(async () => { await ray.init({ numCpus: 2, resources: { accelerator: 1 }, namespace: "team-a" }); });
after(async () => { await ray.shutdown(); });

test("custom resources are scheduled and accounted", async () => {
  assert.equal((await ray.clusterResources()).accelerator, 1);
  const first = hold.options({ resources: { accelerator: 1 } }).remote(400);
  const second = hold.options({ resources: { accelerator: 1 } }).remote(0);
  // The second waits for the single accelerator.
  const [ready] = await ray.wait([first, second], { numReturns: 1, timeout: 5 });
  assert.equal(ready[0], first, "the first holder finishes before the second can start");
  assert.deepEqual(await ray.get([first, second]), [400, 0]);
  assert.equal(typeof (await ray.get(where.options({ resources: { accelerator: 0.5 } }).remote())), "string");
});

test("named actors live in namespaces", async () => {
  const a = C.options({ name: "shared" }).remote();
  await ray.get(a.inc.remote());
  const same = await ray.getActor<Counter>("shared");
  assert.equal(await ray.get(same.inc.remote()), 2);
  await assert.rejects(ray.getActor("shared", { namespace: "team-b" }), (e: unknown) => e instanceof ray.NameError);
  const b = C.options({ name: "shared", namespace: "team-b" }).remote();
  assert.equal(await ray.get(b.inc.remote()), 1);
  assert.equal(await ray.get((await ray.getActor<Counter>("shared", { namespace: "team-b" })).inc.remote()), 2);
});

test("kill with noRestart: false restarts an actor that has restarts left", async () => {
  const a = C.options({ maxRestarts: 2 }).remote();
  const pid1 = await ray.get(a.pid.remote());
  await ray.kill(a, { noRestart: false });
  let pid2 = pid1;
  for (let i = 0; i < 100 && pid2 === pid1; i++) {
    try { pid2 = await ray.get(a.pid.remote()); } catch { await new Promise((r) => setTimeout(r, 20)); }
  }
  assert.notEqual(pid2, pid1);
});

test("maxTaskRetries resends calls that were running when the actor died", async () => {
  const a = C.options({ maxRestarts: 1, maxTaskRetries: 1 }).remote();
  const pid = await ray.get(a.pid.remote());
  const inFlight = a.slowInc.remote(500);
  await new Promise((r) => setTimeout(r, 100));
  process.kill(pid, "SIGKILL");
  assert.equal(await ray.get(inFlight), 1, "the call ran again on the restarted actor");
  const b = C.options({ maxRestarts: 1 }).remote();
  const pidB = await ray.get(b.pid.remote());
  const lost = b.slowInc.remote(500);
  await new Promise((r) => setTimeout(r, 100));
  process.kill(pidB, "SIGKILL");
  await assert.rejects(ray.get(lost), (e: unknown) => e instanceof ray.ActorDiedError && /maxTaskRetries/.test(e.message));
});
