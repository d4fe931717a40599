/**
 * @module worker/task_events
 * Task state events for the state API and the dashboard, as Ray's task event buffer: each process
 * records the state changes it sees (the owner: submitted and finished or failed; the executing
 * worker: running) and sends them to the GCS every `task_events_report_interval_ms`.
 *
 * Recording is on the hot path of every task, so it only pushes a reference and a timestamp; the
 * wire records are built at send time. The buffer is bounded (`task_events_max_buffer`) and each
 * send is capped (`task_events_send_batch_size`): under a flood of tiny tasks the excess is
 * dropped and counted (the state API reports the count) instead of slowing tasks down.
 */
import type { ReturnValue, TaskEventWire, TaskSpec } from "../protocol/messages.ts";

type WireErr = NonNullable<ReturnValue["err"]>;
import { configOnce } from "../common/config.ts";

export type TaskEventState = "PENDING_NODE_ASSIGNMENT" | "RUNNING" | "FINISHED" | "FAILED";

interface Pending { spec: TaskSpec; state: TaskEventState; t: number; err: WireErr | undefined; describe: boolean }

/** Ray's error_type names for Stingray's error codes. */
const ERROR_TYPES: Record<string, string> = {
  TASK_ERROR: "TASK_EXECUTION_EXCEPTION",
  WORKER_CRASHED: "WORKER_DIED",
  TASK_CANCELLED: "TASK_CANCELLED",
  ACTOR_DIED: "ACTOR_DIED",
  ACTOR_UNAVAILABLE: "ACTOR_UNAVAILABLE",
  NODE_DIED: "NODE_DIED",
  OBJECT_LOST: "OBJECT_UNRECONSTRUCTABLE",
};

export interface TaskEventSink {
  /** Send a batch (a notify: nobody waits for it). */
  send(events: TaskEventWire[], dropped: number): void;
}

export class TaskEventBuffer {
  private buf: Pending[] = [];
  private dropped = 0;
  private readonly max = configOnce("task_events_max_buffer");
  private readonly batch = configOnce("task_events_send_batch_size");
  private readonly interval = configOnce("task_events_report_interval_ms");
  private timer: NodeJS.Timeout | undefined;
  private sink: TaskEventSink;
  private where: { nodeId: string; workerId: string; pid: number };

  constructor(sink: TaskEventSink, where: { nodeId: string; workerId: string; pid: number }) {
    this.sink = sink;
    this.where = where;
    if (this.interval > 0) {
      this.timer = setInterval(() => this.flush(), this.interval);
      this.timer.unref();
    }
  }

  get enabled(): boolean { return this.interval > 0; }

  /** The owner submitted a task (its first event: carries the description). */
  submitted(spec: TaskSpec): void { this.add(spec, "PENDING_NODE_ASSIGNMENT", undefined, true); }

  /** This worker started running a task. */
  running(spec: TaskSpec): void { this.add(spec, "RUNNING", undefined, false); }

  /** The task's results (or error) reached its owner, or — for actor creation — its worker finished it. */
  finished(spec: TaskSpec, returns: ReturnValue[] | undefined): void {
    const err = returns?.[0]?.err;
    this.add(spec, err ? "FAILED" : "FINISHED", err, false);
  }

  private add(spec: TaskSpec, state: TaskEventState, err: WireErr | undefined, describe: boolean): void {
    if (this.interval <= 0) return;
    if (this.buf.length >= this.max) { this.dropped++; return; }
    this.buf.push({ spec, state, t: Date.now(), err, describe });
  }

  /** Send what is buffered (at most one batch). */
  flush(): void {
    if (this.buf.length === 0 && this.dropped === 0) return;
    const n = Math.min(this.buf.length, this.batch);
    const out = new Array<TaskEventWire>(n);
    for (let i = 0; i < n; i++) out[i] = this.toWire(this.buf[i]!);
    this.buf = n === this.buf.length ? [] : this.buf.slice(n);
    const dropped = this.dropped;
    this.dropped = 0;
    this.sink.send(out, dropped);
  }

  /** Send everything (shutdown). */
  flushAll(): void {
    while (this.buf.length) this.flush();
    if (this.dropped) this.flush();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private toWire(p: Pending): TaskEventWire {
    const s = p.spec;
    const ev: TaskEventWire = { taskId: s.taskId, attempt: s.attempt, jobId: s.jobId, state: p.state, t: p.t };
    if (p.describe) {
      ev.name = s.method && s.kind === "actor_task" ? `${s.name}` : s.name;
      ev.kind = s.kind;
      ev.fn = s.kind === "actor_task" && s.method ? `${s.fn.name}.${s.method}` : s.fn.name;
      if (s.actorId) ev.actorId = s.actorId;
      ev.resources = s.resources;
    }
    if (p.state === "RUNNING") {
      ev.nodeId = this.where.nodeId;
      ev.workerId = this.where.workerId;
      ev.pid = this.where.pid;
      if (s.actorId) ev.actorId = s.actorId;
    }
    if (p.err) {
      ev.errType = ERROR_TYPES[p.err.code] ?? p.err.code;
      ev.errMsg = p.err.message;
      const remote = p.err.data?.remoteStack;
      const stack = typeof remote === "string" && remote ? remote : p.err.stack;
      if (stack) ev.errStack = stack;
    }
    return ev;
  }
}
