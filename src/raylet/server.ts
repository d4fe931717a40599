/**
 * @module raylet/server
 * The raylet: one per node. It registers the node with the GCS, grants worker leases (local
 * scheduler + worker pool), runs the node's object store, forwards worker output to drivers, and
 * reports resources and worker deaths to the GCS. Drivers and workers on the node connect to it;
 * the GCS calls it over the connection the raylet opened.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { listen, connect, localSocketName, serve, RpcStats, type Connection, type Handlers, type RpcServer } from "../protocol/connection.ts";
import type { Address, NodeInfo, Req, Res } from "../protocol/messages.ts";
import { LocalScheduler, type ClusterNodeView } from "./scheduler.ts";
import { WorkerPool, type SpawnedProcess, type WorkerHandle, type WorkerSpawner } from "./worker_pool.ts";
import { ObjectStore } from "../object_store/store.ts";
import { logger } from "../common/log.ts";
import { config } from "../common/config.ts";
import { ProtocolError, ConnectionError, NodeDiedError, ObjectLostError } from "../common/errors.ts";
import { uniqueId } from "../common/ids.ts";
import { fits, resourceKey } from "../common/resources.ts";
import { matchesLabels } from "../common/labels.ts";
import { NodeStatsSampler } from "./node_stats.ts";
import { readLogSlice } from "./logs.ts";
import { NodeMetricsExport } from "./metrics.ts";

const log = logger("raylet");
const WORKER_MAIN = fileURLToPath(new URL("../worker/main.ts", import.meta.url));

export interface RayletOptions {
  nodeId: string;
  nodeIp: string;
  host: string;          // bind address
  port: number;
  gcsHost: string;
  gcsPort: number;
  token: string;
  sessionDir: string;
  isHead: boolean;
  resources: Record<string, number>;
  labels: Record<string, string>;
  objectStoreMemory: number;
  objectStoreDir?: string;
  minWorkerPort?: number;
  maxWorkerPort?: number;
  /** Serve Prometheus metrics on this port (0: any free port); off when undefined. */
  metricsExportPort?: number | undefined;
  /** Serve metrics without the cluster token. */
  metricsAllowUnauthenticated?: boolean | undefined;
}

interface Lease {
  leaseId: string;
  worker: WorkerHandle;
  resources: Record<string, number>;
  gpuIds: number[];
  holder: Connection;
  actorId?: string | undefined;
}


export class Raylet {
  private opts: RayletOptions;
  private scheduler: LocalScheduler;
  private pool: WorkerPool;
  readonly store: ObjectStore;
  private leases = new Map<string, Lease>();
  private gcs!: Connection;
  private rpc: RpcServer | undefined;
  private cluster: ClusterNodeView[] = [];
  private jobsDone = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private nextReq = 1;
  private lastReport = "";
  /** Infeasible request shapes by key, with when they were last asked for (submitters retry every second). */
  /** Infeasible requests per shape and requester, with the requester's backlog (what the autoscaler must plan for). */
  private infeasible = new Map<string, { shape: Record<string, number>; seen: number; backlog: number }>();
  private requesterIds = new WeakMap<object, number>();
  private nextRequesterId = 0;
  private nextPort: number;
  private stopping = false;
  private sysStats: NodeStatsSampler;
  readonly rpcStats = new RpcStats();

  constructor(opts: RayletOptions) {
    this.opts = opts;
    this.nextPort = opts.minWorkerPort ?? 0;
    this.scheduler = new LocalScheduler(opts.resources);
    const cpus = Math.max(1, Math.floor(opts.resources.CPU ?? 1));
    const pre = config("num_prestart_workers");
    const maxStart = config("maximum_startup_concurrency");
    this.pool = new WorkerPool(this.spawner(), {
      prestart: pre < 0 ? cpus : pre,
      maxStarting: maxStart > 0 ? maxStart : Math.max(2, cpus),
    });
    this.pool.onWorkerExit = (w, reason) => this.workerExited(w, reason);
    const dir = opts.objectStoreDir || config("object_store_dir") ||
      (fs.existsSync("/dev/shm") ? `/dev/shm/stingray-${opts.nodeId}` : path.join(opts.sessionDir, "objects"));
    this.sysStats = new NodeStatsSampler(opts.sessionDir);
    this.store = new ObjectStore({
      dir, capacity: opts.objectStoreMemory,
      spillDir: config("object_spill_dir") || path.join(opts.sessionDir, "spill", opts.nodeId),
      recycleBytes: opts.objectStoreMemory * config("object_store_recycle_fraction"),
    });
  }

