import { test } from "node:test";
import assert from "node:assert/strict";
import { getNodesToLaunch, utilizationScore, type SchedulerInput } from "../../src/autoscaler/resource_demand_scheduler.ts";
import {
  StandardAutoscaler, formatDemandLines, formatStatusLines, isIdle,
  type AutoscalerStatus, type GcsNodeView, type LoadSnapshot,
} from "../../src/autoscaler/autoscaler.ts";
import { NODE_KIND, NODE_STATUS, TAG, type ClusterConfig, type NodeTypeConfig } from "../../src/launcher/types.ts";
import type { ProviderNode } from "../../src/launcher/provider.ts";
import type { ResourceSet } from "../../src/common/resources.ts";
import { FakeProvider } from "../helpers/fake_provider.ts";

// ---------------------------------------------------------------- harness

type TypeSpec = Partial<NodeTypeConfig> & { resources: ResourceSet };

function nodeType(t: TypeSpec): NodeTypeConfig {
  return { node_config: {}, labels: {}, min_workers: 0, max_workers: 10, ...t };
}

function makeConfig(types: Record<string, TypeSpec>, o: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    cluster_name: "test", max_workers: 20, upscaling_speed: 1, idle_timeout_minutes: 5,
    provider: { type: "fake" }, auth: { ssh_user: "u" },
    available_node_types: Object.fromEntries(Object.entries(types).map(([k, v]) => [k, nodeType(v)])),
    head_node_type: "head", file_mounts: {}, cluster_synced_files: [], file_mounts_sync_continuously: false,
    rsync_exclude: [], rsync_filter: [], initialization_commands: [], setup_commands: [], head_setup_commands: [],
    worker_setup_commands: [], head_start_ray_commands: [], worker_start_ray_commands: [], ...o,
  };
}

interface HarnessOpts {
  types?: Record<string, TypeSpec>;
  config?: Partial<ClusterConfig>;
  updater?: (node: ProviderNode, type: string, p: FakeProvider) => Promise<void>;
  /** Resources the GCS reports for a node of a type whose config says {}. */
  detected?: Record<string, ResourceSet>;
}

const hash = (type: string, cfg: ClusterConfig): string => `h-${type}-${JSON.stringify(cfg.available_node_types[type]?.node_config ?? {})}`;

function harness(o: HarnessOpts = {}) {
  const types = o.types ?? { head: { resources: { CPU: 2 }, max_workers: 0 }, cpu: { resources: { CPU: 4 } } };
  let cfg = makeConfig(types, o.config);
  let time = 1_700_000_000_000;
  const provider = new FakeProvider();
  provider.add({ [TAG.clusterName]: "test", [TAG.nodeKind]: NODE_KIND.head, [TAG.userNodeType]: "head",
    [TAG.nodeStatus]: NODE_STATUS.upToDate }, "head-1", "10.0.0.1");
  const logs: string[] = [];
  /** Resources in use per provider node id. */
  const used = new Map<string, ResourceSet>();
  /** Nodes whose raylet never registers. */
  const silent = new Set<string>();
  const updaterCalls: string[] = [];
  const a = new StandardAutoscaler({
    config: cfg, provider, launchHash: hash, log: (l) => logs.push(l), now: () => time,
    maxLaunchBatch: 5, maxConcurrentLaunches: 10, heartbeatTimeoutS: 30,
    startUpdater: async (node, type) => {
      updaterCalls.push(node.id);
      if (o.updater) return o.updater(node, type, provider);
      await provider.setNodeTags(node.id, { [TAG.nodeStatus]: NODE_STATUS.upToDate });
    },
  });
  const resourcesOf = (n: ProviderNode): ResourceSet => {
    const type = n.tags[TAG.userNodeType] ?? "head";
    const r = cfg.available_node_types[type]?.resources ?? {};
    return Object.keys(r).length ? r : (o.detected?.[type] ?? {});
  };
  const gcsNodes = (): GcsNodeView[] => [...provider.nodes.values()]
    .filter((n) => n.tags[TAG.nodeStatus] === NODE_STATUS.upToDate && !silent.has(n.id))
    .map((n) => {
      const total = resourcesOf(n);
      const available = { ...total };
      for (const [k, v] of Object.entries(used.get(n.id) ?? {})) available[k] = (available[k] ?? 0) - v;
      return { nodeId: `gcs-${n.id}`, ip: n.internalIp!, instanceId: n.id, isHead: n.tags[TAG.nodeKind] === NODE_KIND.head,
        alive: true, total, available };
    });
  const load = (demands: LoadSnapshot["demands"] = [], resourceRequests: ResourceSet[] = []): LoadSnapshot =>
    ({ nodes: gcsNodes(), demands, resourceRequests });
  /** One update, then wait for the launches and updaters it started. */
  const step = async (demands: LoadSnapshot["demands"] = [], requests: ResourceSet[] = []): Promise<AutoscalerStatus> => {
    const s = await a.update(load(demands, requests));
    await a.settled();
    return s;
  };
  const workers = (type?: string): ProviderNode[] => [...provider.nodes.values()]
    .filter((n) => n.tags[TAG.nodeKind] === NODE_KIND.worker && (!type || n.tags[TAG.userNodeType] === type));
  const launched = (type: string): number => provider.requested(type, TAG.userNodeType);
  return {
    a, provider, logs, used, silent, updaterCalls, step, load, workers, launched,
    advance: (ms: number): void => { time += ms; },
    setConfig: (c: Partial<ClusterConfig>, t = types): void => { cfg = makeConfig(t, { ...o.config, ...c }); a.setConfig(cfg); },
    addWorker: (type: string, extra: Record<string, string> = {}): ProviderNode => provider.add({
      [TAG.clusterName]: "test", [TAG.nodeKind]: NODE_KIND.worker, [TAG.userNodeType]: type,
      [TAG.nodeStatus]: NODE_STATUS.upToDate, [TAG.launchConfig]: hash(type, cfg), ...extra,
    }),
  };
}

