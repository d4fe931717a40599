import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { Connection } from "../../src/protocol/connection.ts";
import type { TaskSpec } from "../../src/protocol/messages.ts";
import { decodePush, encodePush } from "../../src/worker/task_wire.ts";
import { ProtocolError } from "../../src/common/errors.ts";

// The codec keys its state by connection identity only; plain objects stand in for the two ends.
const conn = (): Connection => new EventEmitter() as unknown as Connection;

const template: TaskSpec = {
  taskId: "", jobId: "01", kind: "normal", fn: { id: "f1", name: "noop" } as TaskSpec["fn"], name: "noop", args: [],
  numReturns: 1, resources: { CPU: 1 }, maxRetries: 3, retryExceptions: false,
  owner: { workerId: "w1", host: "127.0.0.1", port: 1234, nodeId: "n1" }, attempt: 0,
};
const call = (taskId: string, attempt = 0): TaskSpec => ({ ...template, taskId, args: [{ v: Buffer.from([1]) }], attempt });

test("a template is sent once per connection; later calls carry only what differs", () => {
  const [a, b] = [conn(), conn()];
  const first = encodePush(a, call("t1"), template, undefined);
  assert.ok(first.tmpl && first.call && !first.spec);
  const second = encodePush(a, call("t2", 1), template, [0, 1]);
  assert.equal(second.tmpl, undefined, "not sent again on the same connection");
  assert.deepEqual(second.call, { t: first.call.t, taskId: "t2", args: [{ v: Buffer.from([1]) }], attempt: 1, gpuIds: [0, 1] });
  assert.ok(encodePush(b, call("t3"), template, undefined).tmpl, "a new connection gets the template again");

  const rx = conn();
  assert.deepEqual(decodePush(rx, first), { ...call("t1"), gpuIds: undefined });
  assert.deepEqual(decodePush(rx, second), { ...call("t2", 1), gpuIds: [0, 1] });
});

test("a whole spec passes through; a call of an undefined template is a protocol error", () => {
  const spec = call("t9");
  assert.deepEqual(encodePush(conn(), spec, undefined, undefined), { spec });
  assert.equal(decodePush(conn(), { spec }), spec);
  assert.throws(() => decodePush(conn(), { call: { t: 7, taskId: "x", args: [], attempt: 0 } }),
    (e: unknown) => e instanceof ProtocolError && /template 7/.test(e.message));
  assert.throws(() => decodePush(conn(), {}), (e: unknown) => e instanceof ProtocolError && /spec or call/.test(e.message));
});
