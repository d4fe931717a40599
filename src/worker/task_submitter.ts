/**
 * @module worker/task_submitter
 * Submits normal (non-actor) tasks the way Ray's direct task transport does: tasks are grouped
 * by scheduling class (resources, strategy, environment); for each class the submitter leases
 * workers from the raylet (following spillback redirects to other raylets) and pushes tasks
 * straight to the leased workers, pipelining up to `max_tasks_in_flight_per_worker` per worker.
 * A lease is kept while its class has queued work and returned after a short idle period.
 * Worker deaths retry tasks up to `maxRetries`; then the returns fail with WorkerCrashedError.
 */
import type { Connection } from "../protocol/connection.ts";
import type { Address, Res, ReturnValue, SchedulingStrategy, TaskSpec } from "../protocol/messages.ts";
import { config } from "../common/config.ts";
import { ConnectionError, StingrayError, TaskCancelledError, WorkerCrashedError, toWire } from "../common/errors.ts";
import { resourceKey } from "../common/resources.ts";
import { Deque } from "../common/deque.ts";
import { returnObjectId } from "../common/ids.ts";
import { encodePush, withIds } from "./task_wire.ts";

export interface SubmitContext {
  jobId: string;
  raylet: Connection;
  /** Connect to (or reuse a connection to) a worker or raylet. */
  connect(addr: Address): Promise<Connection>;
  /** Deliver a task's results. */
  complete(spec: TaskSpec, returns: ReturnValue[]): void;
  /** Receive a streamed generator item. */
  warn(message: string): void;
}

export interface TaskEntry {
  spec: TaskSpec;
  /** The spec's shared part, when it was made from one (task_wire.ts sends only the differences). */
  template?: TaskSpec | undefined;
  /** Keeps argument refs alive while the task may still run. */
  keepAlive: unknown[];
  /**
   * The ids of its returns (the strings the owner's tables hold), for replies that carry returns
   * by position: the id itself for the usual single return (no array kept per queued task).
   */
  returnIds: string | string[];
  cancelled?: boolean;
  lease?: LeaseState | undefined;
}

interface LeaseState {
  cls: SchedClass;
  leaseId: string;
  worker: Address;
  raylet: Connection;
  conn: Connection | undefined;
  inflight: Set<TaskEntry>;
  calls: number;
  idleTimer: NodeJS.Timeout | undefined;
  dead: boolean;
  /** When the last reply (or push into an idle lease) happened, to estimate task duration. */
  lastEvent: number;
  gpuIds: number[] | undefined;
}

interface SchedClass {
  key: string;
  resources: Record<string, number>;
  strategy: SchedulingStrategy | undefined;
  envHash: string;
  envVars: Record<string, string> | undefined;
  maxCalls: number;
  queue: Deque<TaskEntry>;
  /** An array, not a Set: iterated on every submit and reply, changed only when leases come and go. */
  leases: LeaseState[];
  pendingLeases: number;
  warned: boolean;
  /** Moving average of task duration (ms); short tasks are pipelined, long ones are not. */
  avgMs: number;
}

const PIPELINE_BELOW_MS = 2;

export function envHash(envVars: Record<string, string> | undefined): string {
  if (!envVars || Object.keys(envVars).length === 0) return "";
  return JSON.stringify(Object.entries(envVars).sort());
}

export class NormalTaskSubmitter {
  private classes = new Map<string, SchedClass>();
  private ctx: SubmitContext;
  private maxInflight = config("max_tasks_in_flight_per_worker");
  private maxPendingLeases = config("max_pending_lease_requests_per_class");
  private idleMs = config("worker_lease_idle_ms");

  constructor(ctx: SubmitContext) { this.ctx = ctx; }

  /** The class of the last submitted spec, reused while the next has the same shared option objects. */
  private lastClass: { resources: object; strategy: unknown; envVars: unknown; maxCalls: unknown; cls: SchedClass } | undefined;

