/**
 * @module worker/executor
 * Runs tasks inside a worker process. Normal tasks run one at a time in arrival order; an actor's
 * methods run in arrival order too, or up to `maxConcurrency` at once when the actor's methods
 * are async. Arguments are resolved (inline values decoded, refs fetched from the node's store or
 * their owner) before user code runs; a failed dependency fails the task with the same error.
 * Results are returned inline when small, or written to this node's object store. Async
 * generator tasks stream: each yielded value is sent to the owner as it is produced.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Connection } from "../protocol/connection.ts";
import type { Address, ReturnValue, TaskSpec } from "../protocol/messages.ts";
import { StingrayError, TaskCancelledError, TaskError, ValueError, toWire } from "../common/errors.ts";
import { Deque } from "../common/deque.ts";

export interface ExecContext {
  nodeId: string;
  nodeIp: string;
  workerId: string;
  loadFunction(spec: TaskSpec): Promise<unknown>;
  resolveArgs(spec: TaskSpec): Promise<unknown[]>;
  storeReturn(id: string, value: unknown, owner: Address): Promise<ReturnValue>;
  onExitRequested(): void;
}

export interface TaskContext {
  taskId: string;
  jobId: string;
  actorId: string | undefined;
  name: string;
  signal: AbortSignal;
}

export const taskStorage = new AsyncLocalStorage<TaskContext>();

interface Queued {
  spec: TaskSpec;
  conn: Connection;
  resolve(r: { returns: ReturnValue[] }): void;
  abort: AbortController;
  started: boolean;
}

export class Executor {
  private ctx: ExecContext;
  private queue = new Deque<Queued>();
  private running = 0;
  private byTask = new Map<string, Queued>();
  private actor: { instance: Record<string, unknown>; className: string; maxConcurrency: number; actorId: string } | undefined;
  private calls = 0;
  private maxCalls = 0;
  /** The actor this worker hosts, if any (for the runtime context). */
  actorId: string | undefined;

  constructor(ctx: ExecContext) { this.ctx = ctx; }

  push(spec: TaskSpec, conn: Connection): Promise<{ returns: ReturnValue[] }> {
    return new Promise((resolve) => {
      const q: Queued = { spec, conn, resolve, abort: new AbortController(), started: false };
      this.byTask.set(spec.taskId, q);
      this.queue.push(q);
      this.drain();
    });
  }

  private concurrency(): number {
    return this.actor ? this.actor.maxConcurrency : 1;
  }

  private drain(): void {
    while (this.queue.length && this.running < this.concurrency()) {
      const q = this.queue.shift()!;
      this.running++;
      q.started = true;
      void this.run(q).then((r) => {
        this.running--;
        this.byTask.delete(q.spec.taskId);
        q.resolve(r);
        if (this.maxCalls && this.calls >= this.maxCalls && this.running === 0) this.ctx.onExitRequested();
        this.drain();
      });
    }
  }

  cancel(taskId: string): boolean {
    const q = this.byTask.get(taskId);
    if (!q) return false;
    const err = new TaskCancelledError(`task ${q.spec.name} was cancelled`);
    if (!q.started) {
      this.queue.remove(q);
      this.byTask.delete(taskId);
      q.resolve({ returns: this.errorReturns(q.spec, err) });
    } else {
      q.abort.abort(err);
    }
    return true;
  }

  private errorReturns(spec: TaskSpec, e: unknown): ReturnValue[] {
    const wire = toWire(e);
    const n = spec.numReturns < 0 ? 1 : Math.max(spec.numReturns, 1);
    return Array.from({ length: n }, (_, i) => ({ id: `${spec.taskId}r${i}`, err: wire }));
  }

  private async run(q: Queued): Promise<{ returns: ReturnValue[] }> {
    const spec = q.spec;
    // GPUs of the lease this task runs under; an actor keeps its creation task's GPUs.
    if (spec.gpuIds) process.env.CUDA_VISIBLE_DEVICES = spec.gpuIds.join(",");
    else if (spec.kind === "normal") delete process.env.CUDA_VISIBLE_DEVICES;
    if (spec.maxCalls) this.maxCalls = spec.maxCalls;
    if (spec.kind === "normal") this.calls++;
    const label = spec.kind === "actor_task" ? `${this.actor?.className ?? "actor"}.${spec.method ?? ""}` : spec.name;
    let args: unknown[];
    let target: unknown;
    try {
      [target, args] = await Promise.all([
        spec.kind === "actor_task" ? Promise.resolve(undefined) : this.ctx.loadFunction(spec),
        this.ctx.resolveArgs(spec),
      ]);
    } catch (e) {
      // A dependency failed (or the code could not load): the task fails with that error.
      return { returns: this.errorReturns(spec, e instanceof StingrayError ? e : TaskError.fromThrown(e, label, process.pid, this.ctx.nodeIp)) };
    }
    const tctx: TaskContext = { taskId: spec.taskId, jobId: spec.jobId, actorId: spec.actorId ?? this.actorId,
      name: label, signal: q.abort.signal };
    try {
      return await taskStorage.run(tctx, async () => {
        if (spec.kind === "actor_create") {
          const Cls = target as new (...a: unknown[]) => Record<string, unknown>;
          const instance = new Cls(...args);
          this.actor = { instance, className: spec.name, actorId: spec.actorId!,
            maxConcurrency: spec.maxConcurrency ?? (hasAsyncMethods(Cls) ? 1000 : 1) };
          this.actorId = spec.actorId;
          return { returns: [] };
        }
        let result: unknown;
        if (spec.kind === "actor_task") {
          const inst = this.actor?.instance;
          const m = inst?.[spec.method!];
          if (typeof m !== "function") {
            throw new ValueError(`actor ${this.actor?.className ?? "?"} has no method ${spec.method}`);
          }
          result = (m as (...a: unknown[]) => unknown).apply(inst, args);
        } else {
          result = (target as (...a: unknown[]) => unknown)(...args);
        }
        if (spec.numReturns < 0) return await this.stream(q, result, label);
        result = await abortable(result, q.abort.signal);
        return { returns: await this.returns(spec, result, label) };
      });
    } catch (e) {
      if (q.abort.signal.aborted) return { returns: this.errorReturns(spec, q.abort.signal.reason) };
      return { returns: this.errorReturns(spec, e instanceof StingrayError && !(e instanceof ValueError)
        ? e : TaskError.fromThrown(e, label, process.pid, this.ctx.nodeIp)) };
    }
  }

  private async returns(spec: TaskSpec, result: unknown, label: string): Promise<ReturnValue[]> {
    if (spec.numReturns === 0) return [];
    if (spec.numReturns === 1) return [await this.ctx.storeReturn(`${spec.taskId}r0`, result, spec.owner)];
    if (!Array.isArray(result) || result.length !== spec.numReturns) {
      throw new ValueError(`${label} was declared with numReturns=${spec.numReturns} but returned ` +
        `${Array.isArray(result) ? `an array of ${result.length}` : typeof result}; return an array of exactly ${spec.numReturns} values`);
    }
    return Promise.all(result.map((v, i) => this.ctx.storeReturn(`${spec.taskId}r${i}`, v, spec.owner)));
  }

  /** Streaming generator: send each item as it is yielded, then the end marker. */
  private async stream(q: Queued, result: unknown, label: string): Promise<{ returns: ReturnValue[] }> {
    const spec = q.spec;
    const it = result as AsyncIterator<unknown> | Iterator<unknown>;
    if (!it || typeof (it as AsyncIterator<unknown>).next !== "function") {
      throw new ValueError(`${label} is declared as a generator (numReturns: "streaming") but did not return an iterator`);
    }
    let index = 0;
    for (;;) {
      if (q.abort.signal.aborted) throw q.abort.signal.reason;
      const step = await (it.next() as Promise<IteratorResult<unknown>> | IteratorResult<unknown>);
      if (step.done) break;
      const ret = await this.ctx.storeReturn(`${spec.taskId}g${index}`, step.value, spec.owner);
      q.conn.notify("worker.GeneratorItem", { taskId: spec.taskId, index, ret });
      index++;
    }
    return { returns: [{ id: `${spec.taskId}r0`, v: undefined, size: index }] };
  }
}

function hasAsyncMethods(Cls: Function): boolean {
  const proto = Cls.prototype as Record<string, unknown>;
  for (const k of Object.getOwnPropertyNames(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, k);
    const f = d?.value;
    if (typeof f === "function" && (f.constructor.name === "AsyncFunction" || f.constructor.name === "AsyncGeneratorFunction")) return true;
  }
  return false;
}

function abortable(v: unknown, signal: AbortSignal): Promise<unknown> {
  if (!(v instanceof Promise)) return Promise.resolve(v);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    v.then((x) => { signal.removeEventListener("abort", onAbort); resolve(x); },
      (e: unknown) => { signal.removeEventListener("abort", onAbort); reject(e); });
  });
}
