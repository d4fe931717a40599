import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import * as ray from "stingray";
import { runtime } from "../../src/worker/runtime.ts";
import type { CoreWorker } from "../../src/worker/core_worker.ts";
const coreWorker = (): CoreWorker => runtime() as CoreWorker;

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const sumEvery = ray.remote((a: Float64Array, step: number) => { let s = 0; for (let i = 0; i < a.length; i += step) s += a[i]!; return s; });
const checksum = ray.remote((a: Uint8Array) => { let s = 0; for (let i = 0; i < a.length; i += 4096) s = (s + a[i]!) % 1_000_003; return [a.length, s] as const; });
const makeBig = ray.remote((n: number) => new Float64Array(n).fill(2));
const noop = ray.remote((i: number) => i);
const smallBuffer = ray.remote((i: number) => Buffer.from([i % 256, 1, 2, 3]));
class Keeper {
  held: ray.ObjectRef<Float64Array> | undefined;
  keep(box: { ref: ray.ObjectRef<Float64Array> }): boolean { this.held = box.ref; return true; }
  async first(): Promise<number> { return (await ray.get(this.held!))[0]!; }
  drop(): boolean { this.held = undefined; (globalThis as { gc?: () => void }).gc?.(); return true; }
}
const KeeperActor = ray.remote(Keeper);

async function stats() {
  return coreWorker().opts.raylet.request("raylet.GetStats", {});
}

before(async () => { await ray.init({ numCpus: 2 }); });
after(async () => { await ray.shutdown(); });

test("a 400 MB array put once is read by the driver and by a worker", async () => {
  const arr = new Float64Array(50_000_000);
  for (let i = 0; i < arr.length; i += 1000) arr[i] = 1;
  const big = await ray.put(arr);
  assert.equal(await ray.get(sumEvery.remote(big, 1000)), 50_000);
  const back = await ray.get(big);
  assert.ok(back instanceof Float64Array);
  assert.equal(back.length, 50_000_000);
  assert.equal(back[49_999_000], 1);
  assert.equal((await stats()).objects >= 1, true);
});

test("a large task result stays in the store and is fetched on demand", async () => {
  const r = makeBig.remote(1_000_000);
  const v = await ray.get(r);
  assert.equal(v.length, 1_000_000);
  assert.equal(v[999_999], 2);
  assert.equal(await ray.get(sumEvery.remote(r, 1)), 2_000_000);
});

test("a 1 GB object round-trips", async () => {
  const a = new Uint8Array(1024 * 1024 * 1024);
  for (let i = 0; i < a.length; i += 4096) a[i] = i % 251;
  let expect = 0;
  for (let i = 0; i < a.length; i += 4096) expect = (expect + a[i]!) % 1_000_003;
  const ref = await ray.put(a);
  assert.deepEqual(await ray.get(checksum.remote(ref)), [a.length, expect]);
});

