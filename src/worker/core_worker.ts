/**
 * @module worker/core_worker
 * The core worker: the runtime inside every driver and worker process (Ray's CoreWorker). It owns
 * the objects this process creates (ownership: small values inline in its memory store, large
 * ones in the node's object store, freed when no ObjectRef to them is left), submits tasks and
 * actor calls, resolves ObjectRefs for `get`/`wait`, serves other processes' requests for the
 * objects it owns, and, in worker processes, executes pushed tasks.
 */
import { AUTOSCALER_NS } from "../common/kv_namespaces.ts";
import { connect, listen, localSocketName, serve, type Connection, type Handlers, type RpcServer } from "../protocol/connection.ts";
import type { ActorInfo, Address, ArgSpec, FunctionDescriptorWire, NodeInfo, Req, ReturnValue, TaskSpec } from "../protocol/messages.ts";
import { MemoryStore } from "./memory_store.ts";
import type { ActorOptions, Runtime, RuntimeInfo, TaskOptions } from "./runtime.ts";
import { ReferenceCounter } from "./reference_counter.ts";
import "./handles.ts"; // registers the actor-handle serializer
import { ObjectRef } from "./object_ref.ts";
import { NormalTaskSubmitter, returnIdsOf, type TaskEntry } from "./task_submitter.ts";
import { decodePush, replyReturns } from "./task_wire.ts";
import { ActorSubmitter } from "./actor_submitter.ts";
import { Executor, taskStorage } from "./executor.ts";
import { TaskEventBuffer } from "./task_events.ts";
import { userMetrics } from "./user_metrics.ts";
import { FunctionManager, type Described } from "./function_manager.ts";
import { decodeInline, encodeForStore, encodeInline, setRefHooks } from "./serialization.ts";
import { readRemote, readStored, storeValue, writeEncoded } from "./object_io.ts";
import { config, configOnce } from "../common/config.ts";
import { putObjectId, uniqueId, randomId } from "../common/ids.ts";
import {
  GetTimeoutError, ObjectLostError, TaskCancelledError, ProtocolError, RuntimeStateError, StingrayError, ValueError, fromWire, toWire,
} from "../common/errors.ts";

export interface CoreWorkerOptions {
  mode: "driver" | "worker";
  workerId: string;
  jobId: string;
  namespace: string;
  nodeId: string;
  nodeIp: string;
  sessionDir: string;
  token: string;
  gcs: Connection;
  raylet: Connection;
  listenPort?: number;
  /** More methods this process serves (the remote-client proxy adds client.*). */
  extraHandlers?: Handlers;
  /** Inclusive port range to listen in (the node's --min/--max-worker-port); any port when absent. */
  portRange?: [number, number] | undefined;
  logToDriver?: boolean;
}

/** State of a streaming generator task, owned by the caller. */
export interface StreamState {
  items: ReturnValue[];
  total: number | undefined;
  error: ReturnValue | undefined;
  waiters: Array<() => void>;
}


/** The arguments of a call without arguments, shared (never mutated). */
const NO_ARGS: { specs: ArgSpec[]; keep: unknown[]; pending: Promise<unknown>[] } =
  Object.freeze({ specs: Object.freeze([]) as unknown as ArgSpec[], keep: Object.freeze([]) as unknown as unknown[], pending: Object.freeze([]) as unknown as Promise<unknown>[] });

export class CoreWorker implements Runtime {
  readonly opts: CoreWorkerOptions;
  readonly memory = new MemoryStore();
  readonly functions: FunctionManager;
  readonly submitter: NormalTaskSubmitter;
  readonly actors: ActorSubmitter;
  readonly executor: Executor | undefined;
  address!: Address;
  private rpc: RpcServer | undefined;
  private peers = new Map<string, Promise<Connection>>();
  readonly refs: ReferenceCounter;
  readonly taskEvents: TaskEventBuffer;
  private metricsTimer: NodeJS.Timeout;
  private toFree: string[] = [];
  private freeScheduled = false;
  private streams = new Map<string, StreamState>();
  private actorChains = new Map<string, Promise<void>>();
  private nodeRaylets = new Map<string, Address>();
  private shuttingDown = false;
  /** Tasks whose arguments are still being resolved (not yet handed to the submitter). */
  private resolving = new Set<string>();
  /** Called when a streamed item or end arrives (set by the API's generator objects). */

