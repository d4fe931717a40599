import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { Connection } from "../../src/protocol/connection.ts";
import type { TaskSpec } from "../../src/protocol/messages.ts";
import { decodePush, encodePush, replyReturns, withIds } from "../../src/worker/task_wire.ts";
import { Packr } from "msgpackr";
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

test("a reply carries returns by position without ids; the caller puts its own id strings back", () => {
  const err = { code: "TASK_ERROR", message: "boom" };
  const returns = [
    { id: "Tr0", v: Buffer.from([1]) },
    { id: "Tr1", node: "n1", size: 1 << 20 },
    { id: "Tr2", err },
  ];
  const wire = replyReturns(returns);
  for (const r of wire) assert.equal("id" in r, false, "no id on the wire");
  // Through msgpack (records, as on a connection) and back.
  const codec = new Packr({ useRecords: true, sequential: true, mapsAsObjects: true });
  const back = codec.unpack(codec.pack({ returns: wire })) as { returns: typeof wire };
  const mine = ["Tr0", "Tr1", "Tr2"];
  const got = withIds(back.returns, mine, "T");
  assert.deepEqual(got.map((r) => r.id), ["Tr0", "Tr1", "Tr2"]);
  assert.equal(got[0]!.id, mine[0], "the caller's own string");
  assert.deepEqual([...got[0]!.v!], [1]);
  assert.deepEqual([got[1]!.node, got[1]!.size], ["n1", 1 << 20]);
  assert.equal(got[2]!.err?.message, "boom");
  // A return past the caller's ids (the error of a task declared with no returns) gets the canonical id.
  assert.deepEqual(withIds(replyReturns([{ id: "Ur0", err }]), [], "U").map((r) => r.id), ["Ur0"]);
  // A single return's id may be given as the string itself.
  assert.deepEqual(withIds(replyReturns([{ id: "Vr0", v: Buffer.from([5]) }]), "Vr0", "V").map((r) => r.id), ["Vr0"]);
  assert.deepEqual(withIds(replyReturns([{ id: "Wr0", err }, { id: "Wr1", err }]), "Wr0", "W").map((r) => r.id), ["Wr0", "Wr1"]);
});
