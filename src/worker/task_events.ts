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
 * Records are budgeted: at most `task_events_max_per_report` per interval and process. Under a
 * flood of tiny tasks the rest are dropped and counted (the state API reports the count) — kept,
 * they cost more CPU than the tasks (measured: +60% CPU per no-op task with 10,000 per second).
 * What stays exact is the count of tasks that ended, per function: a counter per function, sent
 * as deltas with each report.
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
    this.batch = { descs: [], where, events: [], errs: [], counts: [], dropped };
  }
  get size(): number { return this.batch.events.length; }
  private desc(s: TaskRef, withActor: boolean): number {
    const fn = s.fn;
    const actorId = withActor ? s.actorId : undefined;
    const key = `${s.jobId}\0${s.kind}\0${fn}\0${s.name}\0${actorId ?? ""}`;
    let d = this.descIndex.get(key);
    if (d === undefined) {
      d = this.batch.descs.length;
      this.descIndex.set(key, d);
      this.batch.descs.push({ jobId: s.jobId, name: s.name, kind: s.kind, fn, actorId, resources: s.resources });
    }
    return d;
  }
  count(s: TaskRef, finished: number, failed: number): void {
    this.batch.counts.push({ d: this.desc(s, false), finished, failed });
  }
  add(s: TaskRef, state: number, t: number, start: number, created: number, err?: WireErr): void {
    const d = this.desc(s, true);
    if (err) {
      const remote = err.data?.remoteStack;
      const stack = typeof remote === "string" && remote ? remote : err.stack;
      this.batch.errs.push({ i: this.batch.events.length, type: ERROR_TYPES[err.code] ?? err.code, msg: err.message, stack });
    }
    this.batch.events.push([s.taskId, s.attempt, state, t, start, created, d]);
  }
}

function fnName(s: TaskSpec): string {
  return s.kind === "actor_task" && s.method ? `${s.fn.name}.${s.method}` : s.fn.name;
}

/**
 * What a report needs of a task. Ended tasks keep this instead of their spec: a spec's arguments
 * may be views into the network buffer they arrived in, and keeping them would keep those alive.
 */
interface TaskRef {
  taskId: string; attempt: number; jobId: string; kind: string; name: string; fn: string; actorId: string | undefined;
  resources: Record<string, number>;
}

function refOf(s: TaskSpec): TaskRef {
  return { taskId: s.taskId, attempt: s.attempt, jobId: s.jobId, kind: s.kind, name: s.name, fn: fnName(s), actorId: s.actorId, resources: s.resources };
}

/** Ended tasks of one function (or method) since the last report. */
interface Counter { ref: TaskRef; finished: number; failed: number }

/** A task this worker is running, as the executor reports it at flush time. */
export interface RunningTask { spec: TaskSpec; start: number; reported: boolean }

interface Submitted { spec: TaskSpec; t: number; reported: boolean }
interface Ended { ref: TaskRef; start: number | undefined; end: number; err: WireErr | undefined; owner: boolean }