  constructor(opts: CoreWorkerOptions) {
    this.opts = opts;
    this.functions = new FunctionManager(opts.gcs, opts.sessionDir);
    this.taskEvents = new TaskEventBuffer({
      send: (batch) => { if (!opts.gcs.closed) opts.gcs.notify("gcs.AddTaskEvents", batch); },
    }, { nodeId: opts.nodeId, workerId: opts.workerId, pid: process.pid });
    this.submitter = new NormalTaskSubmitter({
      jobId: opts.jobId,
      raylet: opts.raylet,
      connect: (a) => this.connectTo(a),
      complete: (spec, returns) => this.complete(spec, returns),
      warn: (m) => this.warn(m),
    });
    this.actors = new ActorSubmitter({
      gcs: opts.gcs,
      connect: (a) => this.connectTo(a),
      complete: (spec, returns) => this.complete(spec, returns),
    });
    if (opts.mode === "worker") {
      this.executor = new Executor({
        nodeId: opts.nodeId, nodeIp: opts.nodeIp, workerId: opts.workerId,
        loadFunction: (spec) => this.functions.load(spec.fn),
        resolveArgs: (spec) => this.resolveArgs(spec),
        storeReturn: async (id, value, owner) => (await storeValue(this.opts.raylet, id, value, owner, this.opts.nodeId)).ret,
        loadedFunction: (spec) => this.functions.loadedNow(spec.fn),
        inlineReturn: (id, value) => {
          const enc = encodeForStore(value);
          return enc.buffers.length === 0 && enc.body.length <= configOnce("max_direct_call_object_size") ? { id, v: enc.body } : undefined;
        },
        decodeArg: (bytes) => decodeInline(bytes),
        onExitRequested: () => { this.taskEvents.flushAll(); this.reportUserMetrics(); setTimeout(() => process.exit(0), 50); },
        onTaskEnd: (spec, start, returns) => this.taskEvents.executed(spec, start, returns),
      });
    }
    this.metricsTimer = setInterval(() => this.reportUserMetrics(), configOnce("user_metrics_report_interval_ms"));
    this.metricsTimer.unref();
    if (this.executor) {
      const ex = this.executor;
      this.taskEvents.runningTasks = () => ex.runningTasks();
    }
    this.refs = new ReferenceCounter({
      self: () => this.address,
      connect: (a) => this.connectTo(a),
      freeIfDone: (id) => this.freeIfDone(id),
      local: this.memory, // local ref counts share the memory store's entries
    });
    setRefHooks({
      onSerialize: (ref) => this.refs.onSerialize(ref),
      make: (id, owner) => (owner.workerId === this.opts.workerId ? this.refs.ownedRef(id) : this.refs.borrowedRef(id, owner)),
    });
    opts.gcs.onNotify = (method, payload) => {
      if (method !== "gcs.Published") return;
      const p = payload as Req<"gcs.Published">;
      if (p.channel === "actor") {
        const info = p.data as ActorInfo;
        this.actors.update(info);
        // An actor this process created is placed (or failed): its creation task is over.
        if (info.state === "ALIVE" || info.state === "DEAD") this.taskEvents.completedId(`${info.actorId}c`, info.state === "DEAD" ? info.deathCause : undefined);
      }
      else if (p.channel === "logs") this.printLogs(p.data as Req<"gcs.PublishLogs">);
      else if (p.channel === "warning") this.warn((p.data as { message: string }).message, false);
    };
  }

  /** Start serving requests from other processes (object lookups, pushed tasks). */
  async start(): Promise<void> {
    const host = this.opts.nodeIp === "127.0.0.1" ? "127.0.0.1" : "0.0.0.0";
    this.rpc = await this.listenInRange(host);
    this.address = { nodeId: this.opts.nodeId, host: this.opts.nodeIp, port: this.rpc.port, workerId: this.opts.workerId };
    this.accept(this.opts.raylet);
    if (this.opts.mode === "driver") {
      await this.opts.gcs.request("gcs.Subscribe", { channel: "warning", key: this.opts.jobId });
      if (this.opts.logToDriver ?? config("log_to_driver")) {
        await this.opts.gcs.request("gcs.Subscribe", { channel: "logs", key: this.opts.jobId });
      }
    }
  }

