import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ray from "stingray";

class CustomFailure extends Error {
  code = "E_CUSTOM";
}
function throwsCustom(x: number): number {
  if (x > 0) throw new CustomFailure(`bad input ${x}`);
  return x;
}
const failing = ray.remote(throwsCustom);
/** Kills its own worker the first `times` times it runs (counted in a marker file), then returns. */
const dieThenSucceed = ray.remote((marker: string, times: number) => {
  const n = fs.existsSync(marker) ? Number(fs.readFileSync(marker, "utf8")) : 0;
  fs.writeFileSync(marker, String(n + 1));
  if (n < times) process.kill(process.pid, "SIGKILL");
  return n;
});
const flaky = ray.remote((marker: string) => {
  const n = fs.existsSync(marker) ? Number(fs.readFileSync(marker, "utf8")) : 0;
  fs.writeFileSync(marker, String(n + 1));
  if (n < 2) throw new Error("flaky");
  return n;
});
const dependsOn = ray.remote((x: number) => x + 1);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-errors-"));
before(async () => { await ray.init({ numCpus: 2 }); });
after(async () => { await ray.shutdown(); fs.rmSync(tmp, { recursive: true, force: true }); });

test("a task that throws gives TaskError with the remote class, message, stack, function, pid and node", async () => {
  await assert.rejects(ray.get(failing.remote(7)), (e: unknown) => {
    assert.ok(e instanceof ray.TaskError);
    assert.equal(e.remoteClass, "CustomFailure");
    assert.equal(e.remoteMessage, "bad input 7");
    assert.match(e.remoteStack, /throwsCustom/);
    assert.equal(e.functionName, "throwsCustom");
    assert.ok(e.pid > 0 && e.pid !== process.pid);
    assert.equal(e.nodeIp, "127.0.0.1");
    assert.equal(e.remoteCode, "E_CUSTOM");
    assert.match(e.message, /throwsCustom failed .*CustomFailure: bad input 7/s);
    return true;
  });
  // A task depending on a failed object fails with the same error.
  await assert.rejects(ray.get(dependsOn.remote(failing.remote(1))), (e: unknown) => e instanceof ray.TaskError && e.remoteMessage === "bad input 1");
});

test("a worker SIGKILLed mid-task is retried, and gives WorkerCrashedError when retries run out", async () => {
  const m1 = path.join(tmp, "m1");
  assert.equal(await ray.get(dieThenSucceed.options({ maxRetries: 3 }).remote(m1, 2)), 2);
  const m2 = path.join(tmp, "m2");
  await assert.rejects(ray.get(dieThenSucceed.options({ maxRetries: 1 }).remote(m2, 5)),
    (e: unknown) => e instanceof ray.WorkerCrashedError && /maxRetries=1/.test(e.message));
  assert.equal(fs.readFileSync(m2, "utf8"), "2", "ran once plus one retry");
});

test("retryExceptions retries tasks that throw", async () => {
  const m = path.join(tmp, "flaky");
  assert.equal(await ray.get(flaky.options({ retryExceptions: true, maxRetries: 3 }).remote(m)), 2);
  const m2 = path.join(tmp, "flaky2");
  await assert.rejects(ray.get(flaky.remote(m2)), (e: unknown) => e instanceof ray.TaskError);
});

test("bad options name the option", () => {
  assert.throws(() => failing.options({ numCpus: -1 }), /options\.numCpus must be a non-negative number/);
  assert.throws(() => failing.options({ nmCpus: 1 } as never), /unknown option "nmCpus"/);
  assert.throws(() => ray.remote(class A {}).options({ maxConcurrency: 0 }), /options\.maxConcurrency must be an integer >= 1/);
  assert.throws(() => ray.remote(42 as never), /remote\(\) takes a function or a class/);
});

test("a function that captures a local variable cannot be shipped, and says which", () => {
  const factor = 3;
  const local = ray.remote((x: number) => x * factor);
  assert.throws(() => local.remote(1), (e: unknown) => e instanceof ray.CodeShippingError && /captures local variable `factor`/.test(e.message));
});

test("values that cannot be serialized are refused with a clear error", async () => {
  await assert.rejects(ray.put({ f: () => 1 }), (e: unknown) => e instanceof ray.SerializationError && /cannot serialize function/.test(e.message));
});

test("get() and wait() reject bad arguments", async () => {
  await assert.rejects(ray.get([1] as never), /get\(\) takes ObjectRefs/);
  await assert.rejects(ray.wait([await ray.put(1)], { numReturns: 2 }), /numReturns \(2\) is larger/);
});
