/**
 * @module autoscaler/autoscaler
 * The autoscaling control loop's one step, after Ray's `StandardAutoscaler._update`: list the
 * cluster's provider nodes, match them to the GCS's nodes, terminate workers that must go (setup
 * failed, lost contact, node type removed, over max_workers, idle, outdated), decide launches with
 * the resource demand scheduler, create nodes in the background, and set up new nodes.
 *
 * Everything with effects is injected (provider, updater, log, clock), so the decisions are tested
 * with an in-memory provider and a fake clock. `update()` never throws: a failing provider call is
 * logged and reported in the status, and the next update tries again. The head is never terminated.
 * The caller (the monitor) runs `update()` every `autoscaler_update_interval_s`.
 */
import { config as tunable } from "../common/config.ts";
import { formatResources, normalize, resourceKey, type ResourceSet } from "../common/resources.ts";
import type { NodeProvider, ProviderNode } from "../launcher/provider.ts";
import { NODE_KIND, NODE_STATUS, TAG, type ClusterConfig, type NodeKind, type Tags } from "../launcher/types.ts";
import {
  binPackResidual, getNodesToLaunch, resolveNodeTypeResources,
  type DemandShape, type NodeTypeSpec, type SchedulerNode,
} from "./resource_demand_scheduler.ts";

/** A node as the GCS knows it. */
export interface GcsNodeView {
  nodeId: string;
  ip: string;
  /** The provider's id of the machine, when its raylet was started with it (set by the updater). */
  instanceId?: string;
  isHead: boolean;
  alive: boolean;
  total: ResourceSet;
  available: ResourceSet;
}

/** What the monitor reads from the GCS before each update. */
export interface LoadSnapshot {
  nodes: GcsNodeView[];
  /** Queued lease requests, feasible or not. */
  demands: DemandShape[];
  /** `requestResources` bundles. */
  resourceRequests: ResourceSet[];
}

export interface AutoscalerOptions {
  /** Replaceable later with `setConfig`. */
  config: ClusterConfig;
  provider: NodeProvider;
  /** The TAG.launchConfig value a node of `nodeType` must carry to be current (given the current config). */
  launchHash: (nodeType: string, config: ClusterConfig) => string;
  /** Sets the node up; resolves when it is up to date, rejects when setup failed. */
  startUpdater: (node: ProviderNode, nodeType: string) => Promise<void>;
  /** One line per decision (monitor.log). */
  log: (line: string) => void;
  /** Milliseconds; Date.now by default. */
  now?: () => number;
  /** Defaults: the autoscaler_* tunables. */
  maxLaunchBatch?: number;
  maxConcurrentLaunches?: number;
  heartbeatTimeoutS?: number;
}

export interface ActiveNode { id: string; type: string; ip?: string; kind: NodeKind; gcsNodeId: string }
export interface IdleNode { id: string; type: string; ip?: string; idleSeconds: number }
/** A worker on its way: launching (no id yet), booting or being set up, or set up and waiting for its raylet. */
export interface PendingNode { id?: string; type: string; ip?: string; status: string }
export interface FailedLaunch { type: string; count: number; reason: string; time: number }
export interface Termination {
  id: string; type: string; ip?: string; reason: string; time: number;
  /** The node broke (setup failed, lost contact) rather than being scaled down: shown under failures. */
  failure: boolean;
}

/** The outcome of one update: JSON-serialisable, rendered by `stingray status` and written to monitor.log. */
export interface AutoscalerStatus {
  /** Milliseconds since the epoch. */
  time: number;
  clusterName: string;
  /** Nodes whose raylets are registered with the GCS (head included). */
  activeNodes: ActiveNode[];
  /** The active workers with nothing in use. */
  idleNodes: IdleNode[];
  pendingNodes: PendingNode[];
  /** Nodes per type this update asked for. */
  launched: Record<string, number>;
  failedLaunches: FailedLaunch[];
  recentTerminations: Termination[];
  /** Demand shapes no node type can ever hold. */
  infeasible: ResourceSet[];
  /** The queued demands of this update, as reported. */
  pendingDemands: DemandShape[];
  /** Feasible demands still unmet after the planned scale-up (max_workers reached). */
  unfulfilledDemands: DemandShape[];
  resourceRequests: ResourceSet[];
  /** Set when the update could not complete (e.g. the provider failed); the next one retries. */
  error?: string;
}

