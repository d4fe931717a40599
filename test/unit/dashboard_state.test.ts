/**
 * The state API's pure parts: filters, limits, summaries and the timeline; the GCS task table's
 * merging of events that arrive out of order from owners and workers; reading log slices.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { applyFilters, parseFilters, parseLimit, summarizeTasks, taskState, timeline } from "../../src/dashboard/state.ts";
import { HttpError } from "../../src/dashboard/server.ts";
import { TaskEventStore } from "../../src/gcs/task_manager.ts";
import { readLogSlice } from "../../src/raylet/logs.ts";
import { TASK_EVENT_STATES, type TaskEventBatch } from "../../src/protocol/messages.ts";

const q = (s: string): URLSearchParams => new URLSearchParams(s);

test("filters: = and != over string forms, states case-insensitive, unknown keys and bad predicates refused", () => {
  const rows = [{ name: "a", state: "RUNNING", pid: 1 }, { name: "b", state: "FINISHED", pid: 2 }, { name: "a", state: "FAILED", pid: 3 }];
  const keys = ["name", "state", "pid"];
  assert.deepEqual(applyFilters(rows, parseFilters(q("filter_keys=name&filter_predicates=%3D&filter_values=a")), keys).map((r) => r.pid), [1, 3]);
  assert.deepEqual(applyFilters(rows, parseFilters(q("filter_keys=state&filter_predicates=!%3D&filter_values=running")), keys).map((r) => r.pid), [2, 3]);
  assert.deepEqual(applyFilters(rows, parseFilters(q("filter_keys=pid&filter_values=2")), keys).map((r) => r.name), ["b"]);
  assert.throws(() => applyFilters(rows, parseFilters(q("filter_keys=colour&filter_values=red")), keys), /cannot filter on "colour": valid keys are name, state, pid/);
  assert.throws(() => parseFilters(q("filter_keys=name&filter_predicates=~&filter_values=a")), /unknown filter predicate/);
  assert.throws(() => parseFilters(q("filter_keys=name&filter_keys=pid&filter_values=a")), /same number of times/);
});

test("limit: default 100, capped at 10,000, positive integers only", () => {
  assert.equal(parseLimit(q("")), 100);
  assert.equal(parseLimit(q("limit=5")), 5);
  assert.equal(parseLimit(q("limit=1000000")), 10_000);
  for (const bad of ["0", "-1", "2.5", "x"]) assert.throws(() => parseLimit(q(`limit=${bad}`)), (e: unknown) => e instanceof HttpError && e.status === 400);
});

/** A test event: state and time, plus what a batch would carry for it. */
interface Ev {
  taskId: string; state: string; t: number; attempt?: number; jobId?: string; name?: string; fn?: string; kind?: string; actorId?: string;
  resources?: Record<string, number>; start?: number; created?: number; nodeId?: string; workerId?: string; pid?: number;
  errType?: string; errMsg?: string; errStack?: string;
}
const ev = (taskId: string, state: string, t: number, extra: Partial<Ev> = {}): Ev => ({ taskId, state, t, ...extra });

/** One batch per distinct reporter (events with a node are the executing worker's). */
function batch(events: Ev[], dropped = 0): TaskEventBatch {
  const descs: TaskEventBatch["descs"] = [];
  const b: TaskEventBatch = { descs, events: [], errs: [], counts: [], dropped };
  for (const e of events) {
    const fn = e.fn ?? e.name ?? "f";
    descs.push({ jobId: e.jobId ?? "00000001", name: e.name ?? fn, kind: e.kind ?? "normal", fn, actorId: e.actorId, resources: e.resources ?? { CPU: 1 } });
    if (e.nodeId) b.where = { nodeId: e.nodeId, workerId: e.workerId ?? "w", pid: e.pid ?? 1 };
    if (e.errType) b.errs.push({ i: b.events.length, type: e.errType, msg: e.errMsg ?? "", stack: e.errStack });
    const start = e.start ?? (e.state === "RUNNING" ? e.t : -1);
    b.events.push([e.taskId, e.attempt ?? 0, TASK_EVENT_STATES.indexOf(e.state as never), e.t, start, e.created ?? -1, descs.length - 1]);
  }
  return b;
}