const cpu = (n: number, count: number) => ({ shape: { CPU: n }, count });

// ---------------------------------------------------------------- scheduler (pure)

function sched(o: Partial<SchedulerInput>): SchedulerInput {
  return {
    nodeTypes: { head: { resources: { CPU: 2 }, min_workers: 0, max_workers: 0 }, cpu: { resources: { CPU: 4 }, min_workers: 0, max_workers: 100 } },
    headNodeType: "head", maxWorkers: 100, upscalingSpeed: 1,
    nodes: [{ type: "head", kind: "head", total: { CPU: 2 }, available: { CPU: 2 } }],
    launching: {}, demands: [], resourceRequests: [], ...o,
  };
}

test("scheduler: demand is packed onto free resources first, then onto new nodes", () => {
  // 10 CPUs wanted, 2 free on the head: two 4-CPU workers.
  assert.deepEqual(getNodesToLaunch(sched({ demands: [cpu(1, 10)] })).toLaunch, { cpu: 2 });
  // Launching nodes count as their type's full resources.
  assert.deepEqual(getNodesToLaunch(sched({ demands: [cpu(1, 10)], launching: { cpu: 1 } })).toLaunch, { cpu: 1 });
  // Demand that fits on the head launches nothing.
  assert.deepEqual(getNodesToLaunch(sched({ demands: [cpu(1, 2)] })).toLaunch, {});
});

test("scheduler: Ray's concurrency rule max(5, floor(upscaling_speed * max(running, 1))) minus pending", () => {
  const running = (n: number) => Array.from({ length: n }, () => ({ type: "cpu", kind: "worker" as const, total: { CPU: 4 }, available: { CPU: 0 } }));
  const head = { type: "head", kind: "head" as const, total: { CPU: 2 }, available: { CPU: 0 } };
  const want = [cpu(4, 1000)];
  assert.deepEqual(getNodesToLaunch(sched({ demands: want, nodes: [head] })).toLaunch, { cpu: 5 });
  assert.deepEqual(getNodesToLaunch(sched({ demands: want, nodes: [head, ...running(10)] })).toLaunch, { cpu: 10 });
  assert.deepEqual(getNodesToLaunch(sched({ demands: want, nodes: [head, ...running(10)], upscalingSpeed: 2.5 })).toLaunch, { cpu: 25 });
  assert.deepEqual(getNodesToLaunch(sched({ demands: want, nodes: [head, ...running(10)], upscalingSpeed: 0.1 })).toLaunch, { cpu: 5 });
  // Pending nodes (booting or launching) use up the allowance.
  assert.deepEqual(getNodesToLaunch(sched({ demands: want, nodes: [head, ...running(10)], launching: { cpu: 4 } })).toLaunch, { cpu: 6 });
  assert.deepEqual(getNodesToLaunch(sched({ demands: want, nodes: [head, { type: "cpu", kind: "worker" }], launching: { cpu: 4 } })).toLaunch, {});
});

