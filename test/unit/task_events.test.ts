/**
 * A process's task event buffer: bounded (new events beyond it are dropped and counted), sent
 * in capped batches, the first event of a task carries its description, failures carry Ray's
 * error type and the remote stack.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { TaskEventBuffer } from "../../src/worker/task_events.ts";
import type { TaskEventWire, TaskSpec } from "../../src/protocol/messages.ts";

const spec = (taskId: string): TaskSpec => ({
  taskId, jobId: "00000001", kind: "normal", fn: { id: "d", name: "square", kind: "function", pkgHash: "p", entry: "e" }, name: "square",
  args: [], numReturns: 1, resources: { CPU: 1 }, maxRetries: 3, retryExceptions: false,
  owner: { nodeId: "n", host: "127.0.0.1", port: 1, workerId: "w" }, attempt: 0,
});

test("events are bounded, batched, described once, and failures carry type and stack", () => {
  const sent: { events: TaskEventWire[]; dropped: number }[] = [];
  const buf = new TaskEventBuffer({ send: (events, dropped) => sent.push({ events, dropped }) }, { nodeId: "node1", workerId: "wk", pid: 7 });
  buf.stop();
  const s = spec("t0");
  buf.submitted(s);
  buf.running(s);
  buf.finished(s, [{ id: "t0r0", err: { code: "TASK_ERROR", message: "square failed", data: { remoteStack: "Error: x\n    at square" }, stack: "local" } }]);
  buf.flush();
  const [first, running, failed] = sent[0]!.events;
  assert.deepEqual({ name: first!.name, fn: first!.fn, kind: first!.kind, resources: first!.resources, state: first!.state },
    { name: "square", fn: "square", kind: "normal", resources: { CPU: 1 }, state: "PENDING_NODE_ASSIGNMENT" });
  assert.equal(running!.name, undefined, "only the first event describes the task");
  assert.deepEqual({ nodeId: running!.nodeId, workerId: running!.workerId, pid: running!.pid }, { nodeId: "node1", workerId: "wk", pid: 7 });
  assert.deepEqual({ state: failed!.state, errType: failed!.errType, errStack: failed!.errStack },
    { state: "FAILED", errType: "TASK_EXECUTION_EXCEPTION", errStack: "Error: x\n    at square" });

  sent.length = 0;
  const n = 100_000 + 5; // task_events_max_buffer is 100,000
  for (let i = 0; i < n; i++) buf.running(s);
  buf.flush();
  assert.equal(sent[0]!.events.length, 10_000, "one send carries at most task_events_send_batch_size events");
  assert.equal(sent[0]!.dropped, 5);
  buf.flushAll();
  assert.equal(sent.reduce((a, b) => a + b.events.length, 0), 100_000);
  assert.equal(sent.reduce((a, b) => a + b.dropped, 0), 5);
});
