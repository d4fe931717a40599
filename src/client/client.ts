/**
 * @module client/client
 * The remote client runtime: `init({ address: "stingray://HEAD:10001" })` on a machine that runs
 * no node (a laptop). It implements the same `Runtime` the public API uses, by asking a proxy
 * driver on the head (started for this client by the client server) to do the work. Code ships
 * as usual (described here, uploaded through the proxy), task and actor ids are chosen here so
 * `.remote()` stays synchronous, values cross inline when small and in chunks when large, and
 * refs are released to the proxy when they are garbage-collected here.
 */
import { Packr } from "msgpackr";
import { connect, type Connection } from "../protocol/connection.ts";
import type { ActorInfo, Address, FunctionDescriptorWire, NodeInfo } from "../protocol/messages.ts";
import type { ActorOptions, Runtime, RuntimeInfo, TaskOptions } from "../worker/runtime.ts";
import type { Described } from "../worker/function_manager.ts";
import { describeRemote } from "../worker/code/index.ts";
import { ObjectRef } from "../worker/object_ref.ts";
import { decodeStore, encodeInline, setRefHooks } from "../worker/serialization.ts";
import { randomId, uniqueId } from "../common/ids.ts";
import { ValueError } from "../common/errors.ts";
import { CHUNK, INLINE_LIMIT, LaidOut, ownBuffer } from "./transfer.ts";
import "../worker/handles.ts"; // actor handles must decode here too

const codec = new Packr({ useRecords: false });

export class ClientRuntime implements Runtime {
  readonly info: RuntimeInfo;
  private conn: Connection;
  private proxy: Address;
  private uploaded = new Set<string>();
  /** Submissions go out in call order, each after the code it needs has been uploaded. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Submissions the proxy refused: their returns fail with this error. */
  private failed = new Map<string, Error>();
  private toRelease: string[] = [];
  private releaseTimer: NodeJS.Timeout | undefined;
  private registry = new FinalizationRegistry<string>((id) => this.release(id));

  private constructor(conn: Connection, info: RuntimeInfo, proxy: Address) {
    this.conn = conn;
    this.info = info;
    this.proxy = proxy;
    setRefHooks({
      onSerialize: () => {},
      make: (id, owner) => (owner.workerId === this.proxy.workerId ? this.ref(id) : new ObjectRef(id, owner)),
    });
  }

  static async connect(host: string, port: number, token: string, namespace: string,
    envVars: Record<string, string> | undefined): Promise<ClientRuntime> {
    const conn = await connect({ host, port, token, role: "client", id: randomId(8), retryMs: 2000 });
    const r = await conn.request("client.Connect", { namespace, envVars });
    return new ClientRuntime(conn, { jobId: r.jobId, nodeId: r.nodeId, nodeIp: r.nodeIp, workerId: r.proxy.workerId,
      namespace: r.namespace, mode: "client" }, r.proxy);
  }

  close(): void {
    this.flushReleases();
    this.conn.close();
  }

  private ref<T>(id: string): ObjectRef<T> {
    const r = new ObjectRef<T>(id, this.proxy);
    this.registry.register(r, id);
    return r;
  }

  private release(id: string): void {
    this.toRelease.push(id);
    if (!this.releaseTimer) {
      this.releaseTimer = setTimeout(() => this.flushReleases(), 200);
      this.releaseTimer.unref();
    }
  }

  private flushReleases(): void {
    this.releaseTimer = undefined;
    const ids = this.toRelease;
    this.toRelease = [];
    if (ids.length && !this.conn.closed) this.conn.request("client.Release", { ids }).catch(() => {});
  }

  /** Queue a submission behind earlier ones; failures mark the given return ids. */
  private submit(ids: string[], send: () => Promise<unknown>): void {
    this.chain = this.chain.then(send).catch((e: unknown) => {
      for (const id of ids) this.failed.set(id, e as Error);
    });
  }

  describe(target: Function, callerUrl: string | undefined): Described {
    const { descriptor, pkg } = describeRemote(target, callerUrl);
    if (!this.uploaded.has(pkg.hash)) {
      this.uploaded.add(pkg.hash);
      const bytes = codec.pack(pkg);
      this.submit([], () => this.conn.request("client.UploadCode", { hash: pkg.hash, pkg: bytes }));
    }
    return { descriptor, uploaded: undefined };
  }

  private returnRefs(taskId: string, numReturns: number): ObjectRef[] {
    if (numReturns < 0) return [];
    return Array.from({ length: numReturns }, (_, i) => this.ref(`${taskId}r${i}`));
  }

  submitTask(d: Described, args: unknown[], o: TaskOptions): { refs: ObjectRef[]; taskId: string } {
    const taskId = uniqueId();
    const a = encodeInline(args).body;
    const refs = this.returnRefs(taskId, o.numReturns);
    const options = { ...o } as unknown as Record<string, unknown>;
    this.submit(refs.map((r) => r.id), () => this.conn.request("client.SubmitTask",
      { taskId, fn: d.descriptor as FunctionDescriptorWire, args: a, options }));
    return { refs, taskId };
  }

