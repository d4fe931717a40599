/**
 * @module gcs/task_manager
 * The GCS's table of task states (Ray's GcsTaskManager), fed by every process's task event
 * batches (worker/task_events.ts). Events of one task arrive from two processes in any order (the
 * owner's "pending" and the executing worker's "running"/"ended"), so a record keeps its history
 * and its state is the furthest one reached: a late RUNNING never overwrites FINISHED. The table
 * holds at most `task_events_max_tasks_in_gcs` tasks; the oldest are evicted first. In memory
 * only: task history is for observing a live cluster and does not survive a GCS restart (as in Ray).
 *
 * The GCS shares the cores with the tasks, so records are compact: descriptions and worker
 * identities are shared objects (one per function / worker), history is a flat number array, and
 * absent times are -1. Records become wire `TaskRecord`s only when queried.
 */
import { TASK_EVENT_STATES, type TaskDesc, type TaskEventBatch, type TaskRecord } from "../protocol/messages.ts";
import { ProtocolError } from "../common/errors.ts";

type Where = NonNullable<TaskEventBatch["where"]>;
interface Err { type: string; msg: string; stack: string | undefined }

interface Rec {
  id: string;
  attempt: number;
  state: number;
  desc: TaskDesc;
  where: Where | undefined;
  err: Err | undefined;
  created: number;
  start: number;
  end: number;
  /** History: state index, time, state index, time, … in time order. */
  ev: number[];
}

const S = (name: (typeof TASK_EVENT_STATES)[number]): number => TASK_EVENT_STATES.indexOf(name);
const RUNNING = S("RUNNING"), FINISHED = S("FINISHED"), FAILED = S("FAILED");
/** FINISHED and FAILED are equally far: a later end event replaces an earlier one. */
const rank = (state: number): number => (state === FAILED ? FINISHED : state);
const JOB_FINISHED = "JOB_FINISHED";

export class TaskEventStore {
  /** Insertion-ordered: the first key is the oldest task. */
  private tasks = new Map<string, Rec>();
  private max: number;
  private byState = new Array<number>(TASK_EVENT_STATES.length).fill(0);
  /** Tasks in the table per description (job and function) and state. */
  private byDesc = new Map<TaskDesc, number[]>();
  private descs = new Map<string, TaskDesc>();
  private wheres = new Map<string, Where>();
  /** Tasks that ended, per job and function: exact, while records are sampled under floods. */
  private ended = new Map<string, { jobId: string; fn: string; kind: string; finished: number; failed: number }>();
  /** Events dropped by processes (full buffers) plus tasks evicted here. */
  dropped = 0;

  constructor(maxTasks: number) { this.max = maxTasks; }

  get size(): number { return this.tasks.size; }

  /** Apply a batch; a malformed event is a ProtocolError naming it (the events before it are kept). */
  add(b: TaskEventBatch): void {
    this.dropped += b.dropped;
    const descs = b.descs.map((d) => this.intern(d));
    for (const c of b.counts) {
      const d = descs[c.d];
      if (!d) throw new ProtocolError(`gcs.AddTaskEvents.counts: description ${c.d} is not in the batch`);
      const k = `${d.jobId}\u0000${d.kind}\u0000${d.fn}`;
      let t = this.ended.get(k);
      if (!t) {
        if (this.ended.size >= 100_000) continue; // bounded: a cluster with this many functions keeps the first ones
        this.ended.set(k, (t = { jobId: d.jobId, fn: d.fn, kind: d.kind, finished: 0, failed: 0 }));
      }
      t.finished += c.finished;
      t.failed += c.failed;
    }
    const where = b.where ? this.internWhere(b.where) : undefined;
    let errAt = b.errs.length ? 0 : -1;
    const n = b.events.length;
    for (let i = 0; i < n; i++) {
      const e = b.events[i] as unknown[];
      if (!Array.isArray(e) || e.length < 7 || typeof e[0] !== "string" || !Number.isInteger(e[1]) || !Number.isInteger(e[2]) ||
          (e[2] as number) < 0 || (e[2] as number) >= TASK_EVENT_STATES.length || typeof e[3] !== "number" ||
          typeof e[4] !== "number" || typeof e[5] !== "number" || !Number.isInteger(e[6]) || descs[e[6] as number] === undefined) {
        throw new ProtocolError(`gcs.AddTaskEvents.events[${i}]: expected [taskId, attempt, state, time, start, created, desc index]`);
      }
      let err: Err | undefined;
      while (errAt >= 0 && errAt < b.errs.length && b.errs[errAt]!.i < i) errAt++;
      if (errAt >= 0 && errAt < b.errs.length && b.errs[errAt]!.i === i) {
        const x = b.errs[errAt]!;
        err = { type: x.type, msg: x.msg, stack: x.stack };
      }
      const state = e[2] as number, start = e[4] as number;
      this.apply(e[0] as string, e[1] as number, state, e[3] as number, start, e[5] as number, descs[e[6] as number]!,
        state === RUNNING || start >= 0 ? where : undefined, err);
    }
    while (this.tasks.size > this.max) {
      const oldest = this.tasks.keys().next().value as string;
      const old = this.tasks.get(oldest)!;
      this.count(old.desc, old.state, -1);
      this.tasks.delete(oldest);
      this.dropped++;
    }
  }