test("scheduler: per-type and global max_workers; the head does not count", () => {
  const types = {
    head: { resources: { CPU: 2 }, min_workers: 0, max_workers: 0 },
    small: { resources: { CPU: 2 }, min_workers: 0, max_workers: 2 },
    big: { resources: { CPU: 8 }, min_workers: 0, max_workers: 1 },
  };
  const head = { type: "head", kind: "head" as const, total: { CPU: 2 }, available: { CPU: 0 } };
  const r = getNodesToLaunch(sched({ nodeTypes: types, nodes: [head], demands: [cpu(2, 50)] }));
  assert.deepEqual(r.toLaunch, { big: 1, small: 2 });
  assert.equal(r.unfulfilled.reduce((s, d) => s + d.count, 0), 50 - 6);
  assert.deepEqual(r.infeasible, []);
  const g = getNodesToLaunch(sched({ nodeTypes: types, nodes: [head], demands: [cpu(2, 50)], maxWorkers: 2 }));
  assert.equal(Object.values(g.toLaunch).reduce((s, v) => s + v, 0), 2);
});

test("scheduler: min_workers launched without demand and exempt from the concurrency limit", () => {
  const types = { head: { resources: { CPU: 2 }, min_workers: 0, max_workers: 0 }, cpu: { resources: { CPU: 4 }, min_workers: 8, max_workers: 10 } };
  assert.deepEqual(getNodesToLaunch(sched({ nodeTypes: types })).toLaunch, { cpu: 8 });
  assert.deepEqual(getNodesToLaunch(sched({ nodeTypes: types, maxWorkers: 3 })).toLaunch, { cpu: 3 });
});

test("scheduler: best fit picks the type that matches the demand; GPU nodes are kept for GPU work", () => {
  const types = {
    head: { resources: { CPU: 2 }, min_workers: 0, max_workers: 0 },
    cpu: { resources: { CPU: 8 }, min_workers: 0, max_workers: 10 },
    gpu: { resources: { CPU: 8, GPU: 1 }, min_workers: 0, max_workers: 10 },
    fat: { resources: { CPU: 64 }, min_workers: 0, max_workers: 10 },
  };
  const head = { type: "head", kind: "head" as const, total: { CPU: 2 }, available: { CPU: 0 } };
  assert.deepEqual(getNodesToLaunch(sched({ nodeTypes: types, nodes: [head], demands: [{ shape: { GPU: 1 }, count: 1 }] })).toLaunch, { gpu: 1 });
  assert.deepEqual(getNodesToLaunch(sched({ nodeTypes: types, nodes: [head], demands: [cpu(8, 1)] })).toLaunch, { cpu: 1 });
  assert.deepEqual(getNodesToLaunch(sched({ nodeTypes: types, nodes: [head], demands: [cpu(8, 8)] })).toLaunch, { fat: 1 });
  // A type that fits nothing scores nothing.
  assert.equal(utilizationScore({ CPU: 2 }, [{ shape: { CPU: 4 }, count: 1 }]), undefined);
});

test("scheduler: infeasible demands are reported and never launched for", () => {
  const r = getNodesToLaunch(sched({ demands: [{ shape: { GPU: 1 }, count: 3 }, { shape: { CPU: 64 }, count: 1 }] }));
  assert.deepEqual(r.toLaunch, {});
  assert.deepEqual(r.infeasible, [{ CPU: 64 }, { GPU: 1 }]);
});

