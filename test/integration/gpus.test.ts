import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as ray from "stingray";

// GPUs are a scheduling resource: this test declares two (numGpus: 2) so it runs on any machine;
// on a machine with NVIDIA GPUs the default comes from nvidia-smi instead.
const gpuTask = ray.remote(async (ms: number) => {
  await new Promise((r) => setTimeout(r, ms));
  return { ids: ray.getGpuIds(), env: process.env.CUDA_VISIBLE_DEVICES };
});
/** Resolves every arrive() once `n` callers have arrived: proves the callers ran at the same time. */
class Barrier {
  waiting: Array<() => void> = [];
  async arrive(n: number): Promise<number> {
    await new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      if (this.waiting.length >= n) for (const w of this.waiting.splice(0)) w();
    });
    return n;
  }
}
const BarrierActor = ray.remote(Barrier);
const gpuTogether = ray.remote(async (b: ray.ActorHandle<Barrier>) => {
  await ray.get(b.arrive.remote(2));
  return { ids: ray.getGpuIds(), env: process.env.CUDA_VISIBLE_DEVICES };
});
class GpuHolder { ids(): number[] { return ray.getGpuIds(); } }

before(async () => { await ray.init({ numCpus: 4, numGpus: 2 }); });
after(async () => { await ray.shutdown(); });

test("tasks with numGpus get distinct GPU ids in CUDA_VISIBLE_DEVICES", async () => {
  assert.equal((await ray.clusterResources()).GPU, 2);
  const b = BarrierActor.remote();
  const res = await ray.get([gpuTogether.options({ numGpus: 1 }).remote(b), gpuTogether.options({ numGpus: 1 }).remote(b)]);
  const ids = res.map((r) => r.ids).flat().sort();
  assert.deepEqual(ids, [0, 1], "two concurrent one-GPU tasks hold GPU 0 and GPU 1");
  assert.equal(res[0]!.env, String(res[0]!.ids[0]));
  const both = await ray.get(gpuTask.options({ numGpus: 2 }).remote(0));
  assert.deepEqual(both.ids, [0, 1]);
  const none = await ray.get(gpuTask.remote(0));
  assert.deepEqual(none.ids, [], "a task without GPUs sees none");
});

test("an actor with numGpus keeps its GPU", async () => {
  const a = ray.remote(GpuHolder).options({ numGpus: 1 }).remote();
  const ids = await ray.get(a.ids.remote());
  assert.equal(ids.length, 1);
  assert.deepEqual(await ray.get(a.ids.remote()), ids);
  // With one GPU held by the actor, a two-GPU task cannot run yet.
  const blocked = gpuTask.options({ numGpus: 2 }).remote(0);
  await assert.rejects(ray.get(blocked, { timeout: 0.5 }), (e: unknown) => e instanceof ray.GetTimeoutError);
  await ray.kill(a);
  assert.deepEqual((await ray.get(blocked)).ids, [0, 1]);
});
