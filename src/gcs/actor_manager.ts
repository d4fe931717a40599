/**
 * @module gcs/actor_manager
 * Actor lifecycle, as in Ray's GcsActorManager: register (names are unique per namespace), schedule
 * (lease a worker from a raylet that fits the actor's resources and push the creation task to it),
 * then ALIVE with the worker's address, published to every subscriber. When the actor's worker or
 * node dies it restarts up to `maxRestarts` times (-1: forever), else it is DEAD with a cause.
 * Non-detached actors die with their job. The manager talks to raylets and workers only through
 * the `ActorClusterClient` interface, so its policy is unit-tested without processes.
 */
import type { ActorInfo, Address, Resources, TaskSpec } from "../protocol/messages.ts";
import type { WireError } from "../common/errors.ts";
import type { Logger } from "../common/log.ts";
import { ActorDiedError, NameError, toWire } from "../common/errors.ts";
import type { GcsStorage } from "./storage.ts";
import { formatResources } from "../common/resources.ts";

export interface LeaseGrant { nodeId: string; leaseId: string; worker: Address; gpuIds?: number[] | undefined; pid?: number | undefined }

export interface ActorClusterClient {
  /** Lease a worker for the actor somewhere in the cluster; resolves undefined if infeasible now. */
  lease(actorId: string, jobId: string, resources: Resources, spec: TaskSpec): Promise<LeaseGrant | { infeasible: string }>;
  /** Run the creation task on the leased worker; resolves the task's error, if any. */
  create(worker: Address, spec: TaskSpec): Promise<WireError | undefined>;
  /** Stop the actor's worker process. */
  kill(nodeId: string, workerId: string, reason: string): void;
  publish(info: ActorInfo): void;
  warn(jobId: string, message: string): void;
}

interface ActorRecord {
  info: ActorInfo;
  spec: TaskSpec;
  nodeId?: string;
  workerId?: string;
  /** Bumped on every (re)scheduling so stale completions are ignored. */
  generation: number;
  infeasibleWarned?: boolean;
}

export class ActorManager {
  private actors = new Map<string, ActorRecord>();
  private names = new Map<string, string>(); // "ns/name" -> actorId
  private waitingForNodes = new Set<string>();
  private client: ActorClusterClient;
  private storage: GcsStorage;
  private log: Logger;

  constructor(client: ActorClusterClient, storage: GcsStorage, log: Logger) {
    this.client = client;
    this.storage = storage;
    this.log = log;
  }

  register(req: { actorId: string; spec: TaskSpec; className: string; name?: string | undefined;
    namespace: string; detached: boolean; maxRestarts: number; ownerId: string }): ActorInfo {
    if (req.name) {
      const existing = this.names.get(`${req.namespace}/${req.name}`);
      if (existing && this.actors.get(existing)?.info.state !== "DEAD") {
        throw new NameError(`an actor named "${req.name}" already exists in namespace "${req.namespace}"; ` +
          "pick another name, or get the existing one with getActor(name)");
      }
      this.names.set(`${req.namespace}/${req.name}`, req.actorId);
    }
    const info: ActorInfo = {
      actorId: req.actorId, jobId: req.spec.jobId, className: req.className, name: req.name,
      namespace: req.namespace, state: "PENDING", numRestarts: 0, maxRestarts: req.maxRestarts,
      detached: req.detached, ownerId: req.ownerId,
    };
    const rec: ActorRecord = { info, spec: req.spec, generation: 0 };
    this.actors.set(req.actorId, rec);
    this.save(rec);
    void this.schedule(rec);
    return info;
  }

  get(actorId: string): ActorInfo | undefined { return this.actors.get(actorId)?.info; }

  getByName(name: string, namespace: string): ActorInfo | undefined {
    const id = this.names.get(`${namespace}/${name}`);
    const info = id ? this.actors.get(id)?.info : undefined;
    return info && info.state !== "DEAD" ? info : undefined;
  }

  list(): ActorInfo[] { return [...this.actors.values()].map((r) => r.info); }

  /** Resources of actors waiting for a node that can hold them (demand the autoscaler can act on). */
  pendingShapes(): Array<Record<string, number>> {
    const out: Array<Record<string, number>> = [];
    for (const id of this.waitingForNodes) {
      const r = this.actors.get(id);
      if (r && r.info.state !== "DEAD" && r.info.state !== "ALIVE" && Object.keys(r.spec.resources).length) out.push(r.spec.resources);
    }
    return out;
  }

  private save(rec: ActorRecord): void {
    this.storage.put("actors", rec.info.actorId, rec.info);
    this.client.publish(rec.info);
  }

