import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as ray from "stingray";
import { runtime } from "../../src/worker/runtime.ts";
import type { CoreWorker } from "../../src/worker/core_worker.ts";
const coreWorker = (): CoreWorker => runtime() as CoreWorker;

const firstOf = ray.remote((a: Float64Array) => a[0]);

before(async () => { await ray.init({ numCpus: 2, objectStoreMemory: 300 * 1024 * 1024 }); });
after(async () => { await ray.shutdown(); });

test("when the store is full objects spill to disk and come back on access", async () => {
  const refs: ray.ObjectRef<Float64Array>[] = [];
  for (let i = 0; i < 6; i++) refs.push(await ray.put(new Float64Array(12_500_000).fill(i))); // 6 x 100 MB into 300 MB
  const st = await coreWorker().opts.raylet.request("raylet.GetStats", {});
  assert.ok(st.spilledObjects >= 3, `expected spills, got ${JSON.stringify(st)}`);
  assert.ok(st.storeUsed <= st.storeCapacity);
  for (let i = 0; i < 6; i++) {
    const v = await ray.get(refs[i]!);
    assert.equal(v[12_499_999], i);
  }
  assert.deepEqual(await ray.get(refs.map((r) => firstOf.remote(r))), [0, 1, 2, 3, 4, 5]);
  const after = await coreWorker().opts.raylet.request("raylet.GetStats", {});
  assert.ok(after.restoredObjects >= 3);
});

test("an object larger than the whole store is refused clearly", async () => {
  await assert.rejects(ray.put(new Float64Array(50_000_000)), (e: unknown) => e instanceof ray.ObjectStoreFullError && /--object-store-memory/.test(e.message));
});
