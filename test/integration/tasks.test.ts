import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as ray from "stingray";
import { captureStderr } from "../helpers/procs.ts";

const square = ray.remote((x: number) => x * x);
const add = ray.remote((a: number, b: number) => a + b);
const echo = ray.remote((v: unknown) => v);
const pair = ray.remote((x: number) => [x, x * 2] as const);
const nestedRefLen = ray.remote((o: { refs: ray.ObjectRef<number>[] }) => o.refs.every((r) => r instanceof ray.ObjectRef) ? o.refs.length : -1);
const sumNested = ray.remote(async (o: { refs: ray.ObjectRef<number>[] }) => (await ray.get(o.refs)).reduce((a, b) => a + b, 0));
const fanOut = ray.remote(async (n: number) => (await ray.get(Array.from({ length: n }, (_, i) => square.remote(i)))).reduce((a, b) => a + b, 0));
const ctx = ray.remote(() => { const c = ray.getRuntimeContext(); return { task: c.taskId, node: c.nodeId, ip: c.nodeIp, driver: c.isDriver, pid: process.pid }; });
const envOf = ray.remote((k: string) => process.env[k]);
const pidOf = ray.remote(() => process.pid);
async function* countTo(n: number): AsyncGenerator<number> { for (let i = 1; i <= n; i++) yield i; }
const gen = ray.remote(countTo);
async function* failAfter(n: number): AsyncGenerator<number> { for (let i = 0; i < n; i++) yield i; throw new RangeError("stream broke"); }
const genFail = ray.remote(failAfter);
const sleepy = ray.remote(async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return ms; });
const logs = ray.remote((msg: string) => { console.log(msg); return 1; });

before(async () => { await ray.init({ numCpus: 2 }); });
after(async () => { await ray.shutdown(); });

test("the issue's example: tasks, refs and wait", async () => {
  const refs = [0, 1, 2, 3].map((i) => square.remote(i));
  assert.deepEqual(await ray.get(refs), [0, 1, 4, 9]);
  const [ready, rest] = await ray.wait(refs, { numReturns: 2, timeout: 1 });
  assert.equal(ready.length, 2);
  assert.equal(rest.length, 2);
});

test("refs as arguments are resolved; refs nested in values stay refs", async () => {
  const a = square.remote(3);
  const b = await ray.put(4);
  assert.equal(await ray.get(add.remote(a, b)), 13);
  const refs = [await ray.put(1), await ray.put(2), square.remote(3)];
  assert.equal(await ray.get(nestedRefLen.remote({ refs })), 3);
  assert.equal(await ray.get(sumNested.remote({ refs })), 12);
});

test("tasks can submit tasks", async () => {
  assert.equal(await ray.get(fanOut.remote(10)), 285);
});

test("values of every supported kind round-trip through a task", async () => {
  const v = {
    map: new Map<unknown, unknown>([[1, "a"], ["k", { z: [1, 2] }]]), set: new Set([1, "x"]), date: new Date(1700000000000),
    big: 12345678901234567890n, f64: new Float64Array([1.5, -2]), u8: new Uint8Array([1, 2, 3]), buf: Buffer.from("hi"),
    err: new TypeError("inner"), nested: { deep: [null, undefined, true, "s", 1.25] },
    large: new Float32Array(100_000).fill(0.5),
  };
  const out = (await ray.get(echo.remote(v))) as typeof v;
  assert.ok(out.map instanceof Map && out.map.get(1) === "a");
  assert.deepEqual(out.set, new Set([1, "x"]));
  assert.equal(out.date.getTime(), 1700000000000);
  assert.equal(out.big, 12345678901234567890n);
  assert.deepEqual([...out.f64], [1.5, -2]);
  assert.ok(out.u8 instanceof Uint8Array);
  assert.equal(Buffer.from(out.buf).toString(), "hi");
  assert.ok(out.err instanceof Error && out.err.message === "inner");
  assert.deepEqual(out.nested, v.nested);
  assert.equal(out.large.length, 100_000);
  assert.equal(out.large[99_999], 0.5);
});

