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
  /** The function of a descriptor already loaded in this process, else undefined. */
  loadedFunction(spec: TaskSpec): unknown;
  /** The return as an inline value when it is small enough to travel in the reply, else undefined. */
  inlineReturn(id: string, value: unknown): ReturnValue | undefined;
  /** Decode an inline argument. */
  decodeArg(bytes: Uint8Array): unknown;
  onExitRequested(): void;
  /** A task that started at `start` ended here (task events). */
  onTaskEnd(spec: TaskSpec, start: number, returns: ReturnValue[]): void;
}

export interface TaskContext {
  taskId: string;
  jobId: string;
  actorId: string | undefined;
  name: string;
  signal: AbortSignal;
}

export const taskStorage = new AsyncLocalStorage<TaskContext>();

/** The context of a running task; its signal (an AbortController) is made only when read. */
class RunningTaskContext implements TaskContext {
  readonly taskId: string;
  readonly jobId: string;
  readonly actorId: string | undefined;
  readonly name: string;
  readonly #q: Queued;
  constructor(q: Queued, name: string, actorId: string | undefined) {
    this.#q = q;
    this.taskId = q.spec.taskId;
    this.jobId = q.spec.jobId;
    this.actorId = actorId;
    this.name = name;
  }
  get signal(): AbortSignal { return controllerOf(this.#q).signal; }
}

interface Queued {
  spec: TaskSpec;
  conn: Connection;
  resolve(r: { returns: ReturnValue[] }): void;
  /** Made on first use (reading the task's signal, or cancelling it): most tasks never need one. */
  abort: AbortController | undefined;
  started: boolean;
  /** When it started running (task events; 0: not yet), and whether that was reported yet. */
  start: number;
  reported: boolean;
}

type Reply = { returns: ReturnValue[] };

function controllerOf(q: Queued): AbortController {
  return (q.abort ??= new AbortController());
}
const noResolve = (): void => {};
/** The arguments of a call without any (never handed to code that could keep and change them: apply copies). */
const NO_ARGS: unknown[] = [];

export class Executor {
  private ctx: ExecContext;
  private queue = new Deque<Queued>();
  private running = 0;
  private byTask = new Map<string, Queued>();
  private actor: { instance: Record<string, unknown>; className: string; maxConcurrency: number; actorId: string } | undefined;
  private calls = 0;
  private maxCalls = 0;
  /**
   * Whether CUDA_VISIBLE_DEVICES may be set (inherited, or set for a GPU task): a task without
   * GPUs clears it. Tracked here because reading process.env is a call into the runtime.
   */
  private gpuEnvSet = process.env.CUDA_VISIBLE_DEVICES !== undefined;
  /** The actor this worker hosts, if any (for the runtime context). */
  actorId: string | undefined;

  constructor(ctx: ExecContext) { this.ctx = ctx; }

  /**
   * Run a pushed task (or queue it behind the ones running). A task that can run at once, whose
   * function is loaded, whose arguments are inline and whose result is a small synchronous value
   * completes synchronously: no promise, no extra turn (see `runNow`).
   */
  push(spec: TaskSpec, conn: Connection): Reply | Promise<Reply> {
    if (this.queue.length === 0 && this.running < this.concurrency()) {
      const q: Queued = { spec, conn, resolve: noResolve, abort: undefined, started: true, start: 0, reported: false };
      this.byTask.set(spec.taskId, q);
      this.running++;
      const r = this.run(q);
      if (!(r instanceof Promise)) { this.finished(q); return r; }
      return r.then((x) => { this.finished(q); return x; });
    }
    return new Promise((resolve) => {
      const q: Queued = { spec, conn, resolve, abort: undefined, started: false, start: 0, reported: false };
      this.byTask.set(spec.taskId, q);
      this.queue.push(q);
      this.drain();
    });
  }

  /** Tasks running now (for task events: long tasks are reported as RUNNING). */
  *runningTasks(): Iterable<{ spec: TaskSpec; start: number; reported: boolean }> {
    for (const q of this.byTask.values()) {
      if (q.started && q.start > 0) yield q;
    }
  }

  private concurrency(): number {
    return this.actor ? this.actor.maxConcurrency : 1;
  }

  /** Bookkeeping after a task ends; then start queued ones. */
  private finished(q: Queued): void {
    this.running--;
    this.byTask.delete(q.spec.taskId);
    if (this.maxCalls && this.calls >= this.maxCalls && this.running === 0) this.ctx.onExitRequested();
    if (this.queue.length) this.drain();
  }

  private drain(): void {
    while (this.queue.length && this.running < this.concurrency()) {
      const q = this.queue.shift()!;
      this.running++;
      q.started = true;
      const r = this.run(q);
      if (r instanceof Promise) {
        void r.then((x) => { this.finished(q); q.resolve(x); });
      } else {
        // Finished synchronously: account for it here (no recursion through finished()).
        this.running--;
        this.byTask.delete(q.spec.taskId);
        q.resolve(r);
        if (this.maxCalls && this.calls >= this.maxCalls && this.running === 0) this.ctx.onExitRequested();
      }
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
      controllerOf(q).abort(err);
    }
    return true;
  }

  private errorReturns(spec: TaskSpec, e: unknown): ReturnValue[] {
    const wire = toWire(e);
    const n = spec.numReturns < 0 ? 1 : Math.max(spec.numReturns, 1);
    return Array.from({ length: n }, (_, i) => ({ id: `${spec.taskId}r${i}`, err: wire }));
  }

  private run(q: Queued): Reply | Promise<Reply> {
    const spec = q.spec;
    // GPUs of the lease this task runs under; an actor keeps its creation task's GPUs.
    if (spec.gpuIds) {
      process.env.CUDA_VISIBLE_DEVICES = spec.gpuIds.join(",");
      this.gpuEnvSet = true;
    } else if (spec.kind === "normal" && this.gpuEnvSet) {
      delete process.env.CUDA_VISIBLE_DEVICES;
      this.gpuEnvSet = false;
    }
    if (spec.maxCalls) this.maxCalls = spec.maxCalls;
    if (spec.kind === "normal") this.calls++;
    const start = (q.start = Date.now());
    const r = this.runNow(q) ?? this.runAsync(q);
    if (r instanceof Promise) return r.then((x) => { this.ctx.onTaskEnd(spec, start, x.returns); return x; });
    this.ctx.onTaskEnd(spec, start, r.returns);
    return r;
  }

  private labelOf(spec: TaskSpec): string {
    return spec.kind === "actor_task" ? `${this.actor?.className ?? "actor"}.${spec.method ?? ""}` : spec.name;
  }

  private contextOf(q: Queued, label: string): TaskContext {
    return new RunningTaskContext(q, label, q.spec.actorId ?? this.actorId);
  }

  private failure(q: Queued, e: unknown, label: string): Reply {
    const spec = q.spec;
    if (q.abort?.signal.aborted) return { returns: this.errorReturns(spec, q.abort.signal.reason) };
    return { returns: this.errorReturns(spec, e instanceof StingrayError && !(e instanceof ValueError)
      ? e : TaskError.fromThrown(e, label, process.pid, this.ctx.nodeIp)) };
  }

  /**
   * The synchronous path: the code is loaded, every argument is inline, one return. Returns
   * undefined when it does not apply (run it the general way); a call that turns out to return
   * a promise or a large value continues asynchronously.
   */
  private runNow(q: Queued): Reply | Promise<Reply> | undefined {
    const spec = q.spec;
    if (spec.numReturns !== 1) return undefined;
    let fn: (...a: unknown[]) => unknown;
    let self: unknown;
    if (spec.kind === "actor_task") {
      const inst = this.actor?.instance;
      const m = inst?.[spec.method!];
      if (typeof m !== "function") return undefined;
      fn = m as (...a: unknown[]) => unknown;
      self = inst;
    } else if (spec.kind === "normal") {
      const f = this.ctx.loadedFunction(spec);
      if (typeof f !== "function") return undefined;
      fn = f as (...a: unknown[]) => unknown;
    } else {
      return undefined;
    }
    for (const a of spec.args) if (a.ref) return undefined;
    const label = this.labelOf(spec);
    let result: unknown;
    try {
      const args = spec.args.length === 0 ? NO_ARGS : spec.args.map((a) => (a.v ? this.ctx.decodeArg(a.v) : undefined));
      result = taskStorage.run(this.contextOf(q, label), () => fn.apply(self, args));
    } catch (e) {
      return this.failure(q, e, label);
    }
    if (!(result instanceof Promise)) {
      try {
        const ret = this.ctx.inlineReturn(`${spec.taskId}r0`, result);
        if (ret) return { returns: [ret] };
      } catch (e) {
        return this.failure(q, e, label);
      }
    }
    return this.settle(q, result, label);
  }

  private async settle(q: Queued, result: unknown, label: string): Promise<Reply> {
    try {
      const value = await abortable(result, controllerOf(q).signal);
      return { returns: await this.returns(q.spec, value, label) };
    } catch (e) {
      return this.failure(q, e, label);
    }
  }

  private async runAsync(q: Queued): Promise<Reply> {
    const spec = q.spec;
    const label = this.labelOf(spec);
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
    const tctx = this.contextOf(q, label);
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
        result = await abortable(result, controllerOf(q).signal);
        return { returns: await this.returns(spec, result, label) };
      });
    } catch (e) {
      return this.failure(q, e, label);
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
      if (q.abort?.signal.aborted) throw q.abort.signal.reason;
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