  /** Listen on the preferred port, else the next free one in the node's range, else any. */
  private async listenInRange(host: string): Promise<RpcServer> {
    const range = this.opts.portRange;
    const first = this.opts.listenPort ?? 0;
    const candidates: number[] = [];
    if (range) {
      const [lo, hi] = range;
      const start = first >= lo && first <= hi ? first : lo + Math.floor(Math.random() * (hi - lo + 1));
      for (let i = 0; i <= hi - lo && candidates.length < 200; i++) candidates.push(lo + ((start - lo + i) % (hi - lo + 1)));
    } else {
      candidates.push(first);
    }
    let last: unknown;
    for (const port of candidates) {
      try {
        return await listen({ host, port, token: this.opts.token, onConnection: (c) => this.accept(c), slabReads: true,
          localName: localSocketName(this.opts.token, this.opts.nodeId, this.opts.workerId) });
      } catch (e) {
        last = e;
        if ((e as NodeJS.ErrnoException).code !== "EADDRINUSE") throw e;
      }
    }
    throw new RuntimeStateError(`no free port in the worker port range ${range?.join("-")} (${(last as Error).message}); ` +
      "widen --min-worker-port/--max-worker-port");
  }

  private accept(conn: Connection): void {
    conn.on("protocolError", (e: Error) => process.stderr.write(`protocol error from ${conn.peer.role} ${conn.remote}: ${e.message}\n`));
    conn.on("handlerError", (e: Error) => process.stderr.write(`handler error: ${e.stack ?? e.message}\n`));
    conn.onRequest = serve(this.opts.extraHandlers ? { ...this.handlers, ...this.opts.extraHandlers } : this.handlers, "a core worker");
    conn.onNotify = (method, payload) => {
      if (method === "worker.GeneratorItem") {
        const p = payload as Req<"worker.GeneratorItem">;
        this.streamItem(p.taskId, p.ret);
      }
    };
  }

  private readonly handlers: Handlers = {
    "worker.PushTask": (req, conn) => {
      if (!this.executor) throw new ProtocolError("drivers do not execute tasks");
      const reply = this.executor.push(decodePush(conn, req), conn);
      // Refs the task received inside its arguments must be registered with their owners
      // before the caller, seeing the reply, stops keeping them alive.
      if (!(reply instanceof Promise) && !this.refs.borrowsInFlight) return { returns: replyReturns(reply.returns) };
      return (async () => {
        const r = await reply;
        await this.refs.flushBorrows();
        return { returns: replyReturns(r.returns) };
      })();
    },
    "worker.AddBorrower": ({ ids }, conn) => { this.refs.addBorrower(conn, ids); return {}; },
    "worker.RemoveBorrower": ({ ids }, conn) => { this.refs.removeBorrower(conn, ids); return {}; },
    "worker.CancelTask": ({ taskId }) => ({ found: this.executor?.cancel(taskId) ?? false }),
    "worker.GetObject": async ({ id }) => {
      if (!this.memory.knows(id)) {
        return { id, err: toWire(new ObjectLostError(`object ${id} is unknown to its owner ${this.opts.workerId} (already freed?)`)) };
      }
      return this.memory.wait(id);
    },
    "worker.Exit": ({ reason }) => {
      this.taskEvents.flushAll(); // what this worker ran stays visible in the state API
      this.reportUserMetrics();
      setTimeout(() => process.exit(0), 10);
      return { ok: reason.length >= 0 };
    },
  };

  // ---------- Runtime (what the public API uses) ----------

  get info(): RuntimeInfo {
    const o = this.opts;
    return { jobId: taskStorage.getStore()?.jobId ?? o.jobId, nodeId: o.nodeId, nodeIp: o.nodeIp,
      workerId: o.workerId, namespace: o.namespace, mode: o.mode };
  }

  describe(target: Function, callerUrl: string | undefined): Described {
    return this.functions.describe(target, callerUrl);
  }

  trackActor(actorId: string, maxTaskRetries: number): void { this.actors.track(actorId, maxTaskRetries); }

  async nodes(): Promise<NodeInfo[]> {
    return (await this.opts.gcs.request("gcs.GetAllNodes", {})).nodes;
  }

  async requestResources(bundles: Array<Record<string, number>>): Promise<void> {
    await this.opts.gcs.request("gcs.KvPut", { ns: AUTOSCALER_NS, key: "resource_request", value: Buffer.from(JSON.stringify(bundles)), overwrite: true });
  }

  hostedActorId(): string | undefined { return this.executor?.actorId; }

  // ---------- connections ----------