  get port(): number { return this.rpc?.port ?? 0; }
  get address(): Address { return { nodeId: this.opts.nodeId, host: this.opts.nodeIp, port: this.port, workerId: "raylet" }; }

  async start(): Promise<void> {
    this.rpc = await listen({
      host: this.opts.host, port: this.opts.port, token: this.opts.token,
      localName: localSocketName(this.opts.token, this.opts.nodeId, "raylet"),
      onConnection: (c) => this.accept(c),
      onAuthFailure: (remote, reason) => log.warn(`rejected connection from ${remote}: ${reason}`),
    });
    this.gcs = await connect({ host: this.opts.gcsHost, port: this.opts.gcsPort, token: this.opts.token,
      role: "raylet", id: this.opts.nodeId, retryMs: config("connect_timeout_ms") });
    this.accept(this.gcs);
    this.gcs.on("close", () => { void this.gcsLost(); });
    if (this.opts.metricsExportPort !== undefined) {
      this.metrics = new NodeMetricsExport({
        sessionName: path.basename(this.opts.sessionDir), nodeId: this.opts.nodeId, nodeIp: this.opts.nodeIp, isHead: this.opts.isHead,
        store: this.store, workers: () => this.pool.workers.values(), leases: () => this.leases.size,
        pendingLeases: () => this.scheduler.queued, infeasibleShapes: () => new Set([...this.infeasible.values()].map((v) => resourceKey(v.shape))).size,
        total: () => this.scheduler.total, available: () => this.scheduler.available, gcs: () => this.gcs, rpcStats: this.rpcStats,
      }, {
        host: this.opts.host, port: this.opts.metricsExportPort, token: this.opts.token,
        allowUnauthenticated: this.opts.metricsAllowUnauthenticated ?? false, sessionDir: this.opts.sessionDir,
      });
      await this.metrics.start();
    }
    const node: NodeInfo = {
      nodeId: this.opts.nodeId, ip: this.opts.nodeIp, hostname: os.hostname(), port: this.port, state: "ALIVE",
      resources: this.scheduler.total, available: { ...this.scheduler.available }, labels: this.opts.labels,
      isHead: this.opts.isHead, startTime: Date.now(), objectStoreDir: this.store.dir, sessionDir: this.opts.sessionDir,
      workerPorts: this.opts.minWorkerPort && this.opts.maxWorkerPort ? [this.opts.minWorkerPort, this.opts.maxWorkerPort] : undefined,
      metricsPort: this.metrics?.port,
    };
    this.nodeInfo = node;
    await this.gcs.request("gcs.RegisterNode", { node });
    await this.gcs.request("gcs.Subscribe", { channel: "job" });
    await this.gcs.request("gcs.Subscribe", { channel: "node" }); // see joins and deaths at once
    this.pool.prestartWorkers();
    this.timers.push(setInterval(() => this.report(), 250));
    this.timers.push(setInterval(() => { void this.refreshCluster(); }, 1000));
    this.timers.push(setInterval(() => this.pool.reap((j) => !this.jobsDone.has(j)), 1000));
    for (const t of this.timers) t.unref();
    await this.refreshCluster();
    log.info(`raylet ${this.opts.nodeId} listening on ${this.opts.host}:${this.port}, resources ${JSON.stringify(this.scheduler.total)}`);
  }

  private nodeInfo: NodeInfo | undefined;
  private metrics: NodeMetricsExport | undefined;