export class TaskEventBuffer {
  /** Owner side: tasks submitted and not yet completed, by task id. */
  private submittedTasks = new Map<string, Submitted>();
  private ended: Ended[] = [];
  private dropped = 0;
  private readonly max = configOnce("task_events_max_buffer");
  private readonly budget = configOnce("task_events_max_per_report");
  private readonly interval = configOnce("task_events_report_interval_ms");
  /** Records this process may still make before the next report. */
  private tokens = this.budget;
  private refilledAt = Date.now();
  /** A report soon after work ends (a worker may be stopped right after its last task). */
  private soon: NodeJS.Timeout | undefined;
  /** Per function descriptor, per method ("" for functions). */
  private counters = new Map<object, Map<string, Counter>>();
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
    if (this.tokens <= 0 || this.submittedTasks.size >= this.max) { this.dropped++; return; }
    this.tokens--;
    this.submittedTasks.set(spec.taskId, { spec, t: Date.now(), reported: false });
  }

  /**
   * Owner: the task's results (or error) arrived — or, for an actor creation, the actor is alive
   * or dead. Success needs no event unless the task was already reported as pending (the worker
   * reports it); failures the worker may not have seen are reported here.
   */
  completed(spec: TaskSpec, returns: ReturnValue[] | undefined): void {
    if (this.interval <= 0) return;
    // Under a flood of tasks most were never recorded (the budget): skip the lookup when none is.
    const s = this.submittedTasks.size > 0 ? this.submittedTasks.get(spec.taskId) : undefined;
    if (s) this.submittedTasks.delete(spec.taskId);
    const err = returns?.[0]?.err;
    // Failures no worker reports (a crash, a failed dependency) count here; a cancellation is
    // counted by the worker when it was running, and not at all when it never started.
    if (err && err.code !== "TASK_ERROR" && err.code !== "TASK_CANCELLED") this.countEnd(spec, true);
    if (!s?.reported && (!err || err.code === "TASK_ERROR")) return;
    this.end(spec, undefined, err, true, s !== undefined);
  }

  /** Owner: the task with this id is over (actor creations, known by the actor's state). */
  completedId(taskId: string, err: WireErr | undefined): void {
    const s = this.submittedTasks.get(taskId);
    if (s) this.completed(s.spec, err ? [{ id: `${taskId}r0`, err }] : undefined);
  }

  /** Worker: a task ran here from `start` until now. */
  executed(spec: TaskSpec, start: number, returns: ReturnValue[]): void {
    if (this.interval <= 0) return;
    const err = returns[0]?.err;
    this.countEnd(spec, err !== undefined);
    this.end(spec, start, err, false, false);
    if (spec.kind === "actor_create") { this.flush(); return; } // its worker may be killed soon after; report it now
    // Report within ~100 ms rather than at the next interval: the worker may be stopped (its job
    // ended, its lease returned) before then. Under load this still sends at most ~10 small
    // reports a second, and the record budget is per second, not per report.
    if (!this.soon) {
      this.soon = setTimeout(() => { this.soon = undefined; this.flush(); }, 100);
      this.soon.unref();
    }
  }

  private countEnd(spec: TaskSpec, failed: boolean): void {
    let byMethod = this.counters.get(spec.fn);
    if (!byMethod) this.counters.set(spec.fn, (byMethod = new Map()));
    const m = spec.kind === "actor_task" ? spec.method ?? "" : spec.kind === "actor_create" ? "\0create" : "";
    let c = byMethod.get(m);
    if (!c) byMethod.set(m, (c = { ref: refOf(spec), finished: 0, failed: 0 }));
    if (failed) c.failed++; else c.finished++;
  }

  /** Keep an end record if the budget allows (an end of a task already reported as pending always is kept). */
  private end(spec: TaskSpec, start: number | undefined, err: WireErr | undefined, owner: boolean, alreadyReported: boolean): void {
    if (!alreadyReported) {
      if (this.tokens <= 0) { this.dropped++; return; }
      this.tokens--;
    }
    this.ended.push({ ref: refOf(spec), start, end: Date.now(), err, owner });
  }

  /** Send one report: ended tasks, then still-running and still-pending ones (at most one batch). */
  flush(): void {
    if (this.interval <= 0) return;
    const b = new BatchBuilder(this.where, this.dropped);
    // Refill the record budget in proportion to the time since the last refill (per interval).
    const now = Date.now();
    this.tokens = Math.min(this.budget, this.tokens + Math.floor(this.budget * (now - this.refilledAt) / this.interval));
    this.refilledAt = now;
    for (const e of this.ended) {
      // An owner's end is not "here": it carries no start (the worker that ran it reports that).
      b.add(e.ref, e.err ? FAILED : FINISHED, e.end, e.owner ? -1 : e.start ?? -1, -1, e.err);
    }
    this.ended = [];
    for (const r of this.runningTasks()) {
      if (r.reported) continue;
      if (b.size >= this.budget) break;
      r.reported = true;
      b.add(refOf(r.spec), RUNNING, r.start, r.start, -1);
    }
    for (const s of this.submittedTasks.values()) {
      if (s.reported) continue;
      if (b.size >= 2 * this.budget) break;
      s.reported = true;
      b.add(refOf(s.spec), PENDING, s.t, -1, s.t);
    }
    for (const byMethod of this.counters.values()) {
      for (const c of byMethod.values()) {
        if (c.finished === 0 && c.failed === 0) continue;
        b.count(c.ref, c.finished, c.failed);
        c.finished = 0;
        c.failed = 0;
      }
    }
    if (b.size === 0 && b.batch.counts.length === 0 && this.dropped === 0) return;
    this.dropped = 0;
    this.sink.send(b.batch);
  }

  /** Send everything (shutdown). */
  flushAll(): void { this.flush(); }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.soon) clearTimeout(this.soon);
    this.soon = undefined;
  }
}
