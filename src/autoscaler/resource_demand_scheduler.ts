/**
 * @module autoscaler/resource_demand_scheduler
 * Which nodes to add, given the cluster's nodes, its queued resource demands and its explicit
 * resource requests: reverse bin packing, after Ray's `resource_demand_scheduler.py`. Pure (no
 * I/O, no clock), so every rule is tested on plain data.
 *
 * The order of the steps matters and is Ray's:
 *  1. Count the workers per type (running, booting, and launches in flight); the head is not a
 *     worker and never counts against `max_workers`.
 *  2. Add nodes up to each type's `min_workers`.
 *  3. Add nodes until the explicit resource requests (`requestResources`) fit on the cluster's
 *     *total* resources, as if every node were idle.
 *  4. Bin-pack the queued demands onto what is free: running nodes' available resources first, then
 *     booting, launching and just-added nodes (their type's full resources); for what is left,
 *     add nodes of the best-scoring type one at a time (Ray's utilization scorer).
 *  5. Limit how many nodes of a type may be pending at once (upscaling_speed); nodes from steps
 *     2 and 3 are exempt, because the user asked for that size outright.
 * Demands no node type could ever hold are reported as infeasible and never launched for.
 */
import { fits, normalize, resourceKey, type ResourceSet } from "../common/resources.ts";

/** A node type as the scheduler needs it (the matching fields of the config's `available_node_types`). */
export interface NodeTypeSpec {
  /**
   * What one node of the type offers. May be `{}` (resources detected at start): the scheduler then
   * uses the total of a registered node of that type, else `SchedulerInput.fallbackResources`.
   */
  resources: ResourceSet;
  min_workers: number;
  max_workers: number;
}

/** A node the provider lists for this cluster (not terminated). */
export interface SchedulerNode {
  /** Its `available_node_types` key. */
  type: string;
  /** `unmanaged`: a node no provider accounts for (joined by hand): its free resources count, not its number. */
  kind: "head" | "worker" | "unmanaged";
  /** The raylet's report once the node is registered with the GCS; absent while it boots or is set up. */
  total?: ResourceSet;
  available?: ResourceSet;
}

export interface DemandShape { shape: ResourceSet; count: number }

export interface SchedulerInput {
  nodeTypes: Record<string, NodeTypeSpec>;
  headNodeType: string;
  /** Workers the cluster may have in all (the head excluded). */
  maxWorkers: number;
  upscalingSpeed: number;
  nodes: SchedulerNode[];
  /** Nodes per type requested from the provider that it does not list yet. */
  launching: Record<string, number>;
  /** Queued lease requests, feasible or not. */
  demands: DemandShape[];
  /** `requestResources` bundles: the cluster must be able to hold all of them at once. */
  resourceRequests: ResourceSet[];
  /** Resources of a type configured as `{}` with no registered node yet (the caller passes the head's). */
  fallbackResources?: ResourceSet;
  /** Nodes of a type that may be pending at once however small the cluster is (Ray: 5). */
  upscalingInitialNumNodes?: number;
  /** Most single demands bin-packed (counts expanded); the rest wait for a later round. */
  maxDemandVectorSize?: number;
}

export interface SchedulerResult {
  /** Nodes to create now, per type (only positive counts). */
  toLaunch: Record<string, number>;
  /** Distinct demand shapes that no node type can ever hold (normalized). */
  infeasible: ResourceSet[];
  /** Feasible demands that stay unmet even after the planned scale-up (limits reached). */
  unfulfilled: DemandShape[];
  /** The resources assumed for each node type (after resolving `{}`). */
  nodeTypeResources: Record<string, ResourceSet>;
}

const UPSCALING_INITIAL_NUM_NODES = 5;
const MAX_DEMAND_VECTOR_SIZE = 1000;

const isEmpty = (r: ResourceSet): boolean => Object.keys(normalize(r)).length === 0;