test("scheduler: resource requests count against total resources, not available ones", () => {
  const busyHead = { type: "head", kind: "head" as const, total: { CPU: 2 }, available: { CPU: 0 } };
  // The busy head still "holds" a 2-CPU bundle.
  assert.deepEqual(getNodesToLaunch(sched({ nodes: [busyHead], resourceRequests: [{ CPU: 2 }] })).toLaunch, {});
  // Eight 4-CPU bundles: eight workers at once, past the concurrency limit of 5.
  assert.deepEqual(getNodesToLaunch(sched({ nodes: [busyHead], resourceRequests: Array(8).fill({ CPU: 4 }) })).toLaunch, { cpu: 8 });
});

test("scheduler: a node type with {} resources takes a live node's, else the fallback (head's)", () => {
  const types = { head: { resources: {}, min_workers: 0, max_workers: 0 }, any: { resources: {}, min_workers: 0, max_workers: 10 } };
  const head = { type: "head", kind: "head" as const, total: { CPU: 4 }, available: { CPU: 0 } };
  const viaHead = getNodesToLaunch(sched({ nodeTypes: types, nodes: [head], fallbackResources: { CPU: 4 }, demands: [cpu(4, 2)] }));
  assert.deepEqual(viaHead.toLaunch, { any: 2 });
  assert.deepEqual(viaHead.nodeTypeResources.any, { CPU: 4 });
  const live = { type: "any", kind: "worker" as const, total: { CPU: 16 }, available: { CPU: 0 } };
  const viaLive = getNodesToLaunch(sched({ nodeTypes: types, nodes: [head, live], fallbackResources: { CPU: 4 }, demands: [cpu(16, 2)] }));
  assert.deepEqual(viaLive.toLaunch, { any: 2 });
  assert.deepEqual(viaLive.infeasible, []);
  // Without a live node, a 16-CPU demand cannot fit the head's 4 CPUs.
  assert.deepEqual(getNodesToLaunch(sched({ nodeTypes: types, nodes: [head], fallbackResources: { CPU: 4 }, demands: [cpu(16, 1)] })).infeasible, [{ CPU: 16 }]);
});

test("isIdle ignores object_store_memory", () => {
  assert.equal(isIdle({ CPU: 4, object_store_memory: 100 }, { CPU: 4, object_store_memory: 10 }), true);
  assert.equal(isIdle({ CPU: 4, memory: 100 }, { CPU: 4, memory: 50 }), false);
  assert.equal(isIdle({ CPU: 4 }, { CPU: 3.5 }), false);
});

// ---------------------------------------------------------------- autoscaler

test("launches workers for demand beyond the head's CPUs, with the worker tags", async () => {
  const h = harness();
  const s = await h.step([cpu(1, 10)]);
  assert.deepEqual(s.launched, { cpu: 2 });
  assert.equal(h.provider.createCalls.length, 1);
  const call = h.provider.createCalls[0]!;
  assert.equal(call.count, 2);
  assert.deepEqual(call.tags, {
    [TAG.clusterName]: "test", [TAG.nodeKind]: NODE_KIND.worker, [TAG.userNodeType]: "cpu",
    [TAG.nodeStatus]: NODE_STATUS.uninitialized, [TAG.launchConfig]: hash("cpu", makeConfig({ cpu: { resources: {} } })),
    [TAG.nodeName]: "stingray-test-worker",
  });
  assert.deepEqual(call.extra?.resources, { CPU: 4 });
  assert.ok(h.logs.some((l) => l.startsWith("adding 2 nodes of type cpu")));
  // The next update sets them up (once each); the one after sees them registered.
  await h.step([cpu(1, 10)]);
  assert.equal(h.updaterCalls.length, 2);
  const s3 = await h.step([]);
  assert.equal(h.updaterCalls.length, 2);
  assert.equal(s3.activeNodes.length, 3);
  assert.equal(h.launched("cpu"), 2);
});

test("respects per-type and global max_workers", async () => {
  const h = harness({ types: { head: { resources: { CPU: 2 }, max_workers: 0 }, cpu: { resources: { CPU: 4 }, max_workers: 3 } } });
  await h.step([cpu(4, 100)]);
  assert.equal(h.launched("cpu"), 3);
  const g = harness({ config: { max_workers: 2 } });
  await g.step([cpu(4, 100)]);
  assert.equal(g.launched("cpu"), 2);
  await g.step([cpu(4, 100)]);
  await g.step([cpu(4, 100)]);
  assert.equal(g.launched("cpu"), 2, "no more once the cluster holds max_workers");
});