/** Entries kept in the status's failure and termination lists: the most recent, within an hour. */
const RECENT_LIMIT = 20;
const RECENT_WINDOW_MS = 60 * 60 * 1000;

/**
 * Resources whose availability does not tell whether a node is in use. object_store_memory: as in
 * Ray's raylet, the object store's use is judged apart from the scheduler's bookkeeping (an object
 * held by the store does not make a node busy for scale-down purposes here).
 */
const IDLE_IGNORED = new Set(["object_store_memory"]);

/** Nothing reserved on the node: every resource (but the ignored ones) fully available. */
export function isIdle(total: ResourceSet, available: ResourceSet): boolean {
  for (const [k, v] of Object.entries(total)) {
    if (IDLE_IGNORED.has(k) || !v) continue;
    if (Math.round((available[k] ?? 0) * 10_000) < Math.round(v * 10_000)) return false;
  }
  return true;
}

/** A provider node with what the autoscaler knows of it this update. */
interface NodeView {
  node: ProviderNode;
  kind: NodeKind;
  /** Undefined when untagged (a provider whose tagging is not atomic with creation). */
  type: string | undefined;
  status: string;
  gcs: GcsNodeView | undefined;
}

interface LaunchJob { type: string; count: number; nodeConfig: Record<string, unknown>; tags: Tags;
  resources: ResourceSet; labels: Record<string, string> }

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class StandardAutoscaler {
  private config: ClusterConfig;
  private readonly provider: NodeProvider;
  private readonly opts: AutoscalerOptions;
  private readonly now: () => number;

  /** Nodes per type asked of the provider and not yet created (queued or in flight). */
  private readonly pendingLaunches: Record<string, number> = {};
  private readonly launchQueue: LaunchJob[] = [];
  private readonly launches = new Set<Promise<void>>();
  private launchesInFlight = 0;

  private readonly updaters = new Map<string, Promise<void>>();
  /**
   * Nodes an updater was started for, until it succeeds: a node is not set up twice for the same
   * state (a failed one is terminated instead), but one marked uninitialized again after its
   * setup succeeded (its runtime config changed) is set up again.
   */
  private readonly updaterStarted = new Set<string>();
  private readonly updaterResults = new Map<string, { ok: true } | { ok: false; error: string }>();
  private readonly setUp = new Set<string>();

  /** Last time each registered worker had something in use (idle clock). */
  private readonly lastUsed = new Map<string, number>();
  /** Last time each worker was known healthy: registered, or just set up. */
  private readonly lastContact = new Map<string, number>();
  /** Terminated by us: not counted while the provider still lists them. */
  private readonly terminated = new Set<string>();

  private failedLaunches: FailedLaunch[] = [];
  private terminations: Termination[] = [];
  private lastStatus: AutoscalerStatus | undefined;
  private updating: Promise<AutoscalerStatus> | undefined;

  constructor(opts: AutoscalerOptions) {
    this.opts = opts;
    this.config = opts.config;
    this.provider = opts.provider;
    this.now = opts.now ?? Date.now;
  }

  /** Use a reloaded config from the next update on (nodes of removed types or old launch hashes are replaced). */
  setConfig(config: ClusterConfig): void {
    this.config = config;
  }

  /** Resolves when no launch or updater started by this autoscaler is still running (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.launches.size > 0 || this.updaters.size > 0) {
      await Promise.allSettled([...this.launches, ...this.updaters.values()]);
    }
  }

  /** One autoscaling step. Concurrent calls share the step in progress. */
  update(load: LoadSnapshot): Promise<AutoscalerStatus> {
    if (this.updating) return this.updating;
    const p = this.step(load).finally(() => { this.updating = undefined; });
    this.updating = p;
    return p;
  }

  private async step(load: LoadSnapshot): Promise<AutoscalerStatus> {
    const now = this.now();
    try {
      const status = await this.run(load, now);
      this.lastStatus = status;
      return status;
    } catch (e) {
      const error = errorText(e);
      this.opts.log(`autoscaler update failed (retried next update): ${error}`);
      return { ...(this.lastStatus ?? this.emptyStatus(load)), time: now, error,
        failedLaunches: this.recent(this.failedLaunches, now), recentTerminations: this.recent(this.terminations, now) };
    }
  }

  private async run(load: LoadSnapshot, now: number): Promise<AutoscalerStatus> {
    const cfg = this.config;
    const listed = await this.provider.nonTerminatedNodes({ [TAG.clusterName]: cfg.cluster_name });
    this.forgetGone(new Set(listed.map((n) => n.id)));
    const views = this.match(listed.filter((n) => !this.terminated.has(n.id)), load.nodes);
    const head = views.find((v) => v.kind === NODE_KIND.head);
    const workers = views.filter((v) => v.kind === NODE_KIND.worker);

    for (const w of workers) {
      if (w.gcs) {
        this.lastContact.set(w.node.id, now);
        if (!this.lastUsed.has(w.node.id) || !isIdle(w.gcs.total, w.gcs.available)) this.lastUsed.set(w.node.id, now);
      } else {
        this.lastUsed.delete(w.node.id); // idle time counts only while registered
      }
    }
    const setupFailed = new Map<string, string>();
    for (const [id, r] of this.updaterResults) {
      if (r.ok) { this.setUp.add(id); this.lastContact.set(id, now); this.updaterStarted.delete(id); } else setupFailed.set(id, r.error);
    }
    this.updaterResults.clear();

    const gone = await this.terminateWorkers(workers, head, load, setupFailed, now);
    const kept = workers.filter((w) => !gone.has(w.node.id));

    // Launch decisions.
    const nodeTypes: Record<string, NodeTypeSpec> = cfg.available_node_types;
    const schedNodes: SchedulerNode[] = [];
    if (head) schedNodes.push(this.schedNode(head, cfg.head_node_type));
    for (const w of kept) if (w.type) schedNodes.push(this.schedNode(w, w.type));
    for (const g of this.unmatchedGcs(views, load.nodes)) {
      schedNodes.push({ type: "", kind: "unmanaged", total: g.total, available: g.available });
    }
    const result = getNodesToLaunch({
      nodeTypes, headNodeType: cfg.head_node_type, maxWorkers: cfg.max_workers, upscalingSpeed: cfg.upscaling_speed,
      nodes: schedNodes, launching: { ...this.pendingLaunches }, demands: load.demands, resourceRequests: load.resourceRequests,
      fallbackResources: head?.gcs?.total,
      upscalingInitialNumNodes: tunable("autoscaler_upscaling_initial_num_nodes"),
      maxDemandVectorSize: tunable("autoscaler_max_resource_demand_vector_size"),
    });
    for (const shape of result.infeasible) {
      this.opts.log(`no node type can hold a demand for {${formatResources(shape)}}: add a node type with these resources`);
    }
    for (const [type, count] of Object.entries(result.toLaunch)) this.launch(type, count, load);

    // Setup of new nodes (and of nodes an earlier monitor left half set up).
    for (const w of kept) {
      if (!w.type || !(w.type in nodeTypes) || w.status === NODE_STATUS.upToDate || w.status === NODE_STATUS.updateFailed) continue;
      if (this.updaters.has(w.node.id) || this.updaterStarted.has(w.node.id) || !this.launchOk(w)) continue;
      this.startUpdater(w.node, w.type);
    }

    return this.buildStatus(now, views.filter((v) => !gone.has(v.node.id)), load, result.toLaunch, result.infeasible, result.unfulfilled);
  }

  private forgetNode(id: string): void {
    for (const m of [this.lastUsed, this.lastContact, this.updaterResults]) m.delete(id);
    for (const s of [this.terminated, this.setUp, this.updaterStarted]) s.delete(id);
  }

  /** Drop what is remembered about nodes the provider no longer lists. */
  private forgetGone(listed: Set<string>): void {
    for (const m of [this.lastUsed, this.lastContact]) for (const id of m.keys()) if (!listed.has(id)) m.delete(id);
    for (const s of [this.terminated, this.setUp, this.updaterStarted]) for (const id of s) if (!listed.has(id)) s.delete(id);
  }

  /**
   * Pair provider nodes with alive GCS nodes: by instance id when the raylet reports one, else by
   * internal IP (one GCS node per provider node); a head left unpaired takes the GCS's head.
   */
  private match(listed: ProviderNode[], gcsNodes: GcsNodeView[]): NodeView[] {
    const alive = gcsNodes.filter((g) => g.alive);
    const byInstance = new Map(alive.filter((g) => g.instanceId).map((g) => [g.instanceId!, g]));
    const used = new Set<string>();
    const views: NodeView[] = [];
    for (const node of listed) {
      const kindTag = node.tags[TAG.nodeKind];
      if (kindTag !== NODE_KIND.head && kindTag !== NODE_KIND.worker) continue; // not ours to manage
      let gcs = byInstance.get(node.id);
      if (!gcs && node.internalIp) {
        gcs = alive.find((g) => !g.instanceId && !used.has(g.nodeId) && g.ip === node.internalIp);
      }
      if (gcs) used.add(gcs.nodeId);
      const type = node.tags[TAG.userNodeType] ?? (kindTag === NODE_KIND.head ? this.config.head_node_type : undefined);
      views.push({ node, kind: kindTag, type, status: node.tags[TAG.nodeStatus] ?? NODE_STATUS.uninitialized, gcs });
    }
    const head = views.find((v) => v.kind === NODE_KIND.head);
    const gcsHead = alive.find((g) => g.isHead && !used.has(g.nodeId));
    if (head && !head.gcs && gcsHead) head.gcs = gcsHead;
    if (!head && gcsHead) {
      // A provider that does not list the head (it was started by hand): the GCS's head stands in.
      views.push({ node: { id: gcsHead.instanceId ?? gcsHead.nodeId, tags: {}, internalIp: gcsHead.ip, state: "running" },
        kind: NODE_KIND.head, type: this.config.head_node_type, status: NODE_STATUS.upToDate, gcs: gcsHead });
    }
    return views;
  }

  /** Alive GCS nodes no provider node accounts for (joined by hand): their resources count, not their number. */
  private unmatchedGcs(views: NodeView[], gcsNodes: GcsNodeView[]): GcsNodeView[] {
    const matched = new Set(views.map((v) => v.gcs?.nodeId).filter((id) => id !== undefined));
    return gcsNodes.filter((g) => g.alive && !matched.has(g.nodeId));
  }

  private schedNode(v: NodeView, type: string): SchedulerNode {
    const kind = v.kind === NODE_KIND.head ? "head" : "worker";
    return v.gcs ? { type, kind, total: v.gcs.total, available: v.gcs.available } : { type, kind };
  }

  private launchOk(v: NodeView): boolean {
    return v.type !== undefined && v.node.tags[TAG.launchConfig] === this.opts.launchHash(v.type, this.config);
  }

  /**
   * Ray's `terminate_nodes_to_enforce_config_constraints`, plus broken nodes. Workers are visited
   * most recently used first, so the ones kept for min_workers (or for requestResources) are the
   * busiest, and the ones dropped for max_workers are the least recently used.
   */
  private async terminateWorkers(workers: NodeView[], head: NodeView | undefined, load: LoadSnapshot,
    setupFailed: Map<string, string>, now: number): Promise<Set<string>> {
    const cfg = this.config;
    const types = cfg.available_node_types;
    const idleMs = cfg.idle_timeout_minutes * 60_000;
    const heartbeatMs = (this.opts.heartbeatTimeoutS ?? tunable("autoscaler_heartbeat_timeout_s")) * 1000;
    const sorted = [...workers].sort((a, b) => (this.lastUsed.get(b.node.id) ?? -1) - (this.lastUsed.get(a.node.id) ?? -1));
    const needed = this.neededForRequests(sorted, head, load);

    const doomed = new Map<string, { view: NodeView; reason: string; failure: boolean }>();
    const terminate = (view: NodeView, reason: string, failure = false): void => { doomed.set(view.node.id, { view, reason, failure }); };
    const counts: Record<string, number> = {};
    const candidates: NodeView[] = [];
    for (const w of sorted) {
      const id = w.node.id;
      const failed = setupFailed.get(id);
      if (failed !== undefined) { terminate(w, `setup failed: ${failed}`, true); continue; }
      if (w.status === NODE_STATUS.updateFailed && !this.updaters.has(id)) { terminate(w, "setup failed (status update-failed)", true); continue; }
      if ((w.status === NODE_STATUS.upToDate || this.setUp.has(id)) && !w.gcs && !this.updaters.has(id)) {
        if (!this.lastContact.has(id)) this.lastContact.set(id, now); // first seen (e.g. after a monitor restart)
        if (now - this.lastContact.get(id)! > heartbeatMs) {
          terminate(w, `unhealthy: set up but its raylet has not been registered with the GCS for ${Math.round(heartbeatMs / 1000)}s`, true);
          continue;
        }
      }
      const spec = w.type !== undefined ? types[w.type] : undefined;
      if (!spec) { terminate(w, `node type ${w.type ?? "(untagged)"} is not in available_node_types`); continue; }
      const type = w.type!;
      const n = (counts[type] ?? 0) + 1;
      if (n > spec.max_workers) { terminate(w, `more than max_workers (${spec.max_workers}) of type ${type}`); continue; }
      const launchOk = this.launchOk(w);
      if ((n <= Math.min(spec.min_workers, spec.max_workers) || needed.has(id)) && launchOk) { counts[type] = n; continue; }
      const lastUsed = this.lastUsed.get(id);
      if (w.gcs && lastUsed !== undefined && now - lastUsed > idleMs) {
        terminate(w, `idle for more than ${cfg.idle_timeout_minutes} minutes`);
      } else if (!launchOk) {
        terminate(w, "outdated: its launch config differs from the current node_config");
      } else {
        counts[type] = n;
        candidates.push(w);
      }
    }
    // Too many workers in all (max_workers lowered): the least recently used go.
    const extra = Math.min(workers.length - doomed.size - cfg.max_workers, candidates.length);
    if (extra > 0) for (const w of candidates.slice(-extra)) terminate(w, `more than max_workers (${cfg.max_workers}) in the cluster`);

    if (doomed.size === 0) return new Set();
    const ids = [...doomed.keys()];
    for (const { view, reason } of doomed.values()) {
      this.opts.log(`terminating ${view.type ?? "worker"} ${view.node.id}${view.node.internalIp ? ` (${view.node.internalIp})` : ""}: ${reason}`);
    }
    try {
      await this.provider.terminateNodes(ids);
    } catch (e) {
      this.opts.log(`terminating ${ids.join(", ")} failed (retried next update): ${errorText(e)}`);
      return new Set();
    }
    for (const { view, reason, failure } of doomed.values()) {
      this.terminated.add(view.node.id);
      this.lastUsed.delete(view.node.id);
      const t: Termination = { id: view.node.id, type: view.type ?? "unknown", reason, time: now, failure };
      if (view.node.internalIp) t.ip = view.node.internalIp;
      this.terminations.push(t);
    }
    this.terminations = this.recent(this.terminations, now);
    return new Set(ids);
  }

  /**
   * Workers requestResources needs: the bundles packed onto the head and then the workers (most
   * recently used first) by total resources; a worker any bundle landed on stays. A worker whose
   * resources are unknown ({} type, not registered) stays too.
   */
  private neededForRequests(sorted: NodeView[], head: NodeView | undefined, load: LoadSnapshot): Set<string> {
    const requests = load.resourceRequests.map(normalize).filter((r) => Object.keys(r).length > 0);
    if (requests.length === 0) return new Set();
    const types = this.config.available_node_types;
    const known: SchedulerNode[] = sorted.filter((w) => w.gcs && w.type).map((w) => this.schedNode(w, w.type!));
    const resources = resolveNodeTypeResources(types, known, head?.gcs?.total);
    const totalOf = (v: NodeView | undefined): ResourceSet =>
      normalize(v?.gcs?.total ?? (v?.type !== undefined ? resources[v.type] : undefined) ?? {});
    const totals = [totalOf(head), ...sorted.map((w) => totalOf(w))];
    const { remaining } = binPackResidual(totals, requests.map((shape) => ({ shape, count: 1 })));
    const needed = new Set<string>();
    sorted.forEach((w, i) => {
      const before = totals[i + 1]!, after = remaining[i + 1]!;
      if (Object.keys(before).length === 0 || resourceKey(before) !== resourceKey(normalize(after))) needed.add(w.node.id);
    });
    return needed;
  }

  /** Queue `count` nodes of `type` in batches; at most autoscaler_max_concurrent_launches nodes are being created at once. */
  private launch(type: string, count: number, load: LoadSnapshot): void {
    const cfg = this.config;
    const spec = cfg.available_node_types[type];
    if (!spec) return;
    const demand = load.demands.length === 0 ? "" : `; queued demand: ${load.demands.map((d) => `${d.count} × {${formatResources(d.shape)}}`).join(", ")}`;
    this.opts.log(`adding ${count} node${count === 1 ? "" : "s"} of type ${type}${demand}`);
    const tags: Tags = {
      [TAG.clusterName]: cfg.cluster_name,
      [TAG.nodeKind]: NODE_KIND.worker,
      [TAG.userNodeType]: type,
      [TAG.nodeStatus]: NODE_STATUS.uninitialized,
      [TAG.launchConfig]: this.opts.launchHash(type, cfg),
      [TAG.nodeName]: `stingray-${cfg.cluster_name}-worker`,
    };
    const batch = Math.max(1, this.opts.maxLaunchBatch ?? tunable("autoscaler_max_launch_batch"));
    this.pendingLaunches[type] = (this.pendingLaunches[type] ?? 0) + count;
    for (let left = count; left > 0; left -= batch) {
      // Resources as configured ({} stays {}: a provider starting Stingray itself then detects them).
      this.launchQueue.push({ type, count: Math.min(left, batch), nodeConfig: spec.node_config, tags,
        resources: spec.resources, labels: spec.labels });
    }
    this.pumpLaunches();
  }

  private pumpLaunches(): void {
    const batch = Math.max(1, this.opts.maxLaunchBatch ?? tunable("autoscaler_max_launch_batch"));
    const concurrent = this.opts.maxConcurrentLaunches ?? tunable("autoscaler_max_concurrent_launches");
    const maxBatches = Math.max(1, Math.ceil(concurrent / batch));
    while (this.launchesInFlight < maxBatches && this.launchQueue.length > 0) {
      const job = this.launchQueue.shift()!;
      this.launchesInFlight++;
      const p: Promise<void> = this.createBatch(job).finally(() => {
        this.launchesInFlight--;
        this.pendingLaunches[job.type] = Math.max(0, (this.pendingLaunches[job.type] ?? 0) - job.count);
        if (this.pendingLaunches[job.type] === 0) delete this.pendingLaunches[job.type];
        this.launches.delete(p);
        this.pumpLaunches();
      });
      this.launches.add(p);
    }
  }

  /** One create call. A failure is logged and recorded; the next update decides again (and so retries). */
  private async createBatch(job: LaunchJob): Promise<void> {
    try {
      const nodes = await this.provider.createNodes(job.nodeConfig, job.tags, job.count, { resources: job.resources, labels: job.labels });
      // A provider may hand out an id again (the local provider's ids are IPs, reused once a
      // node is released): what was remembered about the old node does not apply to the new one.
      for (const n of nodes) this.forgetNode(n.id);
      this.opts.log(`launched ${nodes.length} node${nodes.length === 1 ? "" : "s"} of type ${job.type}: ${nodes.map((n) => n.id).join(", ")}`);
    } catch (e) {
      const reason = errorText(e);
      const time = this.now();
      this.opts.log(`launching ${job.count} node${job.count === 1 ? "" : "s"} of type ${job.type} failed (retried next update): ${reason}`);
      this.failedLaunches.push({ type: job.type, count: job.count, reason, time });
      this.failedLaunches = this.recent(this.failedLaunches, time);
    }
  }

  private startUpdater(node: ProviderNode, type: string): void {
    const id = node.id;
    this.updaterStarted.add(id);
    this.setUp.delete(id);
    this.opts.log(`setting up ${type} ${id}${node.internalIp ? ` (${node.internalIp})` : ""}`);
    const p: Promise<void> = Promise.resolve()
      .then(() => this.opts.startUpdater(node, type))
      .then(() => {
        this.updaterResults.set(id, { ok: true });
        this.opts.log(`${type} ${id} is set up`);
      }, (e: unknown) => {
        const error = errorText(e);
        this.updaterResults.set(id, { ok: false, error });
        this.opts.log(`setting up ${type} ${id} failed: ${error}`);
      })
      .finally(() => { this.updaters.delete(id); });
    this.updaters.set(id, p);
  }

  private recent<T extends { time: number }>(list: T[], now: number): T[] {
    return list.filter((e) => now - e.time <= RECENT_WINDOW_MS).slice(-RECENT_LIMIT);
  }

  private emptyStatus(load: LoadSnapshot): AutoscalerStatus {
    return { time: this.now(), clusterName: this.config.cluster_name, activeNodes: [], idleNodes: [], pendingNodes: [],
      launched: {}, failedLaunches: [], recentTerminations: [], infeasible: [], pendingDemands: load.demands,
      unfulfilledDemands: [], resourceRequests: load.resourceRequests };
  }

  private buildStatus(now: number, views: NodeView[], load: LoadSnapshot, launched: Record<string, number>,
    infeasible: ResourceSet[], unfulfilled: DemandShape[]): AutoscalerStatus {
    const activeNodes: ActiveNode[] = [];
    const idleNodes: IdleNode[] = [];
    const pendingNodes: PendingNode[] = [];
    for (const v of views) {
      const type = v.type ?? "unknown";
      const ip = v.node.internalIp ?? v.gcs?.ip;
      if (v.gcs) {
        activeNodes.push({ id: v.node.id, type, ...(ip ? { ip } : {}), kind: v.kind, gcsNodeId: v.gcs.nodeId });
        const used = this.lastUsed.get(v.node.id);
        if (v.kind === NODE_KIND.worker && used !== undefined && isIdle(v.gcs.total, v.gcs.available)) {
          idleNodes.push({ id: v.node.id, type, ...(ip ? { ip } : {}), idleSeconds: Math.round((now - used) / 1000) });
        }
      } else if (v.kind === NODE_KIND.worker) {
        const status = v.status === NODE_STATUS.upToDate || this.setUp.has(v.node.id) ? "waiting-for-raylet" : v.status;
        pendingNodes.push({ id: v.node.id, type, ...(ip ? { ip } : {}), status });
      }
    }
    for (const [type, count] of Object.entries(this.pendingLaunches)) {
      for (let i = 0; i < count; i++) pendingNodes.push({ type, status: "launching" });
    }
    return {
      time: now, clusterName: this.config.cluster_name, activeNodes, idleNodes, pendingNodes, launched,
      failedLaunches: this.recent(this.failedLaunches, now), recentTerminations: this.recent(this.terminations, now),
      infeasible, pendingDemands: load.demands.map((d) => ({ shape: normalize(d.shape), count: d.count })),
      unfulfilledDemands: unfulfilled, resourceRequests: load.resourceRequests.map(normalize),
    };
  }
}