  private async schedule(rec: ActorRecord): Promise<void> {
    const gen = ++rec.generation;
    const spec = { ...rec.spec, attempt: rec.info.numRestarts };
    let grant: LeaseGrant | { infeasible: string };
    try {
      grant = await this.client.lease(rec.info.actorId, rec.info.jobId, spec.resources, spec);
    } catch (e) {
      grant = { infeasible: (e as Error).message };
    }
    if (gen !== rec.generation || rec.info.state === "DEAD") {
      if ("leaseId" in grant) this.client.kill(grant.nodeId, grant.worker.workerId, "actor no longer needed");
      return;
    }
    if (!("leaseId" in grant)) {
      if (!rec.infeasibleWarned) {
        rec.infeasibleWarned = true;
        this.client.warn(rec.info.jobId, `actor ${rec.info.className} (${rec.info.actorId}) cannot be scheduled: ` +
          `it needs {${formatResources(spec.resources)}} and ${grant.infeasible}. ` +
          "It stays pending until a node that can hold it joins the cluster.");
      }
      this.waitingForNodes.add(rec.info.actorId);
      return;
    }
    rec.nodeId = grant.nodeId;
    rec.workerId = grant.worker.workerId;
    let err: WireError | undefined;
    try {
      err = await this.client.create(grant.worker, grant.gpuIds?.length ? { ...spec, gpuIds: grant.gpuIds } : spec);
    } catch (e) {
      // The worker died during creation; the worker-death report drives the restart.
      this.log.warn(`actor ${rec.info.actorId} creation interrupted: ${(e as Error).message}`);
      return;
    }
    if (gen !== rec.generation || (rec.info.state as string) === "DEAD") return;
    if (err) {
      rec.info.state = "DEAD";
      rec.info.deathCause = err;
      this.client.kill(grant.nodeId, grant.worker.workerId, "actor constructor failed");
      this.save(rec);
      return;
    }
    rec.info.state = "ALIVE";
    rec.info.address = grant.worker;
    rec.info.pid = grant.pid;
    this.save(rec);
  }

  /** A worker died (crash, kill, node death). Restart or bury the actor it hosted. */
  onWorkerDead(workerId: string, reason: string): void {
    for (const rec of this.actors.values()) {
      if (rec.workerId !== workerId || rec.info.state === "DEAD") continue;
      this.restartOrBury(rec, reason);
    }
  }

  onNodeDead(nodeId: string): void {
    for (const rec of this.actors.values()) {
      if (rec.nodeId === nodeId && rec.info.state !== "DEAD") this.restartOrBury(rec, `its node ${nodeId} died`);
    }
  }

  /** A node joined or resources freed: retry actors that could not be placed. */
  retryPending(): void {
    const ids = [...this.waitingForNodes];
    this.waitingForNodes.clear();
    for (const id of ids) {
      const rec = this.actors.get(id);
      if (rec && (rec.info.state === "PENDING" || rec.info.state === "RESTARTING")) void this.schedule(rec);
    }
  }

  private restartOrBury(rec: ActorRecord, reason: string): void {
    const { maxRestarts, numRestarts } = rec.info;
    rec.workerId = undefined;
    rec.info.address = undefined;
    if (maxRestarts === -1 || numRestarts < maxRestarts) {
      rec.info.state = "RESTARTING";
      rec.info.numRestarts++;
      this.log.info(`restarting actor ${rec.info.actorId} (${rec.info.numRestarts}/${maxRestarts}): ${reason}`);
      this.save(rec);
      void this.schedule(rec);
    } else {
      this.bury(rec, `the actor's worker died: ${reason}` +
        (maxRestarts > 0 ? ` (restarted ${numRestarts} times, maxRestarts=${maxRestarts})` : ""));
    }
  }

  private bury(rec: ActorRecord, reason: string): void {
    rec.generation++;
    rec.info.state = "DEAD";
    rec.info.address = undefined;
    rec.info.deathCause = toWire(new ActorDiedError(`actor ${rec.info.className} (${rec.info.actorId}) is dead: ${reason}`));
    this.waitingForNodes.delete(rec.info.actorId);
    this.save(rec);
  }

  kill(actorId: string, noRestart: boolean): void {
    const rec = this.actors.get(actorId);
    if (!rec || rec.info.state === "DEAD") return;
    const { nodeId, workerId } = rec;
    if (noRestart) {
      this.bury(rec, "it was killed with kill()");
      if (nodeId && workerId) this.client.kill(nodeId, workerId, "actor killed");
    } else if (nodeId && workerId) {
      this.client.kill(nodeId, workerId, "actor killed (will restart)");
    }
  }

  /** The job ended: its non-detached actors die with it. */
  onJobFinished(jobId: string): void {
    for (const rec of this.actors.values()) {
      if (rec.info.jobId !== jobId || rec.info.detached || rec.info.state === "DEAD") continue;
      const { nodeId, workerId } = rec;
      this.bury(rec, "its owner (the driver of its job) exited");
      if (nodeId && workerId) this.client.kill(nodeId, workerId, "owner exited");
    }
  }
}