test("objects nobody references are freed from the store", async () => {
  const present = async (id: string): Promise<boolean> =>
    (await coreWorker().opts.raylet.request("raylet.ObjectGet", { ids: [id] })).paths[0] !== undefined;
  let ref: ray.ObjectRef<Float64Array> | undefined = await ray.put(new Float64Array(1_000_000));
  const id = ref.id;
  assert.equal(await present(id), true);
  const kept = await ray.put(new Float64Array(1_000_000));
  void ref;
  ref = undefined;
  const deadline = Date.now() + 10_000;
  while ((await present(id)) && Date.now() < deadline) {
    gc();
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(await present(id), false, "the unreferenced object was freed");
  assert.equal(await present(kept.id), true, "a referenced object is kept");
});

async function present(id: string): Promise<boolean> {
  return (await coreWorker().opts.raylet.request("raylet.ObjectGet", { ids: [id] })).paths[0] !== undefined;
}
async function collectUntil(cond: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    gc();
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("a ref borrowed by an actor keeps the object alive until the borrower lets go", async () => {
  let ref: ray.ObjectRef<Float64Array> | undefined = await ray.put(new Float64Array(1_000_000).fill(7));
  const id = ref.id;
  const k = KeeperActor.remote();
  assert.equal(await ray.get(k.keep.remote({ ref })), true);
  ref = undefined;
  for (let i = 0; i < 10; i++) { gc(); await new Promise((r) => setTimeout(r, 100)); }
  assert.equal(await present(id), true, "the actor's borrow keeps the object");
  assert.equal(await ray.get(k.first.remote()), 7);
  await ray.kill(k);
  await collectUntil(async () => !(await present(id)), "the object to be freed once its borrower died");
});

test("an object contained in a put value lives as long as the container", async () => {
  let inner: ray.ObjectRef<Float64Array> | undefined = await ray.put(new Float64Array(1_000_000).fill(3));
  const innerId = inner.id;
  let outer: ray.ObjectRef<{ inner: ray.ObjectRef<Float64Array> }> | undefined = await ray.put({ inner });
  inner = undefined;
  for (let i = 0; i < 10; i++) { gc(); await new Promise((r) => setTimeout(r, 50)); }
  assert.equal(await present(innerId), true);
  const readInner = async (o: ray.ObjectRef<{ inner: ray.ObjectRef<Float64Array> }>): Promise<number> =>
    (await ray.get((await ray.get(o)).inner))[5]!;
  assert.equal(await readInner(outer), 3);
  outer = undefined;
  await collectUntil(async () => !(await present(innerId)), "the contained object to be freed with its container");
});

test("100k tasks complete", async () => {
  const n = 100_000;
  const refs: ray.ObjectRef<number>[] = [];
  for (let i = 0; i < n; i++) refs.push(noop.remote(i));
  const vals = await ray.get(refs);
  assert.equal(vals.length, n);
  assert.equal(vals.reduce((a, b) => a + b, 0), (n * (n - 1)) / 2);
});

test("a value get() returns is the caller's own: changing it changes neither the object nor the next get()", async () => {
  const ref = await ray.put({ b: Buffer.from([1, 2, 3]), f: new Float64Array([0.5, 1.5]) });
  const first = await ray.get(ref);
  first.b[0] = 99; first.f[0] = 99;
  const again = await ray.get(ref);
  assert.deepEqual([...again.b], [1, 2, 3]);
  assert.deepEqual([...again.f], [0.5, 1.5]);
  const fromTask = await ray.get(smallBuffer.remote(7));
  assert.deepEqual([...fromTask], [7, 1, 2, 3]);
  assert.equal(fromTask.buffer.byteLength, 4, "a small result does not hold the socket buffer it arrived in");
});

test("small results the driver keeps hold little of the read buffers they arrived in", async () => {
  // Keep one result of every batch of 400 and drop the rest, so that with views into 64 KiB read
  // slabs every kept result would hold a slab of its own.
  const kept: ray.ObjectRef<Buffer>[] = [];
  for (let round = 0; round < 20; round++) {
    const batch = Array.from({ length: 400 }, (_, i) => smallBuffer.remote(round * 400 + i));
    await ray.wait(batch, { numReturns: batch.length });
    kept.push(batch[123]!);
  }
  const memory = (coreWorker() as unknown as { memory: { get(id: string): { v?: Uint8Array } | undefined } }).memory;
  const buffers = new Set<ArrayBufferLike>();
  for (const r of kept) {
    const v = memory.get(r.id)?.v;
    assert.ok(v, `result ${r.id} is in the memory store inline`);
    buffers.add(v.buffer);
  }
  const held = [...buffers].reduce((a, b) => a + b.byteLength, 0);
  assert.ok(held <= kept.length * 8192, `${kept.length} results of 4 bytes hold ${held} bytes of buffers`);
  assert.deepEqual([...(await ray.get(kept[3]!))], [(3 * 400 + 123) % 256, 1, 2, 3]);
});