  connectTo(addr: Address): Promise<Connection> {
    const key = `${addr.host}:${addr.port}`;
    let p = this.peers.get(key);
    if (!p) {
      p = connect({ host: addr.host, port: addr.port, token: this.opts.token, role: this.opts.mode,
        id: this.opts.workerId,
        localName: addr.nodeId === this.opts.nodeId ? localSocketName(this.opts.token, addr.nodeId, addr.workerId) : undefined });
      this.peers.set(key, p);
      p.then((c) => {
        this.accept(c);
        c.once("close", () => { if (this.peers.get(key) === p) this.peers.delete(key); });
      }, () => { if (this.peers.get(key) === p) this.peers.delete(key); });
    }
    return p;
  }

  // ---------- ownership and reference counting ----------

  /** A new ObjectRef to an object this process owns; counted until garbage-collected. */
  ownedRef<T>(id: string): ObjectRef<T> {
    return this.refs.ownedRef<T>(id);
  }

  /** Drop an object nothing holds, unless its task has not finished yet (see ReferenceCounter). */
  private freeIfDone(id: string): boolean {
    const v = this.memory.take(id);
    if (v === "pending") return false;
    if (v?.node) {
      // Frees found by one collection go out together, right after it: a dropped large object
      // frees its store space (and its file for reuse) before the next put asks for room.
      this.toFree.push(id);
      if (!this.freeScheduled) {
        this.freeScheduled = true;
        setImmediate(() => this.flushFrees());
      }
    }
    return true;
  }

  private flushFrees(): void {
    this.freeScheduled = false;
    const ids = this.toFree;
    this.toFree = [];
    if (ids.length && !this.opts.raylet.closed) this.opts.raylet.notify("raylet.ObjectFree", { ids });
  }

  /** Number of objects this process owns and still tracks (tests, memory summary). */
  get ownedObjects(): number { return this.memory.size; }

  // ---------- put / get / wait ----------

  async put<T>(value: T): Promise<ObjectRef<T>> {
    if (value instanceof ObjectRef) {
      throw new ValueError("put() of an ObjectRef is not allowed: the ref already names an object; pass it directly");
    }
    const id = putObjectId();
    this.refs.mode = "put";
    let enc;
    try { enc = encodeForStore(value); } finally { this.refs.mode = "return"; }
    const ref = this.ownedRef<T>(id);
    this.refs.contain(id, enc.refs);
    if (enc.buffers.length === 0 && enc.body.length <= configOnce("max_direct_call_object_size")) {
      this.memory.put({ id, v: enc.body });
    } else {
      this.memory.expect(id);
      try {
        const size = await writeEncoded(this.opts.raylet, id, enc, this.address);
        this.memory.put({ id, node: this.opts.nodeId, size });
      } catch (e) {
        this.memory.put({ id, err: toWire(e) });
        throw e;
      }
    }
    return ref;
  }

  /** The ReturnValue describing `ref` once it is ready. */
  resolve(ref: ObjectRef): Promise<ReturnValue> {
    if (ref.owner.workerId === this.opts.workerId) return this.memory.wait(ref.id);
    const cached = this.memory.get(ref.id);
    if (cached) return Promise.resolve(cached);
    return this.connectTo(ref.owner).then((c) => c.request("worker.GetObject", { id: ref.id }), (e: unknown) => {
      throw new ObjectLostError(`cannot reach the owner of object ${ref.id} at ${ref.owner.host}:${ref.owner.port} ` +
        `(${(e as Error).message}); its owner has probably exited`);
    });
  }

  async materialize(ret: ReturnValue, owner?: Address): Promise<unknown> {
    if (ret.err) throw fromWire(ret.err);
    if (ret.v) return decodeInline(ret.v);
    if (ret.node) {
      if (ret.node !== this.opts.nodeId) return readRemote(this.opts.raylet, ret.id, ret.node, owner ?? this.address);
      const [v] = await readStored(this.opts.raylet, [ret.id]);
      return v;
    }
    return undefined;
  }

  getOne(ref: ObjectRef, timeoutMs: number | undefined): Promise<unknown> {
    if (timeoutMs !== undefined && timeoutMs >= 0) return this.get([ref], timeoutMs).then((v) => v[0]);
    if (ref.owner.workerId === this.opts.workerId) {
      // An object this process owns: straight from the memory store, one promise, no arrays.
      return new Promise((resolve, reject) => this.memory.onReady(ref.id, (r) => {
        if (r.err) reject(fromWire(r.err));
        else if (r.v) {
          try { resolve(decodeInline(r.v)); } catch (e) { reject(e); }
        } else resolve(this.materialize(r, ref.owner));
      }));
    }
    return this.get([ref], timeoutMs).then((v) => v[0]);
  }

