/**
 * A process's task event buffer: a task that starts and ends between two reports costs one event
 * (the worker's, self-describing, with start and end); the owner reports only tasks still pending
 * at report time and failures the worker cannot report; long tasks are reported as RUNNING;
 * buffers are bounded and reports capped, with drops counted.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { TaskEventBuffer, type RunningTask } from "../../src/worker/task_events.ts";
import { TASK_EVENT_STATES, type TaskEventBatch, type TaskSpec } from "../../src/protocol/messages.ts";

const spec = (taskId: string): TaskSpec => ({
  taskId, jobId: "00000001", kind: "normal", fn: { id: "d", name: "square", kind: "function", pkgHash: "p", entry: "e" }, name: "square",
  args: [], numReturns: 1, resources: { CPU: 1 }, maxRetries: 3, retryExceptions: false,
  owner: { nodeId: "n", host: "127.0.0.1", port: 1, workerId: "w" }, attempt: 0,
});

/** A batch's events, read back as the GCS reads them. */
interface Seen {
  taskId: string; state: string; t: number; start: number; created: number; fn: string; name: string; resources: Record<string, number>;
  nodeId?: string; workerId?: string; pid?: number; errType?: string; errStack?: string;
}
function decode(b: TaskEventBatch): Seen[] {
  return b.events.map((raw, i) => {
    const [taskId, , state, t, start, created, d] = raw as [string, number, number, number, number, number, number];
    const desc = b.descs[d]!;
    const here = TASK_EVENT_STATES[state] === "RUNNING" || start >= 0;
    const err = b.errs.find((e) => e.i === i);
    return { taskId, state: TASK_EVENT_STATES[state]!, t, start, created, fn: desc.fn, name: desc.name, resources: desc.resources,
      ...(here && b.where ? b.where : {}), ...(err ? { errType: err.type, errStack: err.stack } : {}) };
  });
}

function buffer(): { buf: TaskEventBuffer; sent: { events: Seen[]; dropped: number; descs: number }[] } {
  const sent: { events: Seen[]; dropped: number; descs: number }[] = [];
  const buf = new TaskEventBuffer({ send: (b) => { sent.push({ events: decode(b), dropped: b.dropped, descs: b.descs.length }); } },
    { nodeId: "node1", workerId: "wk", pid: 7 });
  buf.stop();
  return { buf, sent };
}

test("owner side: a task done before the report costs nothing; one still pending is reported, then its end", () => {
  const { buf, sent } = buffer();
  buf.submitted(spec("fast"));
  buf.completed(spec("fast"), [{ id: "fastr0", v: new Uint8Array(1) }]);
  buf.submitted(spec("slow"));
  buf.flush();
  assert.deepEqual(sent.flatMap((b) => b.events.map((e) => [e.taskId, e.state])), [["slow", "PENDING_NODE_ASSIGNMENT"]]);
  assert.equal(sent[0]!.events[0]!.fn, "square");
  assert.ok(sent[0]!.events[0]!.created > 0);
  assert.equal(sent[0]!.events[0]!.nodeId, undefined, "an owner's event did not happen on the owner's node");
  buf.completed(spec("slow"), [{ id: "slowr0", v: new Uint8Array(1) }]);
  buf.submitted(spec("crashed"));
  buf.completed(spec("crashed"), [{ id: "crashedr0", err: { code: "WORKER_CRASHED", message: "the worker died" } }]);
  buf.flush();
  assert.deepEqual(sent[1]!.events.map((e) => [e.taskId, e.state, e.errType]), [["slow", "FINISHED", undefined], ["crashed", "FAILED", "WORKER_DIED"]]);
});

test("worker side: one self-describing event per task, RUNNING first for tasks still running at report time", () => {
  const { buf, sent } = buffer();
  const running: RunningTask = { spec: spec("long"), start: 1000, reported: false };
  buf.runningTasks = () => [running];
  buf.executed(spec("short"), 500, [{ id: "shortr0", err: { code: "TASK_ERROR", message: "square failed", data: { remoteStack: "Error: x\n    at square" }, stack: "local" } }]);
  buf.flush();
  const [short, long] = sent[0]!.events;
  assert.deepEqual({ id: short!.taskId, state: short!.state, start: short!.start, node: short!.nodeId, pid: short!.pid, fn: short!.fn, errType: short!.errType, errStack: short!.errStack },
    { id: "short", state: "FAILED", start: 500, node: "node1", pid: 7, fn: "square", errType: "TASK_EXECUTION_EXCEPTION", errStack: "Error: x\n    at square" });
  assert.deepEqual({ id: long!.taskId, state: long!.state, t: long!.t, worker: long!.workerId }, { id: "long", state: "RUNNING", t: 1000, worker: "wk" });
  assert.equal(sent[0]!.descs, 1, "both events share one description");
  buf.flush();
  assert.equal(sent.length, 1, "a running task is reported once");
});

test("records are budgeted per second; per-function counts of ended tasks stay exact", async () => {
  const sent: TaskEventBatch[] = [];
  const buf = new TaskEventBuffer({ send: (b) => { sent.push(b); } }, { nodeId: "node1", workerId: "wk", pid: 7 });
  buf.stop();
  const s = spec("t");
  const n = 10_005; // task_events_max_per_report is 2,000
  for (let i = 0; i < n; i++) buf.executed(s, 1, i % 5 === 0 ? [{ id: "x", err: { code: "TASK_ERROR", message: "boom" } }] : []);
  buf.flush();
  assert.equal(sent[0]!.events.length, 2_000, "at most task_events_max_per_report records per report");
  assert.equal(sent[0]!.dropped, n - 2_000);
  assert.deepEqual(sent[0]!.counts.map((c) => [sent[0]!.descs[c.d]!.fn, c.finished, c.failed]), [["square", n - 2001, 2001]]);
  buf.flush();
  assert.equal(sent.length, 1, "nothing new: no report");
  buf.executed(s, 1, []);
  buf.flush();
  assert.deepEqual(sent[1]!.counts.map((c) => [c.finished, c.failed]), [[1, 0]], "counts are sent as deltas");
  await new Promise((r) => setTimeout(r, 600));
  buf.flush(); // refills the budget for the time that passed (about 1,200 records per 600 ms)
  for (let i = 0; i < 1_000; i++) buf.executed(s, 1, []);
  buf.flush();
  assert.equal(sent.at(-1)!.events.length, 1_000, "the budget refills over time, per second rather than per report");
  buf.stop();
});