/**
 * The resources each node type is assumed to offer. A type configured with `{}` takes the total of
 * a registered node of that type (what its raylet detected), else `fallback` (the head's total,
 * the best guess for identical machines), else `{}` (then it fits nothing, and only min_workers
 * launch it).
 */
export function resolveNodeTypeResources(nodeTypes: Record<string, NodeTypeSpec>, nodes: SchedulerNode[],
  fallback?: ResourceSet): Record<string, ResourceSet> {
  const out: Record<string, ResourceSet> = {};
  for (const [name, t] of Object.entries(nodeTypes)) {
    if (!isEmpty(t.resources)) { out[name] = normalize(t.resources); continue; }
    const live = nodes.find((n) => n.type === name && n.total && !isEmpty(n.total));
    out[name] = normalize(live?.total ?? fallback ?? {});
  }
  return out;
}

/**
 * Demands are handled as shapes with counts: packing n equal bundles first-fit is the same as
 * filling each node in turn with as many as fit, and costs one step per node instead of n.
 * Quantities are compared in 1/10000 units, as common/resources does.
 */
const SCALE = 10_000;
const q = (x: number): number => Math.round(x * SCALE);

/** How many of `shape` fit in `node`, at most `limit`. */
function howMany(shape: ResourceSet, node: ResourceSet, limit: number): number {
  let n = limit;
  for (const [k, v] of Object.entries(shape)) {
    if (v <= 0) continue;
    n = Math.min(n, Math.floor(q(node[k] ?? 0) / q(v)));
    if (n <= 0) return 0;
  }
  return n;
}

function take(node: ResourceSet, shape: ResourceSet, n: number): void {
  for (const [k, v] of Object.entries(shape)) if (v > 0) node[k] = (q(node[k] ?? 0) - n * q(v)) / SCALE;
}

/** Equal shapes merged (first appearance keeps its place), empty shapes and counts dropped. */
export function groupDemands(demands: DemandShape[]): DemandShape[] {
  const byKey = new Map<string, DemandShape>();
  for (const { shape, count } of demands) {
    const norm = normalize(shape);
    if (count <= 0 || Object.keys(norm).length === 0) continue;
    const k = resourceKey(norm);
    const e = byKey.get(k);
    if (e) e.count += count;
    else byKey.set(k, { shape: norm, count });
  }
  return [...byKey.values()];
}

