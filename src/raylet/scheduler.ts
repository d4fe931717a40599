/**
 * @module raylet/scheduler
 * The raylet's local scheduler: resource accounting for this node and the queue of worker-lease
 * requests. Pure logic (no processes, no sockets): requests that fit are granted in arrival order,
 * without a large request blocking smaller ones behind it; requests that can never fit here are
 * classified as spillback (another node fits) or infeasible (none does). GPUs are handed out as
 * instance ids so tasks can be given CUDA_VISIBLE_DEVICES.
 */
import { add, fits, subtract, normalize, type ResourceSet } from "../common/resources.ts";
import { matchesLabels } from "../common/labels.ts";

export interface LeaseRequest {
  id: number;
  resources: ResourceSet;
  /** Called when resources are reserved for the request. */
  grant(gpuIds: number[]): void;
  /** Set for requests that may move: called instead of grant when another node takes the request over. */
  spill?(nodeId: string): void;
  /** The request's label selector (a node it moves to must match). */
  selector?: Record<string, string> | undefined;
}

export interface ClusterNodeView { nodeId: string; total: ResourceSet; available: ResourceSet; alive: boolean; labels?: Record<string, string> }

export type Placement =
  | { kind: "local" }
  | { kind: "spill"; nodeId: string }
  | { kind: "infeasible"; reason: string };

export class LocalScheduler {
  readonly total: ResourceSet;
  readonly available: ResourceSet;
  private queue: LeaseRequest[] = [];
  private freeGpus: number[];
  private spreadNext = 0;

  /** Injectable for tests. */
  random: () => number = Math.random;

  constructor(total: ResourceSet) {
    this.total = normalize(total);
    this.available = { ...this.total };
    this.freeGpus = Array.from({ length: Math.floor(this.total.GPU ?? 0) }, (_, i) => i);
  }

  /**
   * Where should a request go? Local if this node could ever hold it and has room now (or no
   * other node has room now); another node with room now otherwise; infeasible if no node could.
   */
  place(resources: ResourceSet, selfId: string, cluster: ClusterNodeView[], spread = false,
    selector?: Record<string, string>, selfLabels?: Record<string, string>): Placement {
    const selfOk = matchesLabels(selfLabels, selector);
    const localEver = selfOk && fits(resources, this.total);
    const localNow = localEver && fits(resources, this.available) && this.queue.length === 0;
    const others = cluster.filter((n) => n.alive && n.nodeId !== selfId && matchesLabels(n.labels, selector));
    if (spread) {
      // Round-robin over every node that can run it (this one included), in a stable order; the
      // view of other nodes' free resources may be a second old, so "could run" is what counts.
      const ids = [...(localEver ? [selfId] : []), ...others.filter((n) => fits(resources, n.total)).map((n) => n.nodeId)].sort();
      const pick = ids[this.spreadNext++ % Math.max(1, ids.length)];
      if (pick === selfId) return { kind: "local" };
      if (pick) return { kind: "spill", nodeId: pick };
    }
    if (localNow) return { kind: "local" };
    // Another node with room: pick one at random, and count the request against that node's free
    // resources in this view (as Ray allocates remote resources when it spills), so that a burst
    // of requests spilled before the next refresh spreads over the nodes instead of piling onto
    // one of them.
    const withRoom = others.filter((n) => fits(resources, n.available));
    const roomNow = withRoom[Math.floor(this.random() * withRoom.length)];
    if (roomNow) {
      subtract(roomNow.available, resources);
      return { kind: "spill", nodeId: roomNow.nodeId };
    }
    if (localEver) return { kind: "local" };
    const ever = others.find((n) => fits(resources, n.total));
    if (ever) return { kind: "spill", nodeId: ever.nodeId };
    return { kind: "infeasible", reason: selector && !selfOk && others.length === 0
      ? `no node in the cluster has the labels ${JSON.stringify(selector)}`
      : "no node in the cluster has that many resources" };
  }

  enqueue(req: LeaseRequest): void {
    this.queue.push(req);
    this.dispatch();
  }

  cancel(id: number): boolean {
    const i = this.queue.findIndex((r) => r.id === id);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    return true;
  }

  /** Grant every queued request that fits, oldest first. */
  dispatch(): void {
    for (let i = 0; i < this.queue.length;) {
      const r = this.queue[i]!;
      if (fits(r.resources, this.available)) {
        this.queue.splice(i, 1);
        subtract(this.available, r.resources);
        const n = Math.ceil(r.resources.GPU ?? 0);
        const gpus = this.freeGpus.splice(0, n);
        r.grant(gpus);
      } else {
        i++;
      }
    }
  }

  release(resources: ResourceSet, gpuIds: number[] = []): void {
    add(this.available, resources);
    this.freeGpus.push(...gpuIds);
    this.freeGpus.sort((a, b) => a - b);
    this.dispatch();
  }

  /**
   * Hand queued requests that cannot start here now to nodes that have room for them now (nodes
   * that joined since they were queued, say: a worker the autoscaler added), as Ray's cluster task
   * manager re-schedules queued work. Each target's free resources in the view are counted down
   * as requests go to it, so neither this refresh nor the spills after it send it more than it holds.
   */
  rebalance(selfId: string, cluster: ClusterNodeView[]): number {
    const room = cluster.filter((n) => n.alive && n.nodeId !== selfId);
    if (room.length === 0) return 0;
    let moved = 0;
    for (let i = 0; i < this.queue.length;) {
      const r = this.queue[i]!;
      if (!r.spill || fits(r.resources, this.available)) { i++; continue; }
      const target = room.find((n) => fits(r.resources, n.available) && matchesLabels(n.labels, r.selector));
      if (!target) { i++; continue; }
      subtract(target.available, r.resources);
      this.queue.splice(i, 1);
      moved++;
      r.spill(target.nodeId);
    }
    return moved;
  }

  pendingShapes(): ResourceSet[] { return this.queue.map((r) => r.resources); }
  get queued(): number { return this.queue.length; }
}
