/**
 * @module gcs/server
 * The GCS process's service: wires storage, node table, actor manager, job table, internal KV and
 * pub/sub to the RPC methods `gcs.*`. Raylets, drivers and workers connect here with the cluster
 * token; the GCS in turn calls raylets (leases for actors, kills) over the connections they opened,
 * and workers (actor creation) over connections it opens.
 */
import { listen, connect, serve, RpcStats, type Connection, type Handlers, type RpcServer, type TlsOptions } from "../protocol/connection.ts";
import type { ActorInfo, Address, JobInfo, TaskSpec } from "../protocol/messages.ts";
import { ActorManager, type ActorClusterClient, type LeaseGrant } from "./actor_manager.ts";
import { NodeManager } from "./node_manager.ts";
import { PubSub } from "./pubsub.ts";
import { TaskEventStore } from "./task_manager.ts";
import { writeServiceDiscovery } from "./service_discovery.ts";
import { config } from "../common/config.ts";
import type { GcsStorage } from "./storage.ts";
import { logger } from "../common/log.ts";
import { randomId } from "../common/ids.ts";
import { NodeDiedError } from "../common/errors.ts";
import { formatResources } from "../common/resources.ts";

const log = logger("gcs");

export interface GcsOptions {
  host: string;
  port: number;
  token: string;
  storage: GcsStorage;
  tls?: TlsOptions;
  /** Keep Prometheus's file service discovery here (the head's session directory). */
  serviceDiscoveryFile?: string | undefined;
}


export class GcsServer {
  readonly clusterId = randomId(8);
  readonly pubsub = new PubSub();
  readonly nodes: NodeManager;
  readonly actors: ActorManager;
  readonly tasks = new TaskEventStore(config("task_events_max_tasks_in_gcs"));
  readonly rpcStats = new RpcStats();
  private jobs = new Map<string, JobInfo>();
  private nextJob = 1;
  private workerConns = new Map<string, Promise<Connection>>();
  private rpc: RpcServer | undefined;
  private opts: GcsOptions;

  constructor(opts: GcsOptions) {
    this.opts = opts;
    this.nodes = new NodeManager(opts.storage, this.pubsub, log);
    this.actors = new ActorManager(this.clusterClient(), opts.storage, log);
    this.nodes.onNodeDead.push((id) => this.actors.onNodeDead(id));
    this.nodes.onNodeDead.push(() => this.updateServiceDiscovery());
    for (const [k, v] of opts.storage.list("jobs")) {
      const j = v as JobInfo;
      this.jobs.set(k, j);
      this.nextJob = Math.max(this.nextJob, parseInt(k, 16) + 1);
    }
  }

  get port(): number { return this.rpc?.port ?? 0; }

  async start(): Promise<void> {
    this.rpc = await listen({
      host: this.opts.host, port: this.opts.port, token: this.opts.token, tls: this.opts.tls,
      onConnection: (conn) => this.accept(conn),
      onAuthFailure: (remote, reason) => log.warn(`rejected connection from ${remote}: ${reason}`),
    });
    this.nodes.startHealthChecks();
    log.info(`GCS listening on ${this.opts.host}:${this.rpc.port}`);
  }

  async stop(): Promise<void> {
    this.nodes.stop();
    for (const p of this.workerConns.values()) p.then((c) => c.close(), () => {});
    await this.rpc?.close();
    this.opts.storage.close();
  }

  private accept(conn: Connection): void {
    conn.onRequest = serve(this.handlers, "the GCS", this.rpcStats);
    conn.onNotify = (method, payload) => { void conn.onRequest(method, payload, conn); };
    conn.on("handlerError", (e: Error) => log.error(`handler error: ${e.stack ?? e.message}`));
  }