  private intern(d: TaskDesc): TaskDesc {
    const k = `${d.jobId}\u0000${d.kind}\u0000${d.fn}\u0000${d.name}\u0000${d.actorId ?? ""}\u0000${JSON.stringify(d.resources)}`;
    let x = this.descs.get(k);
    if (!x) {
      if (this.descs.size > 100_000) this.descs.clear(); // records keep theirs; this only bounds the index
      this.descs.set(k, (x = d));
    }
    return x;
  }

  private internWhere(w: Where): Where {
    const k = `${w.nodeId}\u0000${w.workerId}\u0000${w.pid}`;
    let x = this.wheres.get(k);
    if (!x) {
      if (this.wheres.size > 100_000) this.wheres.clear();
      this.wheres.set(k, (x = w));
    }
    return x;
  }

  private apply(id: string, attempt: number, state: number, t: number, start: number, created: number, desc: TaskDesc,
    where: Where | undefined, err: Err | undefined): void {
    let r = this.tasks.get(id);
    if (!r) {
      r = { id, attempt, state, desc, where: undefined, err: undefined, created: -1, start: -1, end: -1, ev: [] };
      this.tasks.set(id, r);
      this.count(desc, state, 1);
    }
    if (attempt > r.attempt) {
      // A retry: the new attempt's history starts over.
      r.attempt = attempt;
      this.count(r.desc, r.state, -1);
      r.state = state;
      this.count(r.desc, state, 1);
      r.start = -1; r.end = -1; r.err = undefined; r.ev = [];
    } else if (attempt < r.attempt) {
      return;
    }
    if (r.desc !== desc) {
      this.count(r.desc, r.state, -1);
      r.desc = desc;
      this.count(desc, r.state, 1);
    }
    if (where) r.where = where;
    if (start >= 0 && state !== RUNNING && !hasState(r.ev, RUNNING)) insertEvent(r.ev, RUNNING, start);
    // A worker may report a task as running and, in the same report, as ended (with its start).
    if (state !== RUNNING || !hasState(r.ev, RUNNING)) insertEvent(r.ev, state, t);
    if (rank(state) >= rank(r.state) && state !== r.state) {
      this.count(r.desc, r.state, -1);
      r.state = state;
      this.count(r.desc, state, 1);
    }
    if (created >= 0) r.created = r.created < 0 ? created : Math.min(r.created, created);
    if (state === RUNNING) r.start = t;
    if (start >= 0) r.start = start;
    if (state === FINISHED || state === FAILED) {
      r.end = t;
      if (err) {
        r.err = err;
      } else if (state === FINISHED) {
        // It did end after all: forget a failure jobFinished() assumed.
        if (r.err?.type === JOB_FINISHED) removeState(r.ev, FAILED);
        r.err = undefined;
      }
    }
  }

  /**
   * A job's driver is gone: its tasks that never ended never will (their owner died with it).
   * They become FAILED; an end event that still arrives later wins over this.
   */
  jobFinished(jobId: string, t: number): void {
    for (const r of this.tasks.values()) {
      if (r.desc.jobId !== jobId || r.state === FINISHED || r.state === FAILED) continue;
      this.count(r.desc, r.state, -1);
      r.state = FAILED;
      this.count(r.desc, FAILED, 1);
      r.end = t;
      r.err = { type: JOB_FINISHED, msg: "the job's driver exited before this task ended", stack: undefined };
      insertEvent(r.ev, FAILED, t);
    }
  }

