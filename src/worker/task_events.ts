/**
 * @module worker/task_events
 * Task state events for the state API and the dashboard, as Ray's task event buffer: each process
 * reports what it sees of tasks to the GCS every `task_events_report_interval_ms`.
 *
 * Reporting costs CPU in this process and in the GCS, on the same cores as the tasks, so a task
 * that starts and ends between two reports costs one event, not one per state:
 *  - the executing worker sends one event when a task ends, carrying its description, its start
 *    and end times, node, worker and error; a task still running at report time gets a RUNNING
 *    event first (so long tasks show as running);
 *  - the owner sends PENDING only for tasks still waiting at report time (with their creation
 *    time), and a terminal event only for failures the worker cannot report (crash, cancellation,
 *    a failed dependency) or for tasks it had already reported as pending.
 * Recording on the hot path only stores references. Buffers are bounded (`task_events_max_buffer`)
 * and each report is capped (`task_events_send_batch_size`): under a flood of tiny tasks the excess
 * is dropped and counted (the state API reports the count) instead of slowing tasks down.
 */
import { TASK_EVENT_STATES, type ReturnValue, type TaskEventBatch, type TaskSpec } from "../protocol/messages.ts";
import { configOnce } from "../common/config.ts";

type WireErr = NonNullable<ReturnValue["err"]>;

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
  send(batch: TaskEventBatch): void;
}

const PENDING = TASK_EVENT_STATES.indexOf("PENDING_NODE_ASSIGNMENT");
const RUNNING = TASK_EVENT_STATES.indexOf("RUNNING");
const FINISHED = TASK_EVENT_STATES.indexOf("FINISHED");
const FAILED = TASK_EVENT_STATES.indexOf("FAILED");

/** Builds one compact batch: descriptions shared by index, events as tuples. */
class BatchBuilder {
  readonly batch: TaskEventBatch;
  private descIndex = new Map<string, number>();
  constructor(where: TaskEventBatch["where"], dropped: number) {
    this.batch = { descs: [], where, events: [], errs: [], dropped };
  }
  get size(): number { return this.batch.events.length; }
  add(s: TaskSpec, state: number, t: number, start: number, created: number, err?: WireErr): void {
    const fn = s.kind === "actor_task" && s.method ? `${s.fn.name}.${s.method}` : s.fn.name;
    const key = `${s.jobId}\0${s.kind}\0${fn}\0${s.name}\0${s.actorId ?? ""}`;
    let d = this.descIndex.get(key);
    if (d === undefined) {
      d = this.batch.descs.length;
      this.descIndex.set(key, d);
      this.batch.descs.push({ jobId: s.jobId, name: s.name, kind: s.kind, fn, actorId: s.actorId, resources: s.resources });
    }
    if (err) {
      const remote = err.data?.remoteStack;
      const stack = typeof remote === "string" && remote ? remote : err.stack;
      this.batch.errs.push({ i: this.batch.events.length, type: ERROR_TYPES[err.code] ?? err.code, msg: err.message, stack });
    }
    this.batch.events.push([s.taskId, s.attempt, state, t, start, created, d]);
  }
}

/** A task this worker is running, as the executor reports it at flush time. */
export interface RunningTask { spec: TaskSpec; start: number; reported: boolean }

interface Submitted { spec: TaskSpec; t: number; reported: boolean }
interface Ended { spec: TaskSpec; start: number | undefined; end: number; err: WireErr | undefined; owner: boolean }

export class TaskEventBuffer {
  /** Owner side: tasks submitted and not yet completed, by task id. */
  private submittedTasks = new Map<string, Submitted>();
  private ended: Ended[] = [];
  private dropped = 0;
  private readonly max = configOnce("task_events_max_buffer");
  private readonly batch = configOnce("task_events_send_batch_size");
  private readonly interval = configOnce("task_events_report_interval_ms");
  private timer: NodeJS.Timeout | undefined;
  private sink: TaskEventSink;
  private where: { nodeId: string; workerId: string; pid: number };
  /** The executor's running tasks (set in worker processes). */
  runningTasks: () => Iterable<RunningTask> = () => [];

  constructor(sink: TaskEventSink, where: { nodeId: string; workerId: string; pid: number }) {
    this.sink = sink;
    this.where = where;
    if (this.interval > 0) {
      this.timer = setInterval(() => this.flush(), this.interval);
      this.timer.unref();
    }
  }

  get enabled(): boolean { return this.interval > 0; }

  /** Owner: a task was submitted. */
  submitted(spec: TaskSpec): void {
    if (this.interval <= 0) return;
    if (this.submittedTasks.size >= this.max) { this.dropped++; return; }
    this.submittedTasks.set(spec.taskId, { spec, t: Date.now(), reported: false });
  }

  /**
   * Owner: the task's results (or error) arrived — or, for an actor creation, the actor is alive
   * or dead. Success needs no event unless the task was already reported as pending (the worker
   * reports it); failures the worker may not have seen are reported here.
   */
  completed(spec: TaskSpec, returns: ReturnValue[] | undefined): void {
    if (this.interval <= 0) return;
    const s = this.submittedTasks.get(spec.taskId);
    if (s) this.submittedTasks.delete(spec.taskId);
    const err = returns?.[0]?.err;
    if (!s?.reported && (!err || err.code === "TASK_ERROR")) return;
    this.end({ spec, start: undefined, end: Date.now(), err, owner: true });
  }

  /** Owner: the task with this id is over (actor creations, known by the actor's state). */
  completedId(taskId: string, err: WireErr | undefined): void {
    const s = this.submittedTasks.get(taskId);
    if (s) this.completed(s.spec, err ? [{ id: `${taskId}r0`, err }] : undefined);
  }

  /** Worker: a task ran here from `start` until now. */
  executed(spec: TaskSpec, start: number, returns: ReturnValue[]): void {
    if (this.interval <= 0) return;
    this.end({ spec, start, end: Date.now(), err: returns[0]?.err, owner: false });
    if (spec.kind === "actor_create") this.flush(); // its worker may be killed soon after; report it now
  }

  private end(e: Ended): void {
    if (this.ended.length >= this.max) { this.dropped++; return; }
    this.ended.push(e);
  }

  /** Send one report: ended tasks, then still-running and still-pending ones (at most one batch). */
  flush(): void {
    if (this.interval <= 0) return;
    const b = new BatchBuilder(this.where, this.dropped);
    const n = Math.min(this.ended.length, this.batch);
    for (let i = 0; i < n; i++) {
      const e = this.ended[i]!;
      // An owner's end is not "here": it carries no start (the worker that ran it reports that).
      b.add(e.spec, e.err ? FAILED : FINISHED, e.end, e.owner ? -1 : e.start ?? -1, -1, e.err);
    }
    this.ended = n === this.ended.length ? [] : this.ended.slice(n);
    for (const r of this.runningTasks()) {
      if (r.reported) continue;
      if (b.size >= this.batch) break;
      r.reported = true;
      b.add(r.spec, RUNNING, r.start, r.start, -1);
    }
    for (const s of this.submittedTasks.values()) {
      if (s.reported) continue;
      if (b.size >= this.batch) break;
      s.reported = true;
      b.add(s.spec, PENDING, s.t, -1, s.t);
    }
    if (b.size === 0 && this.dropped === 0) return;
    this.dropped = 0;
    this.sink.send(b.batch);
  }

  /** Send everything (shutdown). */
  flushAll(): void {
    do this.flush(); while (this.ended.length);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