  private classOf(s: TaskSpec): SchedClass {
    const last = this.lastClass;
    if (last && last.resources === s.resources && last.strategy === s.strategy && last.envVars === s.envVars &&
        last.maxCalls === s.maxCalls) return last.cls; // classes are never removed
    const eh = envHash(s.envVars);
    const key = `${resourceKey(s.resources)}|${JSON.stringify(s.strategy ?? null)}|${eh}|${s.maxCalls ?? 0}`;
    let cls = this.classes.get(key);
    if (!cls) {
      cls = { key, resources: s.resources, strategy: s.strategy, envHash: eh, envVars: s.envVars,
        maxCalls: s.maxCalls ?? 0, queue: new Deque(), leases: [], pendingLeases: 0, warned: false, avgMs: 1000 };
      this.classes.set(key, cls);
    }
    this.lastClass = { resources: s.resources, strategy: s.strategy, envVars: s.envVars, maxCalls: s.maxCalls, cls };
    return cls;
  }

  submit(entry: TaskEntry): void {
    const s = entry.spec;
    const cls = this.classOf(s);
    cls.queue.push(entry);
    this.pump(cls);
  }

  /**
   * Tasks in flight per worker: pipelining hides the round trip for short tasks, but would queue
   * long tasks behind each other on one worker while others idle, so it is used only once tasks
   * of this class are seen to be short (as Ray's default of one task in flight per worker).
   */
  private depth(cls: SchedClass): number {
    return cls.avgMs < PIPELINE_BELOW_MS ? this.maxInflight : 1;
  }

  private pump(cls: SchedClass): void {
    const depth = this.depth(cls);
    const leases = cls.leases;
    let capacity = 0;
    for (let i = 0; i < leases.length; i++) {
      const lease = leases[i]!;
      if (lease.dead || !lease.conn) { if (!lease.dead) capacity += depth; continue; }
      while (cls.queue.length && lease.inflight.size < depth &&
             (cls.maxCalls === 0 || lease.calls < cls.maxCalls)) {
        this.push(cls, lease, cls.queue.shift()!);
      }
      if (cls.queue.length === 0 && lease.inflight.size === 0) this.scheduleIdleReturn(cls, lease);
      capacity += depth - lease.inflight.size;
    }
    if (cls.queue.length > capacity && cls.pendingLeases < this.maxPendingLeases &&
        cls.pendingLeases < cls.queue.length) {
      void this.requestLease(cls, this.ctx.raylet, 0);
    }
  }

  private async requestLease(cls: SchedClass, raylet: Connection, hops: number): Promise<void> {
    cls.pendingLeases++;
    let reply: Res<"raylet.RequestWorkerLease">;
    try {
      reply = await raylet.request("raylet.RequestWorkerLease", {
        jobId: this.ctx.jobId, resources: cls.resources, strategy: cls.strategy, envHash: cls.envHash,
        envVars: cls.envVars, maxCalls: cls.maxCalls || undefined, hops: hops || undefined,
        backlog: cls.queue.length || undefined,
      });
    } catch (e) {
      cls.pendingLeases--;
      if (e instanceof ConnectionError && raylet !== this.ctx.raylet) {
        // The node we were sent to died or is unreachable: lease again through our own raylet,
        // which learns of the death from the GCS.
        setTimeout(() => this.pump(cls), 200).unref();
        return;
      }
      this.failQueue(cls, e instanceof StingrayError ? e : new WorkerCrashedError(`could not lease a worker: ${(e as Error).message}`));
      return;
    }
    if (reply.retryAt && hops < 4) {
      let other: Connection;
      try {
        other = await this.ctx.connect(reply.retryAt);
      } catch {
        other = this.ctx.raylet;
      }
      cls.pendingLeases--;
      void this.requestLease(cls, other, hops + 1);
      return;
    }
    if (!reply.leaseId || !reply.worker) {
      cls.pendingLeases--;
      if (reply.infeasible && !cls.warned) {
        cls.warned = true;
        this.ctx.warn(`a task needs {${Object.entries(cls.resources).map(([k, v]) => `${k}: ${v}`).join(", ")}} ` +
          `but ${reply.infeasible}; it stays pending until such a node joins (the autoscaler may add one). ` +
          "Lower the task's resource request or add a node that has them.");
      }
      // Retry later: resources may appear (nodes joining).
      setTimeout(() => { if (cls.queue.length) this.pump(cls); }, 1000).unref();
      return;
    }
    const lease: LeaseState = { cls, leaseId: reply.leaseId, worker: reply.worker, raylet, conn: undefined,
      inflight: new Set(), calls: 0, idleTimer: undefined, dead: false, lastEvent: 0,
      gpuIds: reply.gpuIds?.length ? reply.gpuIds : undefined };
    cls.leases.push(lease);
    try {
      lease.conn = await this.ctx.connect(reply.worker);
    } catch {
      cls.pendingLeases--;
      this.dropLease(cls, lease, true);
      this.pump(cls);
      return;
    }
    cls.pendingLeases--;
    lease.conn.once("close", () => this.leaseLost(cls, lease));
    if (cls.queue.length === 0) { this.scheduleIdleReturn(cls, lease); return; }
    this.pump(cls);
  }