test("the task table merges events from two processes in any order; the furthest state wins", () => {
  const s = new TaskEventStore(10);
  // The worker's RUNNING arrives after the owner's FINISHED (different processes flush at different times).
  s.add(batch([ev("t1", "PENDING_NODE_ASSIGNMENT", 100, { name: "f", kind: "normal", fn: "f", resources: { CPU: 1 } }), ev("t1", "FINISHED", 130)], 0));
  s.add(batch([ev("t1", "RUNNING", 110, { nodeId: "n1", workerId: "w1", pid: 42 })], 0));
  const [r] = s.query({ limit: 10 }).tasks;
  assert.equal(r!.state, "FINISHED");
  assert.deepEqual(r!.events.map((e) => e.state), ["PENDING_NODE_ASSIGNMENT", "RUNNING", "FINISHED"]);
  assert.equal(r!.nodeId, "n1");
  assert.equal(r!.start, 110);
  assert.equal(r!.end, 130);
  assert.deepEqual(s.counts(), { FINISHED: 1 });
  assert.deepEqual(s.countsByFunction(), [{ jobId: "00000001", fn: "f", state: "FINISHED", n: 1 }]);
  // A retry starts a new attempt's history; events of the old attempt are ignored after it.
  s.add(batch([ev("t1", "PENDING_NODE_ASSIGNMENT", 140, { attempt: 1 }), ev("t1", "FAILED", 120)], 0));
  const [r2] = s.query({ taskId: "t1", limit: 1 }).tasks;
  assert.equal(r2!.attempt, 1);
  assert.equal(r2!.state, "PENDING_NODE_ASSIGNMENT");
  assert.deepEqual(s.counts(), { PENDING_NODE_ASSIGNMENT: 1 });
});

test("a worker's single end event (with its start) and an owner's late pending event make one ordered history", () => {
  const s = new TaskEventStore(10);
  s.add(batch([ev("t", "FINISHED", 50, { start: 40, name: "f", fn: "f", kind: "normal", nodeId: "n", workerId: "w", pid: 1 })], 0));
  s.add(batch([ev("t", "PENDING_NODE_ASSIGNMENT", 30, { created: 30 })], 0));
  const [r] = s.query({ limit: 1 }).tasks;
  assert.deepEqual(r!.events, [{ state: "PENDING_NODE_ASSIGNMENT", t: 30 }, { state: "RUNNING", t: 40 }, { state: "FINISHED", t: 50 }]);
  assert.deepEqual({ state: r!.state, created: r!.created, start: r!.start, end: r!.end }, { state: "FINISHED", created: 30, start: 40, end: 50 });
});

test("when a job's driver exits, its tasks that never ended are FAILED; a late end event still wins", () => {
  const s = new TaskEventStore(10);
  s.add(batch([ev("p", "PENDING_NODE_ASSIGNMENT", 1), ev("r", "RUNNING", 2), ev("d", "FINISHED", 3), ev("other", "RUNNING", 2, { jobId: "00000002" })], 0));
  s.jobFinished("00000001", 10);
  const byId = new Map(s.query({ limit: 10 }).tasks.map((t) => [t.taskId, t]));
  assert.deepEqual(["p", "r", "d", "other"].map((id) => byId.get(id)!.state), ["FAILED", "FAILED", "FINISHED", "RUNNING"]);
  assert.equal(byId.get("p")!.errType, "JOB_FINISHED");
  s.add(batch([ev("r", "FINISHED", 9, { start: 2 })], 0));
  assert.equal(s.query({ taskId: "r", limit: 1 }).tasks[0]!.state, "FINISHED");
  assert.equal(s.query({ taskId: "r", limit: 1 }).tasks[0]!.errType, undefined);
  assert.deepEqual(s.query({ taskId: "r", limit: 1 }).tasks[0]!.events.map((e) => e.state), ["RUNNING", "FINISHED"]);
  assert.deepEqual(s.counts(), { FAILED: 1, FINISHED: 2, RUNNING: 1 });
});