  private readonly handlers: Handlers = {
    "gcs.RegisterNode": ({ node }, conn) => {
      if (this.nodes.nodes.get(node.nodeId)?.info.state === "DEAD") {
        // Its tasks were retried and its actors restarted elsewhere; letting it back would leave
        // duplicates. As in Ray, a dead node id stays dead: the node must restart.
        throw new NodeDiedError(`node ${node.nodeId} (${node.ip}) was marked dead ` +
          `(${this.nodes.nodes.get(node.nodeId)?.info.deathReason ?? "unknown reason"}); restart it with \`stingray start\``);
      }
      this.nodes.register(node, conn);
      this.actors.retryPending();
      this.updateServiceDiscovery();
      return { clusterId: this.clusterId };
    },
    "gcs.UnregisterNode": ({ nodeId, reason }) => { this.nodes.markDead(nodeId, reason); return {}; },
    "gcs.GetAllNodes": () => ({ nodes: [...this.nodes.nodes.values()].map((n) => n.info) }),
    "gcs.ReportResources": ({ nodeId, available, total, pending, infeasible }) => {
      this.nodes.report(nodeId, available, total, pending, infeasible);
      return {};
    },
    "gcs.RegisterJob": ({ namespace, driverPid, driverIp, entrypoint, submissionId }, conn) => {
      const jobId = (this.nextJob++).toString(16).padStart(8, "0");
      const job: JobInfo = { jobId, namespace, driverPid, driverIp, entrypoint, startTime: Date.now(), state: "RUNNING", submissionId };
      this.jobs.set(jobId, job);
      this.opts.storage.put("jobs", jobId, job);
      conn.once("close", () => this.finishJob(jobId));
      return { jobId };
    },
    "gcs.FinishJob": ({ jobId }) => { this.finishJob(jobId); return {}; },
    "gcs.GetAllJobs": () => ({ jobs: [...this.jobs.values()] }),
    "gcs.GetClusterStatus": () => {
      const demands = new Map<string, { shape: Record<string, number>; count: number; infeasible: boolean }>();
      for (const n of this.nodes.alive()) {
        for (const [list, infeasible] of [[n.pending, false], [n.infeasible, true]] as const) {
          for (const shape of list) {
            const k = `${infeasible}|${JSON.stringify(Object.entries(shape).sort())}`;
            const d = demands.get(k);
            if (d) d.count++; else demands.set(k, { shape, count: 1, infeasible });
          }
        }
      }
      // Actors no alive node can hold right now: the GCS places them itself, so no raylet queues them.
      for (const shape of this.actors.pendingShapes()) {
        const k = `true|${JSON.stringify(Object.entries(shape).sort())}`;
        const d = demands.get(k);
        if (d) d.count++; else demands.set(k, { shape, count: 1, infeasible: true });
      }
      return { nodes: [...this.nodes.nodes.values()].map((n) => n.info), demands: [...demands.values()] };
    },
    "gcs.KvPut": ({ ns, key, value, overwrite }) => {
      const k = `${ns}\u0000${key}`;
      if (!overwrite && this.opts.storage.get("kv", k) !== undefined) return { added: false };
      this.opts.storage.put("kv", k, value);
      return { added: true };
    },
    "gcs.KvGet": ({ ns, key }) => ({ value: this.opts.storage.get("kv", `${ns}\u0000${key}`) as Uint8Array | undefined }),
    "gcs.KvDel": ({ ns, key }) => ({ deleted: this.opts.storage.delete("kv", `${ns}\u0000${key}`) }),
    "gcs.KvExists": ({ ns, key }) => ({ exists: this.opts.storage.get("kv", `${ns}\u0000${key}`) !== undefined }),
    "gcs.KvKeys": ({ ns, prefix }) => {
      const p = `${ns}\u0000${prefix}`;
      return { keys: this.opts.storage.list("kv").map(([k]) => k).filter((k) => k.startsWith(p)).map((k) => k.slice(ns.length + 1)) };
    },
    "gcs.CreateActor": (req, conn) => ({
      actor: this.actors.register({ ...req, ownerId: conn.peer.id }),
    }),
    "gcs.GetActor": ({ actorId, name, namespace }) => ({
      actor: actorId ? this.actors.get(actorId) : name ? this.actors.getByName(name, namespace ?? "default") : undefined,
    }),
    "gcs.ListActors": () => ({ actors: this.actors.list() }),
    "gcs.KillActor": ({ actorId, noRestart }) => { this.actors.kill(actorId, noRestart); return {}; },
    "gcs.ReportWorkerDeath": ({ workerId, reason, nodeId, pid }) => {
      log.info(`worker ${workerId} (pid ${pid}) on node ${nodeId} died: ${reason}`);
      this.actors.onWorkerDead(workerId, reason);
      this.pubsub.publish("worker", workerId, { workerId, nodeId, reason });
      return {};
    },
    "gcs.Subscribe": ({ channel, key }, conn) => { this.pubsub.subscribe(conn, channel, key); return {}; },
    "gcs.PublishLogs": (batch) => { this.pubsub.publish("logs", batch.jobId, batch); return {}; },
    "gcs.PublishWarning": ({ jobId, message }) => { this.pubsub.publish("warning", jobId, { message }); return {}; },
    "gcs.AddTaskEvents": (batch) => { this.tasks.add(batch); return {}; },
    "gcs.GetTaskEvents": ({ jobId, taskId, limit, byFunction }) => ({
      ...this.tasks.query({ jobId, taskId, limit }), dropped: this.tasks.dropped, stateCounts: this.tasks.counts(), totals: this.tasks.totals(jobId),
      byFunction: byFunction ? this.tasks.countsByFunction() : undefined,
    }),
    "gcs.GetRpcStats": () => ({ methods: [...this.rpcStats.methods].map(([method, m]) => ({ method, ...m })) }),
    "gcs.Ping": () => ({ time: Date.now() }),
  };