const clock = (t: number): string => new Date(t).toISOString().slice(11, 19);

function countBy<T>(items: T[], key: (t: T) => string): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const i of items) { const k = key(i); m.set(k, (m.get(k) ?? 0) + 1); }
  return [...m];
}

/**
 * The "Node status" part of `stingray status`, as `ray status` prints it. Active counts every
 * registered node; Idle (shown when any) is the subset of workers with nothing in use.
 */
export function formatStatusLines(s: AutoscalerStatus): string[] {
  const out = ["Node status", "-".repeat(63), "Active:"];
  const active = countBy(s.activeNodes, (n) => n.type);
  out.push(...(active.length ? active.map(([t, n]) => ` ${n} ${t}`) : [" (no active nodes)"]));
  if (s.idleNodes.length > 0) {
    out.push("Idle:", ...countBy(s.idleNodes, (n) => n.type).map(([t, n]) => ` ${n} ${t}`));
  }
  out.push("Pending:");
  const launching = countBy(s.pendingNodes.filter((p) => p.status === "launching"), (p) => p.type);
  const pending = [
    ...launching.map(([t, n]) => ` ${t}, ${n} launching`),
    ...s.pendingNodes.filter((p) => p.status !== "launching").map((p) => ` ${p.ip ?? p.id ?? "?"}: ${p.type}, ${p.status}`),
  ];
  out.push(...(pending.length ? pending : [" (no pending nodes)"]));
  out.push("Recent failures:");
  const failures = [
    ...s.failedLaunches.map((f) => ` ${f.type}: launching ${f.count} node${f.count === 1 ? "" : "s"} failed: ${f.reason} (at ${clock(f.time)})`),
    ...s.recentTerminations.filter((t) => t.failure).map((t) => ` ${t.ip ?? t.id}: ${t.type}, ${t.reason} (at ${clock(t.time)})`),
  ];
  out.push(...(failures.length ? failures : [" (no failures)"]));
  if (s.error) out.push(`Last update failed: ${s.error}`);
  return out;
}

/** The "Demands" part: queued shapes, those no node type fits, and requestResources bundles. */
export function formatDemandLines(s: AutoscalerStatus): string[] {
  const out = ["Demands:"];
  const infeasible = new Set(s.infeasible.map(resourceKey));
  for (const d of s.pendingDemands) {
    const why = infeasible.has(resourceKey(d.shape)) ? " (infeasible: no node type has these resources)" : "";
    out.push(` {${formatResources(d.shape)}}: ${d.count}+ pending tasks/actors${why}`);
  }
  for (const [key, n] of countBy(s.resourceRequests, resourceKey)) {
    const shape = s.resourceRequests.find((r) => resourceKey(r) === key)!;
    out.push(` {${formatResources(shape)}}: ${n} from requestResources()`);
  }
  if (out.length === 1) out.push(" (no resource demands)");
  return out;
}