test("upscaling_speed limits nodes pending at once; in-flight launches count as pending", async () => {
  const h = harness({ types: { head: { resources: { CPU: 2 }, max_workers: 0 }, cpu: { resources: { CPU: 4 }, max_workers: 100 } },
    config: { max_workers: 100, upscaling_speed: 2 } });
  let open!: () => void;
  h.provider.createGate = new Promise((r) => { open = r; });
  const demand = [cpu(4, 1000)];
  await h.a.update(h.load(demand));
  assert.equal(h.launched("cpu"), 5, "max(5, 2 * max(0 running, 1))");
  await h.a.update(h.load(demand));
  assert.equal(h.launched("cpu"), 5, "the 5 in flight use the allowance");
  open();
  h.provider.createGate = undefined;
  await h.a.settled();
  await h.step(demand); // sets up the 5; they are pending (not registered) while this update decides
  assert.equal(h.launched("cpu"), 5);
  await h.step(demand); // 5 running: 2 * 5 = 10 may be pending
  assert.equal(h.launched("cpu"), 15);
  // Batches of at most 5 nodes per create call.
  assert.ok(h.provider.createCalls.every((c) => c.count <= 5));
});

test("min_workers are launched with no demand and kept when idle", async () => {
  const h = harness({ types: { head: { resources: { CPU: 2 }, max_workers: 0 }, cpu: { resources: { CPU: 4 }, min_workers: 2, max_workers: 5 } },
    config: { idle_timeout_minutes: 1 } });
  await h.step();
  assert.equal(h.launched("cpu"), 2);
  await h.step();
  await h.step();
  h.advance(10 * 60_000);
  await h.step();
  assert.equal(h.launched("cpu"), 2);
  assert.equal(h.provider.terminated.length, 0);
});

test("a GPU demand launches the GPU type", async () => {
  const h = harness({ types: {
    head: { resources: { CPU: 2 }, max_workers: 0 },
    cpu: { resources: { CPU: 8 } },
    gpu: { resources: { CPU: 8, GPU: 2 } },
  } });
  await h.step([{ shape: { CPU: 1, GPU: 1 }, count: 2 }]);
  assert.equal(h.launched("gpu"), 1);
  assert.equal(h.launched("cpu"), 0);
  // 20 CPUs: 2 on the head, 8 on the GPU node being set up, the other 10 on CPU-only nodes.
  await h.step([cpu(1, 20)]);
  assert.equal(h.launched("cpu"), 2, "CPU-only work does not take new GPU nodes");
  assert.equal(h.launched("gpu"), 1);
});

test("infeasible demand is reported and not launched for", async () => {
  const h = harness();
  const s = await h.step([{ shape: { GPU: 1 }, count: 4 }, cpu(1, 1)]);
  assert.deepEqual(s.infeasible, [{ GPU: 1 }]);
  assert.equal(h.provider.createCalls.length, 0);
  assert.ok(h.logs.some((l) => l.includes("no node type can hold a demand for {GPU: 1}")));
  assert.ok(formatDemandLines(s).some((l) => l.includes("{GPU: 1}: 4+ pending tasks/actors (infeasible")));
});

test("resource requests size the cluster and keep the nodes they need", async () => {
  const h = harness({ config: { idle_timeout_minutes: 1 } });
  const req = [{ CPU: 4 }, { CPU: 4 }, { CPU: 4 }];
  await h.step([], req);
  assert.equal(h.launched("cpu"), 3);
  await h.step([], req);
  await h.step([], req);
  h.advance(5 * 60_000);
  await h.step([], req);
  assert.equal(h.provider.terminated.length, 0, "idle, but needed by requestResources");
  assert.equal(h.launched("cpu"), 3);
  // Request withdrawn: the idle workers go.
  await h.step([], []);
  assert.equal(h.provider.terminated.length, 3);
});