  private updateServiceDiscovery(): void {
    const file = this.opts.serviceDiscoveryFile;
    if (!file) return;
    try {
      writeServiceDiscovery(file, [...this.nodes.nodes.values()].map((n) => n.info));
    } catch (e) {
      log.warn(`could not write ${file}: ${(e as Error).message}`);
    }
  }

  private finishJob(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (!job || job.state === "FINISHED") return;
    job.state = "FINISHED";
    job.endTime = Date.now();
    this.opts.storage.put("jobs", jobId, job);
    this.actors.onJobFinished(jobId);
    this.tasks.jobFinished(jobId, job.endTime);
    this.pubsub.publish("job", jobId, job);
    log.info(`job ${jobId} finished`);
  }

  private workerConn(addr: Address): Promise<Connection> {
    const key = `${addr.host}:${addr.port}`;
    let p = this.workerConns.get(key);
    if (!p) {
      p = connect({ host: addr.host, port: addr.port, token: this.opts.token, role: "gcs", id: "gcs" });
      this.workerConns.set(key, p);
      p.then((c) => c.once("close", () => this.workerConns.delete(key)), () => this.workerConns.delete(key));
    }
    return p;
  }

  private clusterClient(): ActorClusterClient {
    return {
      lease: async (actorId, jobId, resources, spec: TaskSpec): Promise<LeaseGrant | { infeasible: string }> => {
        const strat = spec.strategy;
        let node = this.nodes.pick(resources, strat?.type === "NODE_AFFINITY" ? strat.nodeId : undefined,
          strat?.soft ?? true, strat?.labels);
        for (let hop = 0; hop < 3; hop++) {
          if (!node?.conn) {
            const total = this.nodes.alive().map((n) => `${n.info.ip}: {${formatResources(n.info.resources)}}`).join("; ");
            return { infeasible: `no alive node has them${strat?.labels ? ` with labels ${JSON.stringify(strat.labels)}` : ""} (nodes: ${total || "none"})` };
          }
          // The GCS has chosen the node: the raylet must not spill the actor elsewhere.
          const reply = await node.conn.request("raylet.RequestWorkerLease", {
            jobId, resources, actorId, envHash: envHash(spec.envVars), envVars: spec.envVars,
            strategy: { type: "NODE_AFFINITY", nodeId: node.info.nodeId, soft: false, labels: strat?.labels },
            // Unless the user pinned it, a queued actor may move to a node that has room sooner
            // (one the autoscaler just added): the raylet then answers retryAt and we follow it.
            movable: strat?.type !== "NODE_AFFINITY",
          });
          if (reply.leaseId && reply.worker) return { nodeId: node.info.nodeId, leaseId: reply.leaseId, worker: reply.worker, gpuIds: reply.gpuIds, pid: reply.pid };
          if (reply.retryAt) {
            node = this.nodes.nodes.get(reply.retryAt.nodeId);
            continue;
          }
          return { infeasible: reply.infeasible ?? "the node refused the lease" };
        }
        return { infeasible: "lease kept being redirected" };
      },
      create: async (worker, spec) => {
        const conn = await this.workerConn(worker);
        const reply = await conn.request("worker.PushTask", { spec });
        return reply.returns[0]?.err;
      },
      kill: (nodeId, workerId, reason) => {
        const c = this.nodes.nodes.get(nodeId)?.conn;
        c?.request("raylet.KillWorker", { workerId, force: true, reason }).catch(() => {});
      },
      publish: (info: ActorInfo) => this.pubsub.publish("actor", info.actorId, info),
      warn: (jobId, message) => { log.warn(message); this.pubsub.publish("warning", jobId, { message }); },
    };
  }
}

export function envHash(envVars: Record<string, string> | undefined): string {
  if (!envVars || Object.keys(envVars).length === 0) return "";
  return JSON.stringify(Object.entries(envVars).sort());
}