/** Ray's packing order: shapes with more resource kinds first, then heavier, then by content. */
function sortDemandsDesc(groups: DemandShape[]): DemandShape[] {
  const keyed = groups.map((g) => ({ g, kinds: Object.keys(g.shape).length,
    weight: Object.values(g.shape).reduce((s, v) => s + v, 0), key: resourceKey(g.shape) }));
  keyed.sort((a, b) => b.kinds - a.kinds || b.weight - a.weight || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
  return keyed.map((k) => k.g);
}

/**
 * First-fit packing of `demands` onto copies of `nodes` (in their order), in Ray's order. Returns
 * what did not fit and the nodes' remaining resources.
 */
export function binPackResidual(nodes: ResourceSet[], demands: DemandShape[]): { unfulfilled: DemandShape[]; remaining: ResourceSet[] } {
  const remaining = nodes.map((n) => ({ ...n }));
  const unfulfilled: DemandShape[] = [];
  for (const { shape, count } of sortDemandsDesc(groupDemands(demands))) {
    let left = count;
    for (const node of remaining) {
      if (left === 0) break;
      const n = howMany(shape, node, left);
      if (n > 0) { take(node, shape, n); left -= n; }
    }
    if (left > 0) unfulfilled.push({ shape, count: left });
  }
  return { unfulfilled, remaining };
}

/**
 * Ray's default utilization score of adding one node with `node` resources for `demands`, compared
 * lexicographically (higher is better): not a GPU node for a workload without GPUs; more of the
 * node's resource kinds requested; the best-used resource kind least idle; then the mean.
 * Undefined when no demand fits the node at all: such a type is never chosen.
 */
export function utilizationScore(node: ResourceSet, demands: DemandShape[]): number[] | undefined {
  const remaining = { ...node };
  const kinds = new Set<string>();
  let fitted = 0;
  for (const { shape, count } of demands) {
    for (const [k, v] of Object.entries(shape)) if (v > 0) kinds.add(k);
    const n = howMany(shape, remaining, count);
    if (n > 0) { take(remaining, shape, n); fitted += n; }
  }
  if (fitted === 0) return undefined;
  const utils: number[] = [];
  let matching = 0;
  for (const [k, v] of Object.entries(node)) {
    if (v < 1) continue; // node resources are whole numbers; avoids dividing by zero
    if (kinds.has(k)) matching++;
    const u = (v - (remaining[k] ?? 0)) / v;
    utils.push(v * u ** 3);
  }
  if (utils.length === 0) return undefined;
  const gpuNode = (node.GPU ?? 0) > 0;
  const gpuDemand = demands.some((d) => (d.shape.GPU ?? 0) > 0);
  const gpuOk = gpuNode && !gpuDemand ? 0 : 1;
  return [gpuOk, matching, Math.min(...utils), utils.reduce((s, u) => s + u, 0) / utils.length];
}

function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Add nodes, best-scoring type first, until `demands` fit or `maxToAdd` nodes are added or no type
 * with room under its max_workers fits any of what is left. Ties go to the type listed first.
 */
function nodesFor(types: Record<string, NodeTypeSpec>, resources: Record<string, ResourceSet>,
  workerCounts: Record<string, number>, maxToAdd: number, demands: DemandShape[]): { add: Record<string, number>; residual: DemandShape[] } {
  const add: Record<string, number> = {};
  let added = 0;
  let left = demands;
  while (left.length > 0 && added < maxToAdd) {
    let best: { type: string; score: number[] } | undefined;
    for (const [name, t] of Object.entries(types)) {
      if ((workerCounts[name] ?? 0) + (add[name] ?? 0) >= t.max_workers) continue;
      const score = utilizationScore(resources[name] ?? {}, left);
      if (score && (!best || compareScores(score, best.score) > 0)) best = { type: name, score };
    }
    if (!best) break;
    add[best.type] = (add[best.type] ?? 0) + 1;
    added++;
    left = binPackResidual([resources[best.type] ?? {}], left).unfulfilled;
  }
  return { add, residual: left };
}

function addCounts(to: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) to[k] = (to[k] ?? 0) + v;
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((s, v) => s + v, 0);

/** Could any node type (one that may have workers, or the head's) ever hold `demand`? */
export function isFeasible(demand: ResourceSet, input: Pick<SchedulerInput, "nodeTypes" | "headNodeType">,
  resources: Record<string, ResourceSet>): boolean {
  return Object.entries(input.nodeTypes).some(([name, t]) =>
    (name === input.headNodeType || t.max_workers > 0) && fits(demand, resources[name] ?? {}));
}

/** The first `limit` single demands (counts included), grouped. */
function clipDemands(demands: DemandShape[], limit: number): DemandShape[] {
  const out: DemandShape[] = [];
  let n = 0;
  for (const d of groupDemands(demands)) {
    if (n >= limit) break;
    const c = Math.min(d.count, limit - n);
    out.push({ shape: d.shape, count: c });
    n += c;
  }
  return out;
}

/** How many nodes of each type to launch now. See the module comment for the steps. */
export function getNodesToLaunch(input: SchedulerInput): SchedulerResult {
  const types = input.nodeTypes;
  const resources = resolveNodeTypeResources(types, input.nodes, input.fallbackResources);
  const typeRes = (t: string): ResourceSet => ({ ...(resources[t] ?? {}) });

  // 1. Workers per type and what is free on them: registered nodes first (what their raylets
  // report), then booting nodes and launches in flight (their type's full resources).
  const workerCounts: Record<string, number> = {};
  const running: Record<string, number> = {};
  const pending: Record<string, number> = {};
  const free: ResourceSet[] = [];
  const pendingFree: ResourceSet[] = [];
  for (const n of input.nodes) {
    if (n.kind === "worker") workerCounts[n.type] = (workerCounts[n.type] ?? 0) + 1;
    if (n.available) {
      running[n.type] = (running[n.type] ?? 0) + 1;
      free.push({ ...n.available });
    } else {
      pending[n.type] = (pending[n.type] ?? 0) + 1;
      if (n.type in types) pendingFree.push(typeRes(n.type));
    }
  }
  for (const [t, c] of Object.entries(input.launching)) {
    if (!(t in types) || c <= 0) continue;
    workerCounts[t] = (workerCounts[t] ?? 0) + c;
    for (let i = 0; i < c; i++) pendingFree.push(typeRes(t));
  }
  free.push(...pendingFree);
  const budget = (): number => Math.max(0, input.maxWorkers - sum(workerCounts));

  // 2. min_workers, within the type's and the cluster's max_workers.
  const exempt: Record<string, number> = {};
  const planned: Record<string, number> = {};
  for (const [name, t] of Object.entries(types)) {
    const target = Math.min(t.min_workers, t.max_workers);
    const add = Math.min(target - (workerCounts[name] ?? 0), budget());
    if (add <= 0) continue;
    exempt[name] = add;
    workerCounts[name] = (workerCounts[name] ?? 0) + add;
    for (let i = 0; i < add; i++) free.push(typeRes(name));
  }

  // 3. requestResources: bundles against every node's total, as if the cluster were idle.
  const requests = input.resourceRequests.map(normalize).filter((r) => Object.keys(r).length > 0);
  if (requests.length > 0) {
    const totals: ResourceSet[] = input.nodes.map((n) => ({ ...(n.total ?? resources[n.type] ?? {}) }));
    for (const [t, c] of Object.entries(input.launching)) for (let i = 0; i < c; i++) totals.push(typeRes(t));
    for (const [t, c] of Object.entries(exempt)) for (let i = 0; i < c; i++) totals.push(typeRes(t));
    const { unfulfilled } = binPackResidual(totals, requests.map((shape) => ({ shape, count: 1 })));
    const { add } = nodesFor(types, resources, workerCounts, budget(), unfulfilled);
    for (const [t, c] of Object.entries(add)) for (let i = 0; i < c; i++) free.push(typeRes(t));
    addCounts(workerCounts, add);
    addCounts(exempt, add);
  }

  // 4. Queued demands: pack onto what is free, then add nodes for the rest.
  const demands = clipDemands(input.demands, input.maxDemandVectorSize ?? MAX_DEMAND_VECTOR_SIZE);
  const { unfulfilled } = binPackResidual(free, demands);
  const { add: forDemand, residual } = nodesFor(types, resources, workerCounts, budget(), unfulfilled);
  addCounts(planned, exempt);
  addCounts(planned, forDemand);

  // 5. Ray's launch-concurrency rule, per type: at most
  // max(initial, floor(upscaling_speed * max(running, 1))) nodes pending (booting or launching)
  // at once; what min_workers and requestResources ask for may exceed it.
  const initial = input.upscalingInitialNumNodes ?? UPSCALING_INITIAL_NUM_NODES;
  const toLaunch: Record<string, number> = {};
  for (const [t, want] of Object.entries(planned)) {
    const maxPending = Math.max(initial, Math.floor(input.upscalingSpeed * Math.max(running[t] ?? 0, 1)));
    const pendingNow = (input.launching[t] ?? 0) + (pending[t] ?? 0);
    const upper = Math.max(maxPending - pendingNow, exempt[t] ?? 0);
    const n = Math.min(upper, want);
    if (n > 0) toLaunch[t] = n;
  }

  const infeasible = residual.filter((d) => !isFeasible(d.shape, input, resources)).map((d) => d.shape);
  const stillUnmet = residual.filter((d) => isFeasible(d.shape, input, resources));
  return { toLaunch, infeasible, unfulfilled: stillUnmet, nodeTypeResources: resources };
}