test("idle workers are terminated after idle_timeout, not below min_workers, never the head", async () => {
  const h = harness({ types: { head: { resources: { CPU: 2 }, max_workers: 0 }, cpu: { resources: { CPU: 4 }, min_workers: 1 } },
    config: { idle_timeout_minutes: 5 } });
  const a = h.addWorker("cpu"), b = h.addWorker("cpu"), c = h.addWorker("cpu");
  h.used.set(c.id, { CPU: 1 }); // busy
  await h.step();
  h.advance(4 * 60_000);
  await h.step();
  assert.equal(h.provider.terminated.length, 0, "not idle long enough");
  h.advance(2 * 60_000);
  const s = await h.step();
  // a and b idle > 5 min; c, busy and most recently used, is the one min_workers keeps.
  assert.deepEqual([...h.provider.terminated].sort(), [a.id, b.id].sort());
  assert.ok(!h.provider.terminated.includes("head-1"));
  assert.ok(s.recentTerminations.every((t) => t.reason === "idle for more than 5 minutes" && !t.failure));
  assert.equal(h.launched("cpu"), 0);
  // c idle too: min_workers keeps it.
  h.used.delete(c.id);
  await h.step();
  h.advance(10 * 60_000);
  await h.step();
  assert.equal(h.provider.terminated.length, 2);
  assert.equal(h.workers("cpu").length, 1);
  // The head, idle for hours, stays.
  h.advance(3 * 3600_000);
  await h.step();
  assert.ok(h.provider.nodes.has("head-1"));
});

test("a launch failure is logged, reported, and retried on a later update", async () => {
  const h = harness();
  h.provider.createError = new Error("InsufficientInstanceCapacity");
  const s1 = await h.a.update(h.load([cpu(4, 1)]));
  await h.a.settled();
  assert.equal(h.provider.createCalls.length, 1);
  assert.ok(h.logs.some((l) => l.includes("failed (retried next update): InsufficientInstanceCapacity")));
  assert.equal(s1.error, undefined);
  const s2 = await h.step([cpu(4, 1)]);
  assert.deepEqual(s2.failedLaunches.map((f) => [f.type, f.count, f.reason]), [["cpu", 1, "InsufficientInstanceCapacity"]]);
  assert.ok(formatStatusLines(s2).some((l) => l.includes("cpu: launching 1 node failed: InsufficientInstanceCapacity")));
  assert.equal(h.provider.createCalls.length, 2, "retried");
  h.provider.createError = undefined;
  await h.step([cpu(4, 1)]);
  assert.equal(h.provider.createCalls.length, 3);
  assert.equal(h.workers("cpu").length, 1);
});

test("update() does not throw when the provider fails", async () => {
  const h = harness();
  h.provider.nonTerminatedNodes = () => Promise.reject(new Error("API down"));
  const s = await h.a.update(h.load([cpu(1, 10)]));
  assert.equal(s.error, "API down");
  assert.ok(formatStatusLines(s).includes("Last update failed: API down"));
});

test("a node whose setup failed is terminated, and replaced if still needed", async () => {
  const h = harness({ updater: async () => { throw new Error("setup command exited 1"); } });
  await h.step([cpu(4, 1)]);
  const [w] = h.workers("cpu");
  await h.step([cpu(4, 1)]); // updater runs and fails
  assert.equal(h.updaterCalls.length, 1);
  const s = await h.step([cpu(4, 1)]);
  assert.deepEqual(h.provider.terminated, [w!.id]);
  assert.equal(s.recentTerminations[0]!.reason, "setup failed: setup command exited 1");
  assert.ok(formatStatusLines(s).some((l) => l.includes("setup failed: setup command exited 1")));
  assert.equal(h.launched("cpu"), 2, "the demand is still there: a new node");
  // A node tagged update-failed by someone else's updater goes too.
  const x = h.addWorker("cpu", { [TAG.nodeStatus]: NODE_STATUS.updateFailed });
  await h.step();
  assert.ok(h.provider.terminated.includes(x.id));
});