  createActor(d: Described, args: unknown[], o: ActorOptions): string {
    const actorId = randomId(12);
    const a = encodeInline(args).body;
    const options = { ...o } as unknown as Record<string, unknown>;
    this.submit([], () => this.conn.request("client.CreateActor", { actorId, fn: d.descriptor as FunctionDescriptorWire, args: a, options }));
    return actorId;
  }

  submitActorTask(actorId: string, fn: FunctionDescriptorWire, method: string, args: unknown[],
    o: { numReturns: number; name: string }): { refs: ObjectRef[]; taskId: string } {
    const taskId = uniqueId();
    const a = encodeInline(args).body;
    const refs = this.returnRefs(taskId, o.numReturns);
    this.submit(refs.map((r) => r.id), () => this.conn.request("client.SubmitActorTask",
      { taskId, actorId, fn, method, args: a, numReturns: o.numReturns, name: o.name }));
    return { refs, taskId };
  }

  trackActor(): void {}
  hostedActorId(): string | undefined { return undefined; }

  async nextStreamItem(taskId: string, index: number): Promise<ObjectRef | undefined> {
    await this.chain;
    const { id } = await this.conn.request("client.NextStreamItem", { taskId, index });
    return id ? this.ref(id) : undefined;
  }

  async getOne(ref: ObjectRef, timeoutMs: number | undefined): Promise<unknown> {
    return (await this.get([ref], timeoutMs))[0];
  }

  async get(refs: ObjectRef[], timeoutMs: number | undefined): Promise<unknown[]> {
    await this.chain;
    for (const r of refs) {
      const e = this.failed.get(r.id);
      if (e) throw e;
    }
    const { values } = await this.conn.request("client.Get", { ids: refs.map((r) => r.id), timeoutMs });
    return Promise.all(values.map(async (v) => {
      if (v.inline) return decodeStore(ownBuffer(v.inline));
      const handle = v.handle!;
      const buf = new Uint8Array(v.size);
      const offsets: number[] = [];
      for (let off = 0; off < v.size; off += CHUNK) offsets.push(off);
      await Promise.all(Array.from({ length: 4 }, async () => {
        for (let off = offsets.shift(); off !== undefined; off = offsets.shift()) {
          const { data } = await this.conn.request("client.ReadChunk", { handle, offset: off, length: CHUNK });
          buf.set(data, off);
        }
      }));
      this.conn.request("client.ReleaseHandle", { handle }).catch(() => {});
      return decodeStore(buf.buffer);
    }));
  }

  async put<T>(value: T): Promise<ObjectRef<T>> {
    if (value instanceof ObjectRef) throw new ValueError("put() of an ObjectRef is not allowed: pass the ref directly");
    const l = LaidOut.of(value);
    await this.chain;
    if (l.size <= INLINE_LIMIT) return this.ref<T>((await this.conn.request("client.Put", { data: l.all() })).id);
    const { handle } = await this.conn.request("client.PutBegin", { size: l.size });
    for (let off = 0; off < l.size; off += CHUNK) {
      await this.conn.request("client.PutChunk", { handle, offset: off, data: l.read(off, CHUNK) });
    }
    return this.ref<T>((await this.conn.request("client.PutEnd", { handle })).id);
  }

  async wait(refs: ObjectRef[], numReturns: number, timeoutMs: number | undefined): Promise<[ObjectRef[], ObjectRef[]]> {
    if (numReturns > refs.length) throw new ValueError(`wait(): numReturns (${numReturns}) is larger than the number of refs (${refs.length})`);
    await this.chain;
    const { ready } = await this.conn.request("client.Wait", { ids: refs.map((r) => r.id), numReturns, timeoutMs });
    const set = new Set(ready);
    return [refs.filter((r) => set.has(r.id)), refs.filter((r) => !set.has(r.id))];
  }

  cancel(ref: ObjectRef, force: boolean): void {
    this.submit([], () => this.conn.request("client.Cancel", { id: ref.id, force }));
  }

  async killActor(actorId: string, noRestart: boolean): Promise<void> {
    await this.chain;
    await this.conn.request("client.KillActor", { actorId, noRestart });
  }

  async getActorInfo(name: string, namespace: string | undefined): Promise<ActorInfo | undefined> {
    return (await this.conn.request("client.GetActor", { name, namespace })).actor;
  }

  async nodes(): Promise<NodeInfo[]> {
    return (await this.conn.request("client.Nodes", {})).nodes;
  }

  async requestResources(bundles: Array<Record<string, number>>): Promise<void> {
    await this.conn.request("client.RequestResources", { bundles });
  }
}