  /**
   * The GCS connection dropped (head restarting, network blip): keep retrying for
   * gcs_reconnect_timeout_ms, re-register under the same node id if it comes back, else exit.
   */
  private async gcsLost(): Promise<void> {
    if (this.stopping) return;
    const timeout = config("gcs_reconnect_timeout_ms");
    log.warn(`lost the connection to the GCS at ${this.opts.gcsHost}:${this.opts.gcsPort}; retrying for ${timeout / 1000}s`);
    try {
      const conn = await connect({ host: this.opts.gcsHost, port: this.opts.gcsPort, token: this.opts.token,
        role: "raylet", id: this.opts.nodeId, retryMs: timeout });
      this.gcs = conn;
      this.accept(conn);
      conn.on("close", () => { void this.gcsLost(); });
      await conn.request("gcs.RegisterNode", { node: { ...this.nodeInfo!, available: { ...this.scheduler.available } } });
      await conn.request("gcs.Subscribe", { channel: "job" });
      await conn.request("gcs.Subscribe", { channel: "node" });
      this.lastReport = "";
      log.info("reconnected to the GCS");
    } catch (e) {
      log.error(e instanceof NodeDiedError
        ? `the GCS refused this node: ${e.message}; shutting down`
        : `the GCS did not come back within ${timeout / 1000}s (${(e as Error).message}); shutting down this node`);
      await this.stop();
      process.exit(1);
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.pool.killAll();
    this.pool.cancelWaiters(new ConnectionError("the node is shutting down"));
    this.store.destroy();
    await this.metrics?.stop();
    this.gcs?.close();
    await this.rpc?.close();
  }

  private spawner(): WorkerSpawner {
    return {
      spawn: (workerId, envVars): SpawnedProcess => {
        const env: Record<string, string | undefined> = {
          ...process.env, ...envVars,
          STINGRAY_AUTH_TOKEN: this.opts.token,
          STINGRAY_WORKER_ID: workerId,
          STINGRAY_NODE_ID: this.opts.nodeId,
          STINGRAY_NODE_IP: this.opts.nodeIp,
          STINGRAY_RAYLET_HOST: this.opts.nodeIp === this.opts.host || this.opts.host === "0.0.0.0" ? this.opts.nodeIp : this.opts.host,
          STINGRAY_RAYLET_PORT: String(this.port),
          STINGRAY_SESSION_DIR: this.opts.sessionDir,
          STINGRAY_GCS_ADDRESS: `${this.opts.gcsHost}:${this.opts.gcsPort}`,
          STINGRAY_WORKER_PORT: String(this.allocWorkerPort()),
          STINGRAY_WORKER_PORT_RANGE: this.opts.minWorkerPort && this.opts.maxWorkerPort ? `${this.opts.minWorkerPort}-${this.opts.maxWorkerPort}` : "",
        };
        const child = spawn(process.execPath, [WORKER_MAIN], { env, stdio: ["ignore", "pipe", "pipe"] });
        const pid = child.pid ?? -1;
        this.captureOutput(workerId, pid, child.stdout, "out");
        this.captureOutput(workerId, pid, child.stderr, "err");
        child.on("error", (e) => log.error(`worker ${workerId} failed to spawn: ${e.message}`));
        return {
          pid,
          kill: (sig) => { try { child.kill(sig); } catch { /* gone */ } },
          onExit: (cb) => child.once("exit", cb),
        };
      },
    };
  }

  private allocWorkerPort(): number {
    const { minWorkerPort: lo, maxWorkerPort: hi } = this.opts;
    if (!lo || !hi) return 0;
    const used = new Set([...this.pool.workers.values()].map((w) => w.address?.port));
    for (let i = 0; i <= hi - lo; i++) {
      const p = this.nextPort;
      this.nextPort = p >= hi ? lo : p + 1;
      if (!used.has(p)) return p;
    }
    return lo;
  }

  private captureOutput(workerId: string, pid: number, stream: NodeJS.ReadableStream | null, kind: "out" | "err"): void {
    if (!stream) return;
    const file = fs.createWriteStream(path.join(this.opts.sessionDir, "logs", `worker-${workerId}-${pid}.${kind}`));
    let partial = "";
    let batch: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      timer = undefined;
      const w = this.pool.workers.get(workerId);
      const lines = batch;
      batch = [];
      if (!lines.length || !config("log_to_driver")) return;
      const jobId = w?.jobId ?? "";
      if (!jobId) return;
      this.gcs?.notify("gcs.PublishLogs", { jobId, pid, ip: this.opts.nodeIp, workerId, stream: kind, lines });
    };
    stream.on("data", (chunk: Buffer) => {
      file.write(chunk);
      const text = partial + chunk.toString("utf8");
      const parts = text.split("\n");
      partial = parts.pop() ?? "";
      batch.push(...parts);
      if (!timer) timer = setTimeout(flush, config("log_batch_ms"));
    });
    stream.on("end", () => {
      if (partial) batch.push(partial);
      partial = "";
      if (timer) clearTimeout(timer);
      flush();
      file.end();
    });
  }