  private push(cls: SchedClass, lease: LeaseState, entry: TaskEntry): void {
    // An armed idle timer stays: when it fires it finds the lease busy (see idleCheck), which is
    // cheaper than clearing and re-arming a timer around every task of a sync loop.
    if (lease.inflight.size === 0) lease.lastEvent = performance.now();
    lease.inflight.add(entry);
    lease.calls++;
    entry.lease = lease;
    lease.conn!.call("worker.PushTask", encodePush(lease.conn!, entry.spec, entry.template, lease.gpuIds), this.onReply, entry);
  }

  /** The reply to a pushed task (one function for all: the entry comes back as the call's context). */
  private onReply = (err: Error | undefined, reply: Res<"worker.PushTask"> | undefined, entry: TaskEntry): void => {
    const lease = entry.lease;
    // A lost connection: leaseLost() handles every in-flight task of this lease.
    if (err || !reply || !lease) return;
    const cls = lease.cls;
    const now = performance.now();
    cls.avgMs = cls.avgMs * 0.8 + (now - lease.lastEvent) * 0.2;
    lease.lastEvent = now;
    lease.inflight.delete(entry);
    entry.lease = undefined;
    this.finish(cls, entry, withIds(reply.returns, entry.returnIds, entry.spec.taskId));
    if (cls.maxCalls && lease.calls >= cls.maxCalls && lease.inflight.size === 0) {
      // The worker exits after maxCalls tasks; the raylet frees the lease when it does.
      this.dropLease(cls, lease, false);
    }
    // Nothing queued (a sync loop, the tail of a batch): only an idle lease needs attention.
    if (cls.queue.length === 0) {
      if (lease.inflight.size === 0) this.scheduleIdleReturn(cls, lease);
      return;
    }
    this.pump(cls);
  };

  private finish(cls: SchedClass, entry: TaskEntry, returns: ReturnValue[]): void {
    const s = entry.spec;
    const err = returns[0]?.err;
    if (err && !entry.cancelled && err.code === "TASK_ERROR" && s.retryExceptions &&
        (s.maxRetries === -1 || s.attempt < s.maxRetries)) {
      entry.spec = { ...s, attempt: s.attempt + 1 };
      cls.queue.unshift(entry);
      return;
    }
    this.ctx.complete(s, returns);
  }

  private leaseLost(cls: SchedClass, lease: LeaseState): void {
    if (lease.dead) return;
    const inflight = [...lease.inflight];
    this.dropLease(cls, lease, false);
    for (const entry of inflight) {
      entry.lease = undefined;
      const s = entry.spec;
      if (entry.cancelled) {
        this.failEntry(entry, new TaskCancelledError(`task ${s.name} was cancelled`));
      } else if (s.maxRetries === -1 || s.attempt < s.maxRetries) {
        entry.spec = { ...s, attempt: s.attempt + 1 };
        cls.queue.unshift(entry);
      } else {
        this.failEntry(entry, new WorkerCrashedError(
          `the worker running ${s.name} died (crashed, was killed, or ran out of memory) and the task ` +
          `was retried ${s.maxRetries} time(s) (maxRetries=${s.maxRetries}); check the worker logs in the ` +
          "session's logs/ directory, or raise maxRetries"));
      }
    }
    this.pump(cls);
  }