test("a malformed event is a ProtocolError naming it; the events before it are kept", () => {
  const s = new TaskEventStore(10);
  const b = batch([ev("ok", "RUNNING", 1)]);
  b.events.push(["bad", 0, 99, 1, -1, -1, 0]);
  assert.throws(() => s.add(b), /events\[1\]: expected \[taskId, attempt, state/);
  assert.equal(s.query({ taskId: "ok", limit: 1 }).tasks[0]!.state, "RUNNING");
  assert.throws(() => s.add({ descs: [], events: [["x", 0, 3, 1, -1, -1, 5]], errs: [], counts: [], dropped: 0 }), /events\[0\]/, "a desc index out of range");
});

test("the task table keeps the newest tasks, counts evictions and dropped events, filters by job", () => {
  const s = new TaskEventStore(3);
  s.add(batch([1, 2, 3, 4, 5].map((i) => ev(`t${i}`, "PENDING_NODE_ASSIGNMENT", i, { jobId: i % 2 ? "j1" : "j2" })), 7));
  assert.equal(s.size, 3);
  assert.equal(s.dropped, 7 + 2);
  assert.deepEqual(s.query({ limit: 10 }).tasks.map((t) => t.taskId), ["t5", "t4", "t3"]);
  assert.deepEqual(s.query({ jobId: "j1", limit: 10 }).tasks.map((t) => t.taskId), ["t5", "t3"]);
  assert.equal(s.query({ limit: 1 }).total, 3);
  assert.deepEqual(s.counts(), { PENDING_NODE_ASSIGNMENT: 3 });
  assert.deepEqual(s.countsByFunction().map((x) => [x.jobId, x.state, x.n]).sort(), [["j1", "PENDING_NODE_ASSIGNMENT", 2], ["j2", "PENDING_NODE_ASSIGNMENT", 1]],
    "evicted tasks leave the per-function counts");
});

test("task summaries count states per function; the timeline has one complete event per task that ran", () => {
  const s = new TaskEventStore(100);
  s.add(batch([
    ev("a", "PENDING_NODE_ASSIGNMENT", 1, { fn: "f", name: "f", kind: "normal" }), ev("a", "RUNNING", 2, { nodeId: "n1", workerId: "w", pid: 9 }), ev("a", "FINISHED", 5),
    ev("b", "PENDING_NODE_ASSIGNMENT", 1, { fn: "f", name: "f", kind: "normal" }), ev("b", "FAILED", 3, { errType: "TASK_EXECUTION_EXCEPTION", errMsg: "boom", errStack: "Error: boom\n at x" }),
    ev("c", "PENDING_NODE_ASSIGNMENT", 1, { fn: "A.m", name: "m", kind: "actor_task", actorId: "act" }),
  ], 4));
  const recs = s.query({ limit: 100 }).tasks;
  const sum = summarizeTasks(recs, s.dropped);
  assert.deepEqual(sum.summary.f!.state_counts, { FINISHED: 1, FAILED: 1 });
  assert.equal(sum.summary["A.m"]!.type, "ACTOR_TASK");
  assert.equal(sum.total_tasks, 3);
  assert.equal(sum.total_actor_tasks, 1);
  assert.equal(sum.num_dropped_events, 4);
  // Exact totals (records are sampled under floods) replace the records' FINISHED/FAILED counts.
  const withTotals = summarizeTasks(recs, 0, [{ jobId: "00000001", fn: "f", kind: "normal", finished: 5000, failed: 7 }]);
  assert.deepEqual(withTotals.summary.f!.state_counts, { FINISHED: 5000, FAILED: 7 });
  assert.equal(withTotals.total_tasks, 5008);
  const failed = taskState(recs.find((r) => r.taskId === "b")!, true);
  assert.equal(failed.error_type, "TASK_EXECUTION_EXCEPTION");
  assert.match(failed.error_stack!, /Error: boom/);
  assert.equal(taskState(recs.find((r) => r.taskId === "b")!, false).error_stack, null, "stacks only with detail");
  const trace = timeline(recs, new Map([["n1", "10.0.0.1"]]));
  assert.equal(trace.length, 1);
  assert.deepEqual({ name: trace[0]!.name, ts: trace[0]!.ts, dur: trace[0]!.dur, pid: trace[0]!.pid }, { name: "f", ts: 2000, dur: 3000, pid: "Node 10.0.0.1" });
});

test("log slices: ranges, the tail by lines, and only plain file names", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "logs-"));
  try {
    fs.writeFileSync(path.join(dir, "a.log"), "one\ntwo\nthree\n");
    assert.equal(Buffer.from(readLogSlice(dir, "a.log", 0, 3).data).toString(), "one");
    assert.equal(Buffer.from(readLogSlice(dir, "a.log", -6, 100).data).toString(), "three\n");
    assert.equal(Buffer.from(readLogSlice(dir, "a.log", 0, 0, 2).data).toString(), "two\nthree\n");
    assert.equal(Buffer.from(readLogSlice(dir, "a.log", 0, 0, 10).data).toString(), "one\ntwo\nthree\n");
    const r = readLogSlice(dir, "a.log", 4, 100);
    assert.deepEqual({ offset: r.offset, size: r.size }, { offset: 4, size: 14 });
    for (const bad of ["../a.log", "/etc/passwd", ".hidden", "a/b", ""]) assert.throws(() => readLogSlice(dir, bad, 0, 10), /invalid log file name/);
    assert.throws(() => readLogSlice(dir, "missing.log", 0, 10), /no log file missing\.log/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