test("each node is set up once, and again only when marked uninitialized after a successful setup", async () => {
  const h = harness();
  await h.step([cpu(4, 1)]);
  const [w] = h.workers("cpu");
  await h.step([cpu(4, 1)]);
  await h.step();
  await h.step();
  assert.deepEqual(h.updaterCalls, [w!.id]);
  // The monitor marks it for a new setup (its runtime config changed).
  await h.provider.setNodeTags(w!.id, { [TAG.nodeStatus]: NODE_STATUS.uninitialized });
  await h.step();
  assert.deepEqual(h.updaterCalls, [w!.id, w!.id]);
  await h.step();
  assert.equal(h.updaterCalls.length, 2);
  assert.equal(h.provider.terminated.length, 0);
});

test("a node with an outdated launch hash is replaced", async () => {
  const h = harness({ types: { head: { resources: { CPU: 2 }, max_workers: 0 }, cpu: { resources: { CPU: 4 }, min_workers: 1 } } });
  const old = h.addWorker("cpu", { [TAG.launchConfig]: "old-hash" });
  const s = await h.step();
  assert.deepEqual(h.provider.terminated, [old.id]);
  assert.match(s.recentTerminations[0]!.reason, /^outdated/);
  assert.equal(h.launched("cpu"), 1, "min_workers brings a current one");
  assert.equal(h.workers("cpu")[0]!.tags[TAG.launchConfig], hash("cpu", makeConfig({ cpu: { resources: {} } })));
});

test("config changes: workers beyond the new max_workers or of a removed type are terminated", async () => {
  const types = { head: { resources: { CPU: 2 }, max_workers: 0 }, cpu: { resources: { CPU: 4 } }, old: { resources: { CPU: 4 } } };
  const h = harness({ types });
  for (let i = 0; i < 4; i++) h.addWorker("cpu");
  const o = h.addWorker("old");
  for (const w of h.workers()) h.used.set(w.id, { CPU: 1 });
  await h.step();
  assert.equal(h.provider.terminated.length, 0);
  h.setConfig({ max_workers: 2 }, { head: types.head, cpu: types.cpu });
  const s = await h.step();
  assert.equal(h.provider.terminated.length, 3);
  assert.ok(h.provider.terminated.includes(o.id));
  const reasons = s.recentTerminations.map((t) => t.reason).sort();
  assert.deepEqual(reasons, ["more than max_workers (2) in the cluster", "more than max_workers (2) in the cluster", "node type old is not in available_node_types"]);
});

test("a set-up node that never registers with the GCS is terminated after the heartbeat timeout", async () => {
  const h = harness();
  await h.step([cpu(4, 1)]);
  const [w] = h.workers("cpu");
  h.silent.add(w!.id);
  await h.step([cpu(4, 1)]); // set up
  await h.step([cpu(4, 1)]);
  h.advance(20_000);
  await h.step([cpu(4, 1)]);
  assert.equal(h.provider.terminated.length, 0);
  h.advance(20_000);
  const s = await h.step([cpu(4, 1)]);
  assert.deepEqual(h.provider.terminated, [w!.id]);
  assert.match(s.recentTerminations[0]!.reason, /^unhealthy/);
  assert.equal(s.recentTerminations[0]!.failure, true);
});

test("a node type with {} resources is sized from a live node, else from the head", async () => {
  const types = { head: { resources: {}, max_workers: 0 }, any: { resources: {} } };
  const h = harness({ types, detected: { head: { CPU: 4 }, any: { CPU: 16 } } });
  h.used.set("head-1", { CPU: 4 });
  const s1 = await h.step([cpu(16, 1)]);
  assert.deepEqual(s1.infeasible, [{ CPU: 16 }], "sized like the head (4 CPUs), nothing fits");
  await h.step([cpu(4, 2)]);
  assert.equal(h.launched("any"), 2);
  assert.deepEqual(h.provider.createCalls[0]!.extra?.resources, {}, "the provider gets the type's resources as configured");
  await h.step([cpu(4, 2)]); // set up; registered with 16 CPUs each from now on
  for (const w of h.workers()) h.used.set(w.id, { CPU: 16 });
  const s = await h.step([cpu(16, 1)]);
  assert.deepEqual(s.infeasible, []);
  assert.equal(h.launched("any"), 3);
});