  private accept(conn: Connection): void {
    conn.onRequest = serve(this.handlers, "the raylet", this.rpcStats);
    conn.onNotify = (method, payload) => {
      if (method === "gcs.Published") {
        const p = payload as Req<"gcs.Published">;
        if (p.channel === "node") { void this.refreshCluster(); return; }
        if (p.channel === "job" && (p.data as { state?: string }).state === "FINISHED") {
          this.jobsDone.add(p.key);
          this.pool.reap((j) => !this.jobsDone.has(j));
        }
        return;
      }
      try { void conn.onRequest(method, payload, conn); } catch { /* notification errors have nobody to answer */ }
    };
    conn.on("handlerError", (e: Error) => log.error(`handler error: ${e.stack ?? e.message}`));
    conn.once("close", () => this.peerClosed(conn));
  }

  /** A driver or worker connection closed: its leases and the objects it owned are gone. */
  private peerClosed(conn: Connection): void {
    if (conn.peer.role === "driver") this.metrics?.user.workerExited(conn.peer.id);
    if (this.stopping || conn === this.gcs) return;
    for (const lease of [...this.leases.values()]) {
      if (lease.holder === conn && !lease.actorId) {
        this.endLease(lease, "graceful", "its lease holder disconnected");
      }
    }
    const owner = conn.peer.id;
    if (conn.peer.role === "driver" || conn.peer.role === "worker") {
      const ids = this.freeObjects(this.store.freeOwnedBy(owner));
      if (ids.length) log.info(`freed ${ids.length} objects owned by ${conn.peer.role} ${owner}`);
    }
  }

  /**
   * Objects this node holds the primary copy of were freed: free the copies other nodes pulled
   * (they would otherwise stay until memory pressure evicts them).
   */
  private freeObjects(ids: string[]): string[] {
    const byNode = new Map<string, string[]>();
    for (const id of ids) {
      const nodes = this.copiesAt.get(id);
      if (!nodes) continue;
      this.copiesAt.delete(id);
      for (const n of nodes) {
        let l = byNode.get(n);
        if (!l) byNode.set(n, (l = []));
        l.push(id);
      }
    }
    for (const [nodeId, list] of byNode) {
      this.rayletConn(nodeId).then((c) => c.notify("raylet.ObjectFree", { ids: list }), () => { /* node gone: its copies went with it */ });
    }
    return ids;
  }
  /** Nodes that pulled a copy of an object from this node (recorded when they read its first chunk). */
  private copiesAt = new Map<string, Set<string>>();

  /** End a lease; `kill` stops its worker: at once ("force"), or asked to exit first ("graceful": it reports its last task events). */
  private endLease(lease: Lease, kill: boolean | "graceful", reason: string): void {
    if (!this.leases.delete(lease.leaseId)) return;
    this.scheduler.release(lease.resources, lease.gpuIds);
    if (kill) this.pool.kill(lease.worker, reason, kill !== "graceful");
    else this.pool.push(lease.worker);
  }

  private workerExited(w: WorkerHandle, reason: string): void {
    if (this.stopping) return;
    this.metrics?.user.workerExited(w.workerId);
    const lease = w.leaseId ? this.leases.get(w.leaseId) : undefined;
    if (lease) {
      this.leases.delete(lease.leaseId);
      this.scheduler.release(lease.resources, lease.gpuIds);
    }
    this.freeObjects(this.store.freeOwnedBy(w.workerId));
    if (w.address || lease) {
      this.gcs?.request("gcs.ReportWorkerDeath", {
        nodeId: this.opts.nodeId, workerId: w.workerId, pid: w.pid, actorId: lease?.actorId,
        reason, intentional: w.stopping !== undefined,
      }).catch(() => {});
    }
    if (!w.stopping) log.warn(`worker ${w.workerId} (pid ${w.pid}) died: ${reason}`);
  }

  private pulls = new Map<string, Promise<string>>();
  private rayletConns = new Map<string, Promise<Connection>>();