  /** Ended tasks per job and function since the GCS started. */
  totals(jobId?: string): { jobId: string; fn: string; kind: string; finished: number; failed: number }[] {
    const all = [...this.ended.values()];
    return jobId === undefined ? all : all.filter((t) => t.jobId === jobId);
  }

  private count(desc: TaskDesc, state: number, d: number): void {
    this.byState[state]! += d;
    let c = this.byDesc.get(desc);
    if (!c) this.byDesc.set(desc, (c = new Array<number>(TASK_EVENT_STATES.length).fill(0)));
    c[state]! += d;
    if (d < 0 && c.every((x) => x === 0)) this.byDesc.delete(desc);
  }

  /** Tasks in the table per job, function and state (the metrics' current states by function). */
  countsByFunction(): { jobId: string; fn: string; state: string; n: number }[] {
    const out = new Map<string, { jobId: string; fn: string; state: string; n: number }>();
    for (const [d, c] of this.byDesc) {
      c.forEach((n, i) => {
        if (n <= 0) return;
        const state = TASK_EVENT_STATES[i]!;
        const k = `${d.jobId}\u0000${d.fn}\u0000${state}`;
        const e = out.get(k);
        if (e) e.n += n; else out.set(k, { jobId: d.jobId, fn: d.fn, state, n });
      });
    }
    return [...out.values()];
  }

  /** How many tasks are in each state now. */
  counts(): Record<string, number> {
    const o: Record<string, number> = {};
    this.byState.forEach((v, i) => { if (v > 0) o[TASK_EVENT_STATES[i]!] = v; });
    return o;
  }

  /** Newest first, optionally one job's or one task's. */
  query(o: { jobId?: string | undefined; taskId?: string | undefined; limit: number }): { tasks: TaskRecord[]; total: number } {
    if (o.taskId !== undefined) {
      const r = this.tasks.get(o.taskId);
      return { tasks: r ? [wire(r)] : [], total: r ? 1 : 0 };
    }
    const all = [...this.tasks.values()];
    const matching = o.jobId === undefined ? all : all.filter((r) => r.desc.jobId === o.jobId);
    const out: TaskRecord[] = [];
    for (let i = matching.length - 1; i >= 0 && out.length < o.limit; i--) out.push(wire(matching[i]!));
    return { tasks: out, total: matching.length };
  }
}

function hasState(ev: number[], state: number): boolean {
  for (let i = 0; i < ev.length; i += 2) if (ev[i] === state) return true;
  return false;
}

function removeState(ev: number[], state: number): void {
  for (let i = ev.length - 2; i >= 0; i -= 2) if (ev[i] === state) ev.splice(i, 2);
}

/** Insert keeping time order (state order on equal times): events mostly arrive in order, so scan from the end. */
function insertEvent(ev: number[], state: number, t: number): void {
  let i = ev.length;
  while (i >= 2 && (ev[i - 1]! > t || (ev[i - 1] === t && rank(ev[i - 2]!) > rank(state)))) i -= 2;
  if (i === ev.length) ev.push(state, t);
  else ev.splice(i, 0, state, t);
}

function wire(r: Rec): TaskRecord {
  const d = r.desc;
  const events: TaskRecord["events"] = [];
  for (let i = 0; i < r.ev.length; i += 2) events.push({ state: TASK_EVENT_STATES[r.ev[i]!]!, t: r.ev[i + 1]! });
  return {
    taskId: r.id, attempt: r.attempt, jobId: d.jobId, state: TASK_EVENT_STATES[r.state]!, name: d.name, kind: d.kind, fn: d.fn,
    actorId: d.actorId, resources: d.resources, nodeId: r.where?.nodeId, workerId: r.where?.workerId, pid: r.where?.pid,
    errType: r.err?.type, errMsg: r.err?.msg, errStack: r.err?.stack,
    created: r.created >= 0 ? r.created : undefined, start: r.start >= 0 ? r.start : undefined, end: r.end >= 0 ? r.end : undefined,
    events,
  };
}