  private dropLease(cls: SchedClass, lease: LeaseState, returnIt: boolean): void {
    if (lease.dead) return;
    lease.dead = true;
    if (lease.idleTimer) clearTimeout(lease.idleTimer);
    const i = cls.leases.indexOf(lease);
    if (i >= 0) cls.leases.splice(i, 1);
    if (returnIt) lease.raylet.request("raylet.ReturnWorker", { leaseId: lease.leaseId }).catch(() => {});
  }

  /**
   * Return the lease once it has been idle for `worker_lease_idle_ms` (0: idle when the timer
   * fires, i.e. once this process is through with its current work). One timer per lease at a
   * time; a lease that got busy again meanwhile is re-armed by the reply that idles it.
   */
  private scheduleIdleReturn(cls: SchedClass, lease: LeaseState): void {
    if (lease.idleTimer || lease.dead) return;
    lease.idleTimer = setTimeout(() => this.idleCheck(cls, lease), Math.max(this.idleMs, 0));
  }

  private idleCheck(cls: SchedClass, lease: LeaseState): void {
    lease.idleTimer = undefined;
    if (lease.dead || lease.inflight.size > 0 || cls.queue.length > 0) return;
    const idleFor = performance.now() - lease.lastEvent;
    if (idleFor >= this.idleMs) this.dropLease(cls, lease, true);
    else lease.idleTimer = setTimeout(() => this.idleCheck(cls, lease), this.idleMs - idleFor);
  }

  private failEntry(entry: TaskEntry, e: StingrayError): void {
    this.ctx.complete(entry.spec, returnIdsOf(entry.spec).map((id) => ({ id, err: toWire(e) })));
  }

  private failQueue(cls: SchedClass, e: StingrayError): void {
    for (const entry of cls.queue.drain()) this.failEntry(entry, e);
  }

  /** Cancel a task: dequeue it, or mark it and interrupt it where it runs. */
  cancel(taskId: string, force: boolean): { found: boolean; running?: Address } {
    // A scan rather than an index by task id: cancelling is rare, and an index would cost every
    // task a map insertion and deletion.
    for (const cls of this.classes.values()) {
      const queued = cls.queue.find((e) => e.spec.taskId === taskId);
      if (queued) {
        queued.cancelled = true;
        cls.queue.remove(queued);
        this.failEntry(queued, new TaskCancelledError(`task ${queued.spec.name} was cancelled before it ran`));
        return { found: true };
      }
    }
    let entry: TaskEntry | undefined;
    for (const cls of this.classes.values()) {
      for (const l of cls.leases) for (const e of l.inflight) if (e.spec.taskId === taskId) entry = e;
    }
    if (!entry) return { found: false };
    entry.cancelled = true;
    const lease = entry.lease;
    if (!lease?.conn) return { found: true };
    lease.conn.request("worker.CancelTask", { taskId, force }).catch(() => {});
    if (force) lease.raylet.request("raylet.KillWorker", { workerId: lease.worker.workerId, force: true, reason: "task cancelled with force" }).catch(() => {});
    return { found: true, running: lease.worker };
  }

  /** Tasks still queued or running (for shutdown diagnostics and tests). */
  get outstanding(): number {
    let n = 0;
    for (const cls of this.classes.values()) {
      n += cls.queue.length;
      for (const l of cls.leases) n += l.inflight.size;
    }
    return n;
  }

  shutdown(): void {
    for (const cls of this.classes.values()) {
      for (const l of [...cls.leases]) this.dropLease(cls, l, true);
    }
  }
}

export function returnIdsOf(spec: TaskSpec): string[] {
  const n = spec.numReturns < 0 ? 1 : Math.max(spec.numReturns, 0);
  if (n === 1) return [returnObjectId(spec.taskId, 0)]; // the common case, without Array.from's callback
  const ids = new Array<string>(n);
  for (let i = 0; i < n; i++) ids[i] = returnObjectId(spec.taskId, i);
  return ids;
}