  private rayletConn(nodeId: string): Promise<Connection> {
    let p = this.rayletConns.get(nodeId);
    if (!p) {
      const addr = this.nodeAddrs.get(nodeId);
      if (!addr) return Promise.reject(new ObjectLostError(`node ${nodeId} is not in the cluster (it died or never joined)`));
      p = connect({ host: addr.host, port: addr.port, token: this.opts.token, role: "raylet", id: this.opts.nodeId });
      this.rayletConns.set(nodeId, p);
      p.then((c) => c.once("close", () => this.rayletConns.delete(nodeId)), () => this.rayletConns.delete(nodeId));
    }
    return p;
  }

  /**
   * Bring an object from another node into this node's store, in chunks written straight into
   * the local file (a large object is never whole in memory), several chunks in flight.
   * Concurrent pulls of one object share one transfer.
   */
  private pull(id: string, fromNode: string, owner: Address): Promise<string> {
    const local = this.store.get(id);
    if (local) return Promise.resolve(local);
    let p = this.pulls.get(id);
    if (!p) {
      p = this.transfer(id, fromNode, owner).finally(() => this.pulls.delete(id));
      this.pulls.set(id, p);
    }
    return p;
  }

  private async transfer(id: string, fromNode: string, owner: Address): Promise<string> {
    if (!this.nodeAddrs.has(fromNode)) await this.refreshCluster();
    const conn = await this.rayletConn(fromNode);
    const chunk = config("object_transfer_chunk_bytes");
    const first = await conn.request("raylet.ObjectRead", { id, offset: 0, length: chunk });
    const size = first.size;
    const path = this.store.create(id, size, owner.workerId, true, owner.host);
    // Not "w": the store may have handed us a recycled file whose pages should be reused, not truncated away.
    const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    try {
      fs.ftruncateSync(fd, size);
      fs.writeSync(fd, first.data, 0, first.data.length, 0);
      const offsets: number[] = [];
      for (let off = first.data.length; off < size; off += chunk) offsets.push(off);
      const workers = Array.from({ length: Math.max(1, config("object_transfer_inflight_chunks")) }, async () => {
        for (let off = offsets.shift(); off !== undefined; off = offsets.shift()) {
          const r = await conn.request("raylet.ObjectRead", { id, offset: off, length: chunk });
          if (r.data.length === 0) throw new ObjectLostError(`object ${id} shrank while it was being pulled from ${fromNode}`);
          fs.writeSync(fd, r.data, 0, r.data.length, off);
        }
      });
      await Promise.all(workers);
    } catch (e) {
      fs.closeSync(fd);
      this.store.free(id);
      throw e;
    }
    fs.closeSync(fd);
    this.store.seal(id);
    return path;
  }

  private async refreshCluster(): Promise<void> {
    try {
      const { nodes } = await this.gcs.request("gcs.GetAllNodes", {});
      // The view is this raylet's own copy: placement counts spills down in it until the next refresh.
      this.cluster = nodes.map((n) => ({ nodeId: n.nodeId, total: n.resources, available: { ...n.available }, alive: n.state === "ALIVE", labels: n.labels }));
      this.nodeAddrs = new Map(nodes.map((n) => [n.nodeId, { nodeId: n.nodeId, host: n.ip, port: n.port, workerId: "raylet" }]));
    } catch { /* GCS restarting; keep the old view */ }
    this.scheduler.rebalance(this.opts.nodeId, this.cluster);
  }
  private nodeAddrs = new Map<string, Address>();

  private report(): void {
    const available = { ...this.scheduler.available };
    const pending = this.scheduler.pendingShapes();
    const now = Date.now();
    for (const [k, v] of this.infeasible) if (now - v.seen > 5000) this.infeasible.delete(k);
    // One entry per queued task (bounded), so the GCS's counts are the demand's size.
    const infeasible = [...this.infeasible.values()].flatMap((v) => Array.from({ length: Math.min(v.backlog, 100) }, () => v.shape));
    const key = JSON.stringify([available, pending, infeasible]);
    if (key === this.lastReport) return;
    this.lastReport = key;
    this.gcs?.notify("gcs.ReportResources", { nodeId: this.opts.nodeId, available, total: this.scheduler.total,
      pending, infeasible });
  }