test("multiple returns and streaming generators", async () => {
  const [x, y] = pair.options({ numReturns: 2 }).remote(5);
  assert.deepEqual(await ray.get([x, y]), [5, 10]);
  const got: number[] = [];
  for await (const r of gen.options({ numReturns: "streaming" }).remote(4)) got.push(await ray.get(r));
  assert.deepEqual(got, [1, 2, 3, 4]);
  const partial: number[] = [];
  await assert.rejects(async () => {
    for await (const r of genFail.options({ numReturns: "streaming" }).remote(2)) partial.push(await ray.get(r));
  }, (e: unknown) => e instanceof ray.TaskError && e.remoteClass === "RangeError");
  assert.deepEqual(partial, [0, 1]);
});

test("runtime context, env vars and worker recycling", async () => {
  const c = await ray.get(ctx.remote());
  assert.equal(c.driver, false);
  assert.ok(c.task && c.node === ray.getRuntimeContext().nodeId);
  assert.notEqual(c.pid, process.pid);
  assert.equal(await ray.get(envOf.options({ runtimeEnv: { envVars: { STINGRAY_TEST_VAR: "42" } } }).remote("STINGRAY_TEST_VAR")), "42");
  assert.equal(await ray.get(envOf.remote("STINGRAY_TEST_VAR")), undefined);
  const once = pidOf.options({ maxCalls: 1 });
  const p1 = await ray.get(once.remote());
  const p2 = await ray.get(once.remote());
  assert.notEqual(p1, p2, "maxCalls: 1 gives each task a fresh worker process");
});

test("get timeout and cancel", async () => {
  const slow = sleepy.remote(3000);
  await assert.rejects(ray.get(slow, { timeout: 0.2 }), (e: unknown) => e instanceof ray.GetTimeoutError);
  // Queue more sleepers than CPUs, then cancel a queued one and a running one.
  const running = [sleepy.remote(2000), sleepy.remote(2000)];
  const queued = sleepy.remote(10);
  ray.cancel(queued);
  await assert.rejects(ray.get(queued), (e: unknown) => e instanceof ray.TaskCancelledError);
  ray.cancel(running[0]!, { force: true });
  await assert.rejects(ray.get(running[0]!), (e: unknown) => e instanceof ray.TaskCancelledError);
  assert.equal(await ray.get(running[1]!), 2000);
  assert.equal(await ray.get(slow), 3000);
});

test("an infeasible request is reported with a warning, not a silent hang", async () => {
  const { text } = await captureStderr(async () => {
    const r = square.options({ numGpus: 4 }).remote(2);
    await assert.rejects(ray.get(r, { timeout: 1.5 }), (e: unknown) => e instanceof ray.GetTimeoutError);
  });
  assert.match(text, /warning: a task needs \{[^}]*GPU: 4[^}]*\} but no node/);
});

test("worker output reaches the driver with a (pid, ip) prefix", async () => {
  const chunks: string[] = [];
  const orig = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((c: string | Uint8Array, ...rest: unknown[]) => {
    chunks.push(String(c));
    return (orig as (...a: unknown[]) => boolean)(c, ...rest);
  }) as typeof process.stdout.write;
  try {
    await ray.get(logs.remote("hello from a worker"));
    const deadline = Date.now() + 3000;
    while (!chunks.join("").includes("hello from a worker") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    process.stdout.write = orig;
  }
  assert.match(chunks.join(""), /\(pid=\d+, ip=127\.0\.0\.1\) hello from a worker/);
});

test("cluster introspection", async () => {
  const nodes = await ray.nodes();
  assert.equal(nodes.length, 1);
  assert.equal(nodes[0]!.alive, true);
  assert.equal((await ray.clusterResources()).CPU, 2);
  const avail = await ray.availableResources();
  assert.ok((avail.CPU ?? 0) <= 2);
});