  /** The ReturnValues of `refs` once all are ready (a countdown, not a promise per ref). */
  private resolveAll(refs: ObjectRef[]): Promise<ReturnValue[]> {
    return new Promise((resolve, reject) => {
      const rets = new Array<ReturnValue>(refs.length);
      let left = refs.length;
      if (left === 0) { resolve(rets); return; }
      const me = this.opts.workerId;
      for (let i = 0; i < refs.length; i++) {
        const r = refs[i]!;
        const done = (v: ReturnValue): void => { rets[i] = v; if (--left === 0) resolve(rets); };
        if (r.owner.workerId === me) this.memory.onReady(r.id, done);
        else this.resolve(r).then(done, reject);
      }
    });
  }

  async get(refs: ObjectRef[], timeoutMs: number | undefined): Promise<unknown[]> {
    const all = this.resolveAll(refs);
    let rets: ReturnValue[];
    if (timeoutMs === undefined || timeoutMs < 0) {
      rets = await all;
    } else {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new GetTimeoutError(
          `get() timed out after ${timeoutMs / 1000}s waiting for ${refs.length} object(s); ` +
          "the tasks may still be running: wait longer, or use wait() to poll")), timeoutMs);
      });
      try {
        rets = await Promise.race([all, timeout]);
      } finally {
        clearTimeout(timer);
      }
    }
    const out = new Array<unknown>(rets.length);
    const stored: number[] = [];
    for (let i = 0; i < rets.length; i++) {
      const r = rets[i]!;
      if (r.err) throw fromWire(r.err);
      if (r.v) out[i] = decodeInline(r.v); // inline: no promise per value
      else if (r.node && r.node === this.opts.nodeId) stored.push(i);
      else out[i] = await this.materialize(r, refs[i]!.owner);
    }
    if (stored.length) {
      const vals = await readStored(this.opts.raylet, stored.map((i) => rets[i]!.id));
      stored.forEach((i, k) => { out[i] = vals[k]; });
    }
    return out;
  }

  async wait(refs: ObjectRef[], numReturns: number, timeoutMs: number | undefined): Promise<[ObjectRef[], ObjectRef[]]> {
    if (numReturns > refs.length) {
      throw new ValueError(`wait(): numReturns (${numReturns}) is larger than the number of refs (${refs.length})`);
    }
    const ready = new Set<number>();
    refs.forEach((r, i) => {
      if (r.owner.workerId === this.opts.workerId && this.memory.get(r.id)) ready.add(i);
    });
    if (ready.size < numReturns && timeoutMs !== 0) {
      await new Promise<void>((resolve) => {
        let done = false;
        const finish = (): void => { if (!done) { done = true; clearTimeout(timer); resolve(); } };
        const timer = timeoutMs === undefined || timeoutMs < 0 ? undefined : setTimeout(finish, timeoutMs);
        refs.forEach((r, i) => {
          if (ready.has(i)) return;
          this.resolve(r).then(() => {
            ready.add(i);
            if (ready.size >= numReturns) finish();
          }, () => { ready.add(i); if (ready.size >= numReturns) finish(); });
        });
      });
    }
    const readyRefs: ObjectRef[] = [];
    const rest: ObjectRef[] = [];
    refs.forEach((r, i) => (ready.has(i) && readyRefs.length < numReturns ? readyRefs : rest).push(r));
    return [readyRefs, rest];
  }

  // ---------- tasks ----------

  private currentJobId(): string {
    return taskStorage.getStore()?.jobId ?? this.opts.jobId;
  }

  /** Turn user arguments into ArgSpecs; returns the refs that must stay alive and a promise if any owned dependency is pending. */
  private buildArgs(args: unknown[]): { specs: ArgSpec[]; keep: unknown[]; pending: Promise<unknown>[] } {
    if (args.length === 0) return NO_ARGS; // shared: a million queued no-arg tasks need no arrays each
    const specs: ArgSpec[] = [];
    const keep: unknown[] = [];
    const pending: Promise<unknown>[] = [];
    for (const a of args) {
      if (a instanceof ObjectRef) {
        keep.push(a);
        const spec: ArgSpec = { ref: { id: a.id, owner: a.owner } };
        if (a.owner.workerId === this.opts.workerId) {
          const ready = this.memory.get(a.id);
          if (ready?.v && !ready.err) { specs.push({ v: ready.v }); continue; }
          if (!ready) {
            const i = specs.length;
            pending.push(this.memory.wait(a.id).then((r) => { if (r.v && !r.err) specs[i] = { v: r.v }; }));
          }
        }
        specs.push(spec);
        continue;
      }
      this.refs.mode = "arg";
      let enc;
      try { enc = encodeInline(a); } finally { this.refs.mode = "return"; }
      keep.push(...enc.refs); // nested refs live until the task is done
      if (enc.body.length > configOnce("max_direct_call_object_size")) {
        // Large argument: store it once in the object store and pass a ref (as Ray does).
        const i = specs.length;
        specs.push({});
        pending.push(this.put(a).then((r) => { keep.push(r); specs[i] = { ref: { id: r.id, owner: r.owner } }; }));
      } else {
        specs.push({ v: enc.body });
      }
    }
    return { specs, keep, pending };
  }

  submitTask(d: Described, args: unknown[], o: TaskOptions): { refs: ObjectRef[]; taskId: string } {
    const taskId = o.taskId ?? uniqueId();
    const { specs, keep, pending } = this.buildArgs(args);
    const template = this.taskTemplate(d, o);
    const spec: TaskSpec = { ...template, taskId, args: specs };
    const returnIds = returnIdsOf(spec);
    const refs = this.expectReturns(spec, o.taskId === undefined, returnIds);
    const entry: TaskEntry = { spec, keepAlive: keep, template, returnIds: returnIds.length === 1 ? returnIds[0]! : returnIds };
    this.taskEvents.submitted(spec);
    const waits = d.uploaded ? [...pending, d.uploaded] : pending;
    if (waits.length === 0) {
      this.submitter.submit(entry);
    } else {
      this.resolving.add(taskId);
      Promise.all(waits).then(() => {
        if (!this.resolving.delete(taskId)) {
          this.complete(spec, returnIdsOf(spec).map((id) => ({ id, err: toWire(new TaskCancelledError(`task ${spec.name} was cancelled before it ran`)) })));
          return;
        }
        this.submitter.submit(entry);
      },
        (e: unknown) => this.complete(spec, returnIdsOf(spec).map((id) => ({ id, err: toWire(e) }))));
    }
    return { refs, taskId };
  }

  /**
   * The part of a normal task's spec that every call with these options shares (task_wire.ts
   * sends it once per connection). Cached per options object: a remote function resolves its
   * options once, so its calls share one template.
   */
  private taskTemplate(d: Described, o: TaskOptions): TaskSpec {
    const jobId = this.currentJobId();
    const c = this.templates.get(o);
    if (c && c.fn === d.descriptor && c.spec.jobId === jobId && c.spec.owner === this.address) return c.spec;
    const spec: TaskSpec = {
      taskId: "", jobId, kind: "normal", fn: d.descriptor as FunctionDescriptorWire, name: o.name,
      args: NO_ARGS.specs, numReturns: o.numReturns, resources: o.resources, maxRetries: o.maxRetries,
      retryExceptions: o.retryExceptions, owner: this.address, envVars: o.envVars, maxCalls: o.maxCalls,
      strategy: o.strategy, attempt: 0,
    };
    this.templates.set(o, { fn: d.descriptor, spec });
    return spec;
  }
  private templates = new WeakMap<TaskOptions, { fn: unknown; spec: TaskSpec }>();

  /** The shared part of calls of one actor method (per handle descriptor, so it goes with the handle). */
  private actorTemplate(actorId: string, fn: FunctionDescriptorWire, method: string, numReturns: number, name: string): TaskSpec {
    let byMethod = this.actorTemplates.get(fn);
    if (!byMethod) this.actorTemplates.set(fn, (byMethod = new Map()));
    const key = `${method}\u0000${name}\u0000${numReturns}`;
    const jobId = this.currentJobId();
    const c = byMethod.get(key);
    if (c && c.actorId === actorId && c.jobId === jobId && c.owner === this.address) return c;
    const spec: TaskSpec = {
      taskId: "", jobId, kind: "actor_task", fn, name, method, actorId, args: NO_ARGS.specs,
      numReturns, resources: {}, maxRetries: 0, retryExceptions: false, owner: this.address, attempt: 0,
    };
    byMethod.set(key, spec);
    return spec;
  }
  private actorTemplates = new WeakMap<FunctionDescriptorWire, Map<string, TaskSpec>>();

  /** Declare a task's results (`ids`: theirs); `fresh`: the task id was just made here, so they cannot exist yet. */
  private expectReturns(spec: TaskSpec, fresh: boolean, ids: string[]): ObjectRef[] {
    if (spec.numReturns < 0) {
      this.streams.set(spec.taskId, { items: [], total: undefined, error: undefined, waiters: [] });
      return [];
    }
    const refs = new Array<ObjectRef>(ids.length);
    // A new task's return ids are new: no lookups before the inserts. (A remote client's chosen
    // id might be a resubmission: that one takes the careful path.)
    for (let i = 0; i < ids.length; i++) {
      if (fresh) {
        this.memory.expectNew(ids[i]!, 1); // counts the ref made next: one table entry, no lookup
        refs[i] = this.refs.firstOwnedRef(ids[i]!, true);
      } else {
        this.memory.expect(ids[i]!);
        refs[i] = this.refs.ownedRef(ids[i]!);
      }
    }
    return refs;
  }

  /** Results (or failures) of a task this process submitted. */
  private complete(spec: TaskSpec, returns: ReturnValue[]): void {
    this.taskEvents.completed(spec, returns);
    if (spec.numReturns < 0) {
      const st = this.streams.get(spec.taskId);
      if (!st) return;
      const r = returns[0];
      if (r?.err) st.error = r;
      st.total = r?.err ? st.items.length : (r?.size ?? st.items.length);
      for (const w of st.waiters.splice(0)) w();
      return;
    }
    for (const r of returns) {
      // Nobody holds a ref any more: drop the result right away.
      if (this.memory.put(r) === 0) this.refs.freeUnreferenced(r.id);
    }
  }

  private streamItem(taskId: string, ret: ReturnValue): void {
    const st = this.streams.get(taskId);
    if (!st) return;
    st.items.push(ret);
    this.memory.put(ret);
    for (const w of st.waiters.splice(0)) w();
  }

  /** Next item of a streaming generator task: a ref, or undefined at the end. */
  async nextStreamItem(taskId: string, index: number): Promise<ObjectRef | undefined> {
    const st = this.streams.get(taskId);
    if (!st) throw new RuntimeStateError(`unknown generator task ${taskId}`);
    for (;;) {
      const item = st.items[index];
      if (item) return this.ownedRef(item.id);
      if (st.error && index >= st.items.length) throw fromWire(st.error.err!);
      if (st.total !== undefined && index >= st.total) {
        if (index >= st.items.length) { this.streams.delete(taskId); return undefined; }
      }
      await new Promise<void>((r) => st.waiters.push(r));
    }
  }

  cancel(ref: ObjectRef, force: boolean): void {
    const taskId = ref.id.replace(/[rg]\d+$/, "");
    // Still resolving its arguments: drop it when they are ready.
    if (this.resolving.delete(taskId)) return;
    this.submitter.cancel(taskId, force);
  }

  // ---------- actors ----------

  createActor(d: Described, args: unknown[], o: ActorOptions): string {
    const actorId = o.actorId ?? randomId(12);
    const { specs, keep, pending } = this.buildArgs(args);
    const namespace = o.namespace ?? this.opts.namespace;
    const spec: TaskSpec = {
      taskId: `${actorId}c`, jobId: this.currentJobId(), kind: "actor_create", fn: d.descriptor as FunctionDescriptorWire,
      name: o.className, actorId, args: specs, numReturns: 0, resources: o.resources, maxRetries: 0,
      retryExceptions: false, owner: this.address, envVars: o.envVars, maxConcurrency: o.maxConcurrency,
      strategy: o.strategy, attempt: 0,
    };
    this.actors.track(actorId, o.maxTaskRetries);
    this.taskEvents.submitted(spec);
    const waits = d.uploaded ? [...pending, d.uploaded] : pending;
    const register = async (): Promise<void> => {
      await Promise.all(waits);
      void keep;
      await this.opts.gcs.request("gcs.CreateActor", {
        actorId, spec, className: o.className, name: o.name, namespace, detached: o.detached, maxRestarts: o.maxRestarts,
      });
    };
    register().catch((e: unknown) => {
      const err = e instanceof StingrayError ? e : new RuntimeStateError(String(e));
      this.actors.update({
        actorId, jobId: spec.jobId, className: o.className, name: o.name, namespace, state: "DEAD", numRestarts: 0,
        maxRestarts: o.maxRestarts, detached: o.detached, ownerId: this.opts.workerId, deathCause: toWire(err),
      });
    });
    return actorId;
  }

  submitActorTask(actorId: string, fn: FunctionDescriptorWire, method: string, args: unknown[],
    o: { numReturns: number; name: string; taskId?: string | undefined }): { refs: ObjectRef[]; taskId: string } {
    const taskId = o.taskId ?? uniqueId();
    const { specs, keep, pending } = this.buildArgs(args);
    const template = this.actorTemplate(actorId, fn, method, o.numReturns, o.name);
    const spec: TaskSpec = { ...template, taskId, args: specs };
    const returnIds = returnIdsOf(spec);
    const refs = this.expectReturns(spec, o.taskId === undefined, returnIds);
    const entry: TaskEntry = { spec, keepAlive: keep, template, returnIds: returnIds.length === 1 ? returnIds[0]! : returnIds };
    this.taskEvents.submitted(spec);
    const prev = this.actorChains.get(actorId);
    if (!prev && pending.length === 0) {
      this.actors.submit(entry);
    } else {
      const chain = (prev ?? Promise.resolve()).then(() => Promise.all(pending)).then(
        () => this.actors.submit(entry),
        (e: unknown) => this.complete(spec, returnIdsOf(spec).map((id) => ({ id, err: toWire(e) }))));
      this.actorChains.set(actorId, chain);
      void chain.finally(() => { if (this.actorChains.get(actorId) === chain) this.actorChains.delete(actorId); });
    }
    return { refs, taskId };
  }

  async getActorInfo(name: string, namespace: string | undefined): Promise<ActorInfo | undefined> {
    const { actor } = await this.opts.gcs.request("gcs.GetActor", { name, namespace: namespace ?? this.opts.namespace });
    return actor;
  }

  async killActor(actorId: string, noRestart: boolean): Promise<void> {
    await this.opts.gcs.request("gcs.KillActor", { actorId, noRestart });
  }

  // ---------- executing side ----------

  private async resolveArgs(spec: TaskSpec): Promise<unknown[]> {
    const out = new Array<unknown>(spec.args.length);
    const refIdx: number[] = [];
    spec.args.forEach((a, i) => {
      if (a.v) out[i] = decodeInline(a.v);
      else if (a.ref) refIdx.push(i);
      else out[i] = undefined;
    });
    if (refIdx.length) {
      const refs = refIdx.map((i) => { const r = spec.args[i]!.ref!; return new ObjectRef(r.id, r.owner); });
      const vals = await this.get(refs, undefined);
      refIdx.forEach((i, k) => { out[i] = vals[k]; });
    }
    return out;
  }

  // ---------- output ----------

  private printLogs(b: Req<"gcs.PublishLogs">): void {
    const prefix = `(pid=${b.pid}, ip=${b.ip})`;
    const out = b.stream === "err" ? process.stderr : process.stdout;
    out.write(b.lines.map((l) => `${prefix} ${l}\n`).join(""));
  }

  warn(message: string, publish = true): void {
    if (this.opts.mode === "driver" || !publish) {
      process.stderr.write(`(stingray) warning: ${message}\n`);
    } else {
      this.opts.gcs.request("gcs.PublishWarning", { jobId: this.currentJobId(), message }).catch(() => {});
    }
  }

  async nodeRaylet(nodeId: string): Promise<Address | undefined> {
    if (!this.nodeRaylets.has(nodeId)) {
      const { nodes } = await this.opts.gcs.request("gcs.GetAllNodes", {});
      for (const n of nodes) this.nodeRaylets.set(n.nodeId, { nodeId: n.nodeId, host: n.ip, port: n.port, workerId: "raylet" });
    }
    return this.nodeRaylets.get(nodeId);
  }

  /** Send this process's application metrics to its raylet (when anything was recorded since the last time). */
  private reportUserMetrics(): void {
    const metrics = userMetrics.snapshot();
    if (metrics && !this.opts.raylet.closed) this.opts.raylet.notify("raylet.ReportMetrics", { workerId: this.opts.workerId, metrics });
  }

  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.taskEvents.stop();
    this.taskEvents.flushAll();
    clearInterval(this.metricsTimer);
    this.reportUserMetrics();
    this.flushFrees();
    this.submitter.shutdown();
    for (const p of this.peers.values()) p.then((c) => c.close(), () => {});
    await this.rpc?.close();
  }
}
