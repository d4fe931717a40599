/**
 * @module gcs/task_manager
 * The GCS's table of task states (Ray's GcsTaskManager), fed by every process's task events
 * (worker/task_events.ts). Events of one task arrive from two processes in any order (the owner's
 * "submitted" and "finished", the worker's "running"), so a record keeps every event and its state
 * is the furthest one reached: a late RUNNING never overwrites FINISHED. The table holds at most
 * `task_events_max_tasks_in_gcs` tasks; the oldest are evicted first. In memory only: task history
 * is for observing a live cluster and does not survive a GCS restart (as in Ray).
 */
import type { TaskEventWire, TaskRecord } from "../protocol/messages.ts";

const RANK: Record<string, number> = {
  PENDING_ARGS_AVAIL: 0, PENDING_NODE_ASSIGNMENT: 1, SUBMITTED_TO_WORKER: 2, RUNNING: 3, FINISHED: 4, FAILED: 4,
};

export class TaskEventStore {
  /** Insertion-ordered: the first key is the oldest task. */
  private tasks = new Map<string, TaskRecord>();
  private max: number;
  private byState = new Map<string, number>();
  /** Events dropped by processes (full buffers) plus tasks evicted here. */
  dropped = 0;

  constructor(maxTasks: number) { this.max = maxTasks; }

  get size(): number { return this.tasks.size; }

  add(events: TaskEventWire[], dropped: number): void {
    this.dropped += dropped;
    for (const e of events) this.apply(e);
    while (this.tasks.size > this.max) {
      const oldest = this.tasks.keys().next().value as string;
      this.count(this.tasks.get(oldest)!.state, -1);
      this.tasks.delete(oldest);
      this.dropped++;
    }
  }

  private apply(e: TaskEventWire): void {
    let r = this.tasks.get(e.taskId);
    if (!r) {
      r = { taskId: e.taskId, attempt: e.attempt, jobId: e.jobId, state: e.state, name: e.name ?? "", kind: e.kind ?? "normal",
        fn: e.fn ?? e.name ?? "", resources: e.resources ?? {}, events: [] };
      this.tasks.set(e.taskId, r);
      this.count(r.state, 1);
    }
    const before = r.state;
    if (e.name !== undefined) r.name = e.name;
    if (e.kind !== undefined) r.kind = e.kind;
    if (e.fn !== undefined) r.fn = e.fn;
    if (e.resources !== undefined) r.resources = e.resources;
    if (e.actorId !== undefined) r.actorId = e.actorId;
    if (e.nodeId !== undefined) r.nodeId = e.nodeId;
    if (e.workerId !== undefined) r.workerId = e.workerId;
    if (e.pid !== undefined) r.pid = e.pid;
    if (e.attempt > r.attempt) {
      // A retry: the new attempt's history starts over.
      r.attempt = e.attempt;
      r.state = e.state;
      r.start = undefined; r.end = undefined; r.errType = undefined; r.errMsg = undefined; r.errStack = undefined;
    } else if (e.attempt < r.attempt) {
      return;
    }
    if (e.start !== undefined && !r.events.some((x) => x.state === "RUNNING")) r.events.push({ state: "RUNNING", t: e.start });
    r.events.push({ state: e.state, t: e.t });
    // Owner and worker clocks and flushes differ: keep the history in time order, state order on ties.
    let sorted = true;
    for (let i = 1; i < r.events.length && sorted; i++) {
      const a = r.events[i - 1]!, b = r.events[i]!;
      if (a.t > b.t || (a.t === b.t && (RANK[a.state] ?? 0) > (RANK[b.state] ?? 0))) sorted = false;
    }
    if (!sorted) r.events.sort((a, b) => a.t - b.t || (RANK[a.state] ?? 0) - (RANK[b.state] ?? 0));
    if ((RANK[e.state] ?? 0) >= (RANK[r.state] ?? 0)) r.state = e.state;
    if (r.state !== before) { this.count(before, -1); this.count(r.state, 1); }
    if (e.created !== undefined) r.created = Math.min(r.created ?? e.created, e.created);
    if (e.state === "RUNNING") r.start = e.t;
    if (e.start !== undefined) r.start = e.start;
    if (e.state === "FINISHED" || e.state === "FAILED") {
      r.end = e.t;
      if (e.errType !== undefined) { r.errType = e.errType; r.errMsg = e.errMsg; r.errStack = e.errStack; }
      else if (e.state === "FINISHED") {
        // It did end after all: forget the failure jobFinished() assumed.
        if (r.errType === "JOB_FINISHED") r.events = r.events.filter((x) => x.state !== "FAILED");
        r.errType = undefined; r.errMsg = undefined; r.errStack = undefined;
      }
    }
  }

  /**
   * A job's driver is gone: its tasks that never ended never will (their owner died with it).
   * They become FAILED; an end event that still arrives later wins over this.
   */
  jobFinished(jobId: string, t: number): void {
    for (const r of this.tasks.values()) {
      if (r.jobId !== jobId || r.state === "FINISHED" || r.state === "FAILED") continue;
      this.count(r.state, -1);
      r.state = "FAILED";
      r.end = t;
      r.errType = "JOB_FINISHED";
      r.errMsg = "the job's driver exited before this task ended";
      r.events.push({ state: "FAILED", t });
      this.count("FAILED", 1);
    }
  }

  private count(state: string, d: number): void {
    this.byState.set(state, (this.byState.get(state) ?? 0) + d);
  }

  /** How many tasks are in each state now. */
  counts(): Record<string, number> {
    const o: Record<string, number> = {};
    for (const [k, v] of this.byState) if (v > 0) o[k] = v;
    return o;
  }

  /** Newest first, optionally one job's or one task's. */
  query(o: { jobId?: string | undefined; taskId?: string | undefined; limit: number }): { tasks: TaskRecord[]; total: number } {
    if (o.taskId !== undefined) {
      const r = this.tasks.get(o.taskId);
      return { tasks: r ? [r] : [], total: r ? 1 : 0 };
    }
    const all = [...this.tasks.values()];
    const matching = o.jobId === undefined ? all : all.filter((r) => r.jobId === o.jobId);
    const out: TaskRecord[] = [];
    for (let i = matching.length - 1; i >= 0 && out.length < o.limit; i--) out.push(matching[i]!);
    return { tasks: out, total: matching.length };
  }
}