  private readonly handlers: Handlers = {
    "raylet.RegisterWorker": ({ workerId, pid, port }, conn) => {
      conn.peer = { role: "worker", id: workerId, pid };
      const address: Address = { nodeId: this.opts.nodeId, host: this.opts.nodeIp, port, workerId };
      const w = this.pool.registered(workerId, conn, address);
      if (!w) throw new ProtocolError(`unknown or duplicate worker ${workerId}`);
      return { nodeId: this.opts.nodeId, ip: this.opts.nodeIp, sessionDir: this.opts.sessionDir,
        gcsHost: this.opts.gcsHost, gcsPort: this.opts.gcsPort };
    },
    "raylet.RequestWorkerLease": (req, conn) => {
      const strat = req.strategy;
      if (strat?.type === "NODE_AFFINITY" && strat.nodeId && strat.nodeId !== this.opts.nodeId) {
        const target = this.nodeAddrs.get(strat.nodeId);
        const alive = this.cluster.find((n) => n.nodeId === strat.nodeId)?.alive;
        if (target && alive) return { retryAt: target };
        if (!strat.soft) return { infeasible: `node ${strat.nodeId} (hard node affinity) is not alive` };
      }
      // Hard affinity to this node (also how the GCS places actors it has chosen a node for):
      // wait here for room rather than spill elsewhere. A request another raylet spilled here is
      // queued here too rather than bounced on at once on this node's view, but stays movable:
      // if it cannot start here, a later rebalance may hand it to a node that has room.
      const affinityHere = strat?.type === "NODE_AFFINITY" && strat.nodeId === this.opts.nodeId && !strat.soft;
      const pinnedHere = affinityHere || ((req.hops ?? 0) > 0 && matchesLabels(this.opts.labels, strat?.labels));
      const placement = pinnedHere
        ? (fits(req.resources, this.scheduler.total) ? { kind: "local" as const }
          : { kind: "infeasible" as const, reason: `node ${this.opts.nodeId} (hard node affinity) does not have these resources` })
        : this.scheduler.place(req.resources, this.opts.nodeId, this.cluster, strat?.type === "SPREAD", strat?.labels, this.opts.labels);
      if (placement.kind === "spill") {
        const target = this.nodeAddrs.get(placement.nodeId);
        if (target) return { retryAt: target };
      }
      if (placement.kind === "infeasible") {
        let rid = this.requesterIds.get(conn);
        if (rid === undefined) this.requesterIds.set(conn, (rid = this.nextRequesterId++));
        this.infeasible.set(`${resourceKey(req.resources)}|${rid}`, { shape: req.resources, seen: Date.now(), backlog: Math.max(1, req.backlog ?? 1) });
        return { infeasible: placement.reason };
      }
      return new Promise<Res<"raylet.RequestWorkerLease">>((resolve, reject) => {
        const id = this.nextReq++;
        const onClose = (): void => { this.scheduler.cancel(id); };
        conn.once("close", onClose);
        const target = (nodeId: string): Address | undefined => this.nodeAddrs.get(nodeId);
        this.scheduler.enqueue({
          id, resources: req.resources, selector: strat?.labels,
          spill: strat?.type === "NODE_AFFINITY" && !req.movable ? undefined : (nodeId) => {
            const to = target(nodeId);
            conn.off("close", onClose);
            if (to) resolve({ retryAt: to }); else resolve({ infeasible: `node ${nodeId} vanished; retry` });
          },
          grant: (gpuIds) => {
            conn.off("close", onClose);
            if (conn.closed) { this.scheduler.release(req.resources, gpuIds); return; }
            this.pool.pop(req.jobId, req.envHash, req.envVars).then((worker) => {
              if (conn.closed) {
                this.scheduler.release(req.resources, gpuIds);
                this.pool.push(worker);
                return;
              }
              const leaseId = uniqueId();
              worker.leaseId = leaseId;
              worker.actorId = req.actorId;
              this.leases.set(leaseId, { leaseId, worker, resources: req.resources, gpuIds, holder: conn, actorId: req.actorId });
              resolve({ leaseId, worker: worker.address!, gpuIds, pid: worker.pid });
            }, (e: Error) => {
              this.scheduler.release(req.resources, gpuIds);
              reject(e);
            });
          },
        });
      });
    },
    "raylet.ReturnWorker": ({ leaseId, kill }) => {
      const lease = this.leases.get(leaseId);
      if (lease) this.endLease(lease, kill ?? false, "returned with kill");
      return {};
    },
    "raylet.CancelLeaseRequests": () => ({}),
    "raylet.KillWorker": ({ workerId, force, reason }) => {
      const w = this.pool.workers.get(workerId);
      if (w) this.pool.kill(w, reason, force);
      return {};
    },
    "raylet.ObjectCreate": ({ id, size, owner }) => ({ path: this.store.create(id, size, owner.workerId, false, owner.host) }),
    "raylet.ObjectSeal": ({ id }) => { this.store.seal(id); return {}; },
    "raylet.ObjectGet": ({ ids }) => ({ paths: ids.map((id) => this.store.get(id)) }),
    "raylet.ObjectFree": ({ ids }) => {
      for (const id of ids) this.store.free(id);
      this.freeObjects(ids);
      return {};
    },
    "raylet.ObjectPull": async ({ id, fromNode, owner }) => ({ path: await this.pull(id, fromNode, owner) }),
    "raylet.ObjectRead": ({ id, offset, length }, conn) => {
      const p = this.store.get(id, false); // read through a descriptor below, never mapped
      const size = this.store.sizeOf(id);
      if (!p || size === undefined) throw new ObjectLostError(`object ${id} is not on node ${this.opts.nodeId} any more`);
      if (offset === 0 && conn.peer.role === "raylet" && conn.peer.id !== this.opts.nodeId) {
        let nodes = this.copiesAt.get(id);
        if (!nodes) this.copiesAt.set(id, (nodes = new Set()));
        nodes.add(conn.peer.id);
      }
      const n = Math.max(0, Math.min(length, size - offset, config("object_transfer_chunk_bytes")));
      const data = Buffer.allocUnsafe(n);
      const fd = fs.openSync(p, "r");
      try {
        let got = 0;
        while (got < n) {
          const k = fs.readSync(fd, data, got, n - got, offset + got);
          if (k === 0) break;
          got += k;
        }
      } finally {
        fs.closeSync(fd);
      }
      return { data, size };
    },
    "raylet.GetStats": () => {
      const s = this.store.stats();
      const workers = [...this.pool.workers.values()];
      return {
        nodeId: this.opts.nodeId, workers: workers.length, idleWorkers: workers.filter((w) => w.state === "idle").length,
        leases: this.leases.size, pendingLeases: this.scheduler.queued, objects: s.objects, storeUsed: s.used,
        storeCapacity: s.capacity, spilledBytes: s.spilledBytes, spilledObjects: s.spilledObjects,
        restoredObjects: s.restoredObjects, available: this.scheduler.available, total: this.scheduler.total,
      };
    },
    "raylet.GetNodeStats": () => this.sysStats.sample(),
    "raylet.ListWorkers": () => ({
      workers: [...this.pool.workers.values()].map((w) => ({ workerId: w.workerId, pid: w.pid, state: w.state,
        jobId: w.jobId, actorId: w.actorId, startTime: w.startTime })),
    }),
    "raylet.ListObjects": ({ limit }) => this.store.list(limit),
    "raylet.ListLogs": () => {
      const dir = path.join(this.opts.sessionDir, "logs");
      const files = [];
      for (const name of fs.readdirSync(dir)) {
        try {
          const st = fs.statSync(path.join(dir, name));
          if (st.isFile()) files.push({ name, size: st.size, mtime: st.mtimeMs });
        } catch { /* removed meanwhile */ }
      }
      return { files };
    },
    "raylet.ReadLog": ({ name, offset, length, tailLines }) => readLogSlice(path.join(this.opts.sessionDir, "logs"), name, offset, length, tailLines),
    "raylet.ReportMetrics": ({ workerId, metrics }) => { this.metrics?.user.report(workerId, metrics); return {}; },
    "raylet.Ping": () => ({ time: Date.now() }),
    "raylet.Shutdown": ({ reason }) => {
      log.info(`shutdown requested: ${reason}`);
      setImmediate(() => { void this.stop().then(() => process.exit(0)); });
      return {};
    },
  };
}