test("provider nodes are matched to GCS nodes by instance id, even on one IP", async () => {
  const h = harness({ config: { idle_timeout_minutes: 1 } });
  const a = h.addWorker("cpu"), b = h.addWorker("cpu");
  a.internalIp = b.internalIp = "10.0.0.1"; // fake multi-node: every raylet on the head's address
  h.provider.nodes.get("head-1")!.internalIp = "10.0.0.1";
  h.used.set(b.id, { CPU: 4 });
  await h.step();
  h.advance(2 * 60_000);
  const s = await h.step();
  assert.deepEqual(h.provider.terminated, [a.id]);
  assert.equal(s.activeNodes.length, 2);
});

test("formatStatusLines renders active, pending and failed nodes like ray status", () => {
  const s: AutoscalerStatus = {
    time: 0, clusterName: "c", launched: {},
    activeNodes: [{ id: "h", type: "head", ip: "10.0.0.1", kind: "head", gcsNodeId: "g1" }, { id: "w", type: "worker_type", ip: "10.0.0.2", kind: "worker", gcsNodeId: "g2" }],
    idleNodes: [{ id: "w", type: "worker_type", ip: "10.0.0.2", idleSeconds: 30 }],
    pendingNodes: [{ id: "w2", type: "worker_type", ip: "10.0.0.5", status: "setting-up" }, { type: "worker_type", status: "launching" }, { type: "worker_type", status: "launching" }],
    failedLaunches: [{ type: "gpu", count: 2, reason: "quota", time: 3_600_000 }],
    recentTerminations: [{ id: "w9", type: "worker_type", ip: "10.0.0.9", reason: "setup failed: boom", time: 0, failure: true },
      { id: "w8", type: "worker_type", reason: "idle for more than 5 minutes", time: 0, failure: false }],
    infeasible: [], pendingDemands: [], unfulfilledDemands: [], resourceRequests: [{ CPU: 4 }, { CPU: 4 }],
  };
  assert.deepEqual(formatStatusLines(s), [
    "Node status", "-".repeat(63),
    "Active:", " 1 head", " 1 worker_type",
    "Idle:", " 1 worker_type",
    "Pending:", " worker_type, 2 launching", " 10.0.0.5: worker_type, setting-up",
    "Recent failures:", " gpu: launching 2 nodes failed: quota (at 01:00:00)", " 10.0.0.9: worker_type, setup failed: boom (at 00:00:00)",
  ]);
  assert.deepEqual(formatDemandLines(s), ["Demands:", " {CPU: 4}: 2 from requestResources()"]);
  assert.deepEqual(JSON.parse(JSON.stringify(s)), s, "JSON-serialisable");
  const empty = formatStatusLines({ ...s, activeNodes: [], idleNodes: [], pendingNodes: [], failedLaunches: [], recentTerminations: [] });
  assert.deepEqual(empty.slice(2), ["Active:", " (no active nodes)", "Pending:", " (no pending nodes)", "Recent failures:", " (no failures)"]);
});

test("a node id the provider hands out again (local IPs) is a new node: set up again and counted", async () => {
  let fail = true;
  const h = harness({ updater: async (node, _t, p) => {
    if (fail) throw new Error("did not answer over SSH");
    await p.setNodeTags(node.id, { [TAG.nodeStatus]: NODE_STATUS.upToDate });
  } });
  h.provider.idPool = ["10.0.0.50"];
  await h.step([cpu(4, 1)]);   // launch 10.0.0.50
  await h.step([cpu(4, 1)]);   // its setup fails
  fail = false;
  await h.step([cpu(4, 1)]);   // terminated, and the same id launched again at once
  assert.deepEqual(h.provider.terminated, ["10.0.0.50"]);
  await h.step([cpu(4, 1)]);   // set up again, with the same id
  assert.deepEqual(h.updaterCalls, ["10.0.0.50", "10.0.0.50"]);
  const s = await h.step();
  assert.equal(h.workers("cpu")[0]!.tags[TAG.nodeStatus], NODE_STATUS.upToDate);
  assert.ok(s.activeNodes.some((n) => n.id === "10.0.0.50"), "the node counts as active");
});
