/**
 * @module raylet/metrics
 * The node's Prometheus export, hosted by its raylet (Ray's per-node metrics agent): node, object
 * store, worker and scheduler figures, and — on the head — the cluster's tasks, actors, jobs and
 * nodes as the GCS knows them. Gauges are refreshed on each scrape (metrics/exporter.ts).
 */
import { Registry, type Metric } from "prom-client";
import type { Req } from "../protocol/messages.ts";
import { JOBS_NS } from "../common/kv_namespaces.ts";

type UserMetric = Req<"raylet.ReportMetrics">["metrics"][number];
type UserSeries = UserMetric["series"][number];

/**
 * Application metrics of the node's processes: each process's latest cumulative snapshot; when a
 * process exits, its counters and histograms are folded into `retired` (their counts stay), and
 * its gauges are dropped.
 */
export class UserMetricsTable {
  private byWorker = new Map<string, UserMetric[]>();
  private retired = new Map<string, { def: UserMetric; series: Map<string, UserSeries> }>();

  report(workerId: string, metrics: UserMetric[]): void { this.byWorker.set(workerId, metrics); }

  workerExited(workerId: string): void {
    const ms = this.byWorker.get(workerId);
    this.byWorker.delete(workerId);
    for (const m of ms ?? []) {
      if (m.kind === "gauge") continue;
      let r = this.retired.get(m.name);
      if (!r) this.retired.set(m.name, (r = { def: m, series: new Map() }));
      for (const s of m.series) merge(r.series, m, s);
    }
  }

  /** Per metric name: its definition and the node-wide series (counters and histograms summed, gauges last-written). */
  aggregate(): Map<string, { def: UserMetric; series: Map<string, UserSeries> }> {
    const out = new Map<string, { def: UserMetric; series: Map<string, UserSeries> }>();
    for (const [name, r] of this.retired) out.set(name, { def: r.def, series: new Map([...r.series].map(([k, v]) => [k, { ...v, buckets: v.buckets ? [...v.buckets] : undefined }])) });
    for (const ms of this.byWorker.values()) {
      for (const m of ms) {
        let e = out.get(m.name);
        if (!e) out.set(m.name, (e = { def: m, series: new Map() }));
        if (e.def.kind !== m.kind) continue; // two processes disagree on the kind: keep the first
        for (const s of m.series) merge(e.series, m, s);
      }
    }
    return out;
  }
}

function merge(into: Map<string, UserSeries>, m: UserMetric, s: UserSeries): void {
  const key = m.tagKeys.map((k) => s.tags[k] ?? "").join("\u0000");
  const cur = into.get(key);
  if (!cur) { into.set(key, { ...s, buckets: s.buckets ? [...s.buckets] : undefined }); return; }
  if (m.kind === "gauge") { if (s.t >= cur.t) into.set(key, { ...s }); return; }
  cur.value += s.value;
  cur.sum += s.sum;
  cur.count += s.count;
  if (cur.buckets && s.buckets && cur.buckets.length === s.buckets.length) for (let i = 0; i < s.buckets.length; i++) cur.buckets[i]! += s.buckets[i]!;
}
import { clusterMetrics, nodeMetrics, RPC_METRICS, type ClusterMetrics, type NodeMetrics } from "../metrics/definitions.ts";
import { MetricsExporter } from "../metrics/exporter.ts";
import { NodeStatsSampler } from "./node_stats.ts";
import { RPC_LATENCY_BUCKETS_MS, type Connection, type RpcStats } from "../protocol/connection.ts";
import type { ObjectStore } from "../object_store/store.ts";
import type { WorkerHandle } from "./worker_pool.ts";

/** What the raylet lends its metrics: read-only views of its state. */
export interface NodeView {
  sessionName: string;
  nodeId: string;
  nodeIp: string;
  isHead: boolean;
  store: ObjectStore;
  workers(): Iterable<WorkerHandle>;
  leases(): number;
  pendingLeases(): number;
  infeasibleShapes(): number;
  total(): Record<string, number>;
  available(): Record<string, number>;
  gcs(): Connection | undefined;
  rpcStats: RpcStats;
}

export class NodeMetricsExport {
  readonly registry = new Registry();
  private node: NodeMetrics;
  private cluster: ClusterMetrics | undefined;
  private sampler: NodeStatsSampler;
  private exporter: MetricsExporter;
  private view: NodeView;
  readonly user = new UserMetricsTable();
  /** Application metric names registered in `registry` (exported as the user named them). */
  private userNames = new Set<string>();
  private lastSpilled = 0;
  private lastRestored = 0;

  constructor(view: NodeView, o: { host: string; port: number; token: string; allowUnauthenticated: boolean; sessionDir: string }) {
    this.view = view;
    this.node = nodeMetrics(this.registry);
    if (view.isHead) this.cluster = clusterMetrics(this.registry);
    this.sampler = new NodeStatsSampler(o.sessionDir);
    this.exporter = new MetricsExporter({ ...o, registry: this.registry, collect: () => this.collect() });
    this.registerRpcMetrics({ SessionName: view.sessionName, NodeAddress: view.nodeIp, NodeId: view.nodeId });
  }

  /** The GCS's RPC figures (head only), fetched at scrape time. */
  private gcsRpc: { method: string; calls: number; errors: number; buckets: number[]; sumMs: number }[] = [];

  private registerRpcMetrics(labels: Record<string, string>): void {
    const rows = (): { component: string; method: string; m: { calls: number; errors: number; buckets: number[]; sumMs: number } }[] => [
      ...[...this.view.rpcStats.methods].map(([method, m]) => ({ component: "raylet", method, m })),
      ...this.gcsRpc.map((m) => ({ component: "gcs", method: m.method, m })),
    ];
    const metric = (name: string, help: string, type: "counter" | "histogram", values: () => unknown[]): Metric =>
      ({ name, help, type, aggregator: "sum", reset: () => {}, get: async () => ({ name, help, type, aggregator: "sum", values: values() }) }) as unknown as Metric;
    this.registry.registerMetric(metric(RPC_METRICS.handled.name, RPC_METRICS.handled.help, "counter",
      () => rows().map((r) => ({ value: r.m.calls, labels: { ...labels, Component: r.component, Method: r.method } }))));
    this.registry.registerMetric(metric(RPC_METRICS.failed.name, RPC_METRICS.failed.help, "counter",
      () => rows().map((r) => ({ value: r.m.errors, labels: { ...labels, Component: r.component, Method: r.method } }))));
    this.registry.registerMetric(metric(RPC_METRICS.latency.name, RPC_METRICS.latency.help, "histogram", () => rows().flatMap((r) => {
      const l = { ...labels, Component: r.component, Method: r.method };
      let acc = 0;
      return [
        ...r.m.buckets.map((n, i) => {
          acc += n;
          return { value: acc, labels: { ...l, le: i < RPC_LATENCY_BUCKETS_MS.length ? RPC_LATENCY_BUCKETS_MS[i]! : "+Inf" }, metricName: `${RPC_METRICS.latency.name}_bucket` };
        }),
        { value: r.m.sumMs, labels: l, metricName: `${RPC_METRICS.latency.name}_sum` },
        { value: r.m.calls, labels: l, metricName: `${RPC_METRICS.latency.name}_count` },
      ];
    })));
  }

  get port(): number { return this.exporter.port; }
  start(): Promise<void> { return this.exporter.start(); }
  stop(): Promise<void> { return this.exporter.stop(); }

  private async collect(): Promise<void> {
    const v = this.view;
    const l = { SessionName: v.sessionName, NodeAddress: v.nodeIp, NodeId: v.nodeId };
    const m = this.node;
    const s = this.sampler.sample();
    m.cpuUtilization.set(l, s.cpuUtilization * 100);
    m.cpuCount.set(l, s.cpuCount);
    m.memUsed.set(l, s.memUsed);
    m.memTotal.set(l, s.memTotal);
    m.diskUsed.set(l, s.diskUsed);
    m.diskTotal.set(l, s.diskTotal);
    m.netSent.set(l, s.netSent);
    m.netReceived.set(l, s.netReceived);
    m.loadAvg1.set(l, s.loadAvg[0] ?? 0);
    m.resourcesTotal.reset();
    m.resourcesAvailable.reset();
    for (const [k, x] of Object.entries(v.total())) m.resourcesTotal.set({ ...l, Name: k }, x);
    for (const [k, x] of Object.entries(v.available())) m.resourcesAvailable.set({ ...l, Name: k }, x);
    const st = v.store.stats();
    m.objectStoreUsed.set({ ...l, Location: "MMAP_SHM" }, st.used);
    m.objectStoreUsed.set({ ...l, Location: "SPILLED" }, st.spilledBytes);
    m.objectStoreCapacity.set(l, Math.max(0, st.capacity - st.used));
    m.objectStoreObjects.set(l, st.objects);
    m.spilledBytes.set(l, st.spilledBytes);
    if (st.spilledObjects > this.lastSpilled) m.spilledObjects.inc(l, st.spilledObjects - this.lastSpilled);
    if (st.restoredObjects > this.lastRestored) m.restoredObjects.inc(l, st.restoredObjects - this.lastRestored);
    this.lastSpilled = st.spilledObjects;
    this.lastRestored = st.restoredObjects;
    const byState: Record<string, number> = { starting: 0, idle: 0, leased: 0 };
    for (const w of v.workers()) if (w.state !== "dead") byState[w.state] = (byState[w.state] ?? 0) + 1;
    for (const [k, x] of Object.entries(byState)) m.workers.set({ ...l, State: k.toUpperCase() }, x);
    m.leases.set(l, v.leases());
    m.pendingLeases.set(l, v.pendingLeases());
    m.infeasible.set(l, v.infeasibleShapes());
    if (this.cluster) await this.collectCluster(this.cluster, v.sessionName);
    this.registerUserMetrics(l);
  }

  /** Application metrics: one prom-client metric per name, whose values are the node-wide aggregate. */
  private registerUserMetrics(nodeLabels: Record<string, string>): void {
    for (const [name, e] of this.user.aggregate()) {
      if (this.userNames.has(name)) continue;
      if (this.registry.getSingleMetric(name)) continue; // a built-in metric's name: not overridable
      this.userNames.add(name);
      const def = e.def;
      const metric = {
        name, help: def.description, type: def.kind, aggregator: "sum",
        get: async () => {
          const cur = this.user.aggregate().get(name);
          const values: { value: number; labels: Record<string, string | number>; metricName?: string }[] = [];
          for (const s of cur?.series.values() ?? []) {
            const labels = { ...nodeLabels, ...s.tags };
            if (def.kind !== "histogram") { values.push({ value: s.value, labels }); continue; }
            let acc = 0;
            const b = def.boundaries ?? [];
            s.buckets?.forEach((n, i) => {
              acc += n;
              values.push({ value: acc, labels: { ...labels, le: i < b.length ? b[i]! : "+Inf" }, metricName: `${name}_bucket` });
            });
            values.push({ value: s.sum, labels, metricName: `${name}_sum` });
            values.push({ value: s.count, labels, metricName: `${name}_count` });
          }
          return { name, help: def.description, type: def.kind, aggregator: "sum", values };
        },
        reset: () => {},
      };
      this.registry.registerMetric(metric as unknown as Metric);
    }
  }

  private async collectCluster(c: ClusterMetrics, session: string): Promise<void> {
    const gcs = this.view.gcs();
    if (!gcs || gcs.closed) return;
    const [tasks, { actors }, { jobs }, { nodes }, rpc] = await Promise.all([
      gcs.request("gcs.GetTaskEvents", { limit: 0, byFunction: true }), gcs.request("gcs.ListActors", {}), gcs.request("gcs.GetAllJobs", {}),
      gcs.request("gcs.GetAllNodes", {}), gcs.request("gcs.GetRpcStats", {}),
    ]);
    this.gcsRpc = rpc.methods;
    c.tasks.reset();
    for (const t of tasks.totals) {
      if (t.finished) c.tasks.inc({ SessionName: session, State: "FINISHED", Name: t.fn, JobId: t.jobId }, t.finished);
      if (t.failed) c.tasks.inc({ SessionName: session, State: "FAILED", Name: t.fn, JobId: t.jobId }, t.failed);
    }
    // Current states come from the task table (which holds every task not dropped under floods).
    for (const x of tasks.byFunction ?? []) {
      if (x.state !== "FINISHED" && x.state !== "FAILED") c.tasks.inc({ SessionName: session, State: x.state, Name: x.fn, JobId: x.jobId }, x.n);
    }
    c.actors.reset();
    for (const a of actors) c.actors.inc({ SessionName: session, State: a.state, Name: a.className });
    c.jobs.reset();
    for (const j of jobs) c.jobs.inc({ SessionName: session, State: j.state });
    // Job API submissions: one JSON record each in the GCS KV store.
    const { keys } = await gcs.request("gcs.KvKeys", { ns: JOBS_NS, prefix: "" });
    const records = await Promise.all(keys.map((key) => gcs.request("gcs.KvGet", { ns: JOBS_NS, key })));
    c.submittedJobs.reset();
    for (const st of ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "STOPPED"]) c.submittedJobs.set({ SessionName: session, Status: st }, 0);
    for (const r of records) {
      try {
        const status = (JSON.parse(Buffer.from(r.value ?? new Uint8Array()).toString("utf8")) as { status?: string }).status;
        if (status) c.submittedJobs.inc({ SessionName: session, Status: status });
      } catch { /* a record being rewritten */ }
    }
    c.nodes.reset();
    for (const n of nodes) c.nodes.inc({ SessionName: session, State: n.state });
    c.gcsTable.set({ SessionName: session, Table: "nodes" }, nodes.length);
    c.gcsTable.set({ SessionName: session, Table: "actors" }, actors.length);
    c.gcsTable.set({ SessionName: session, Table: "jobs" }, jobs.length);
    c.gcsTable.set({ SessionName: session, Table: "tasks" }, tasks.total);
    c.droppedTaskEvents.set({ SessionName: session }, tasks.dropped);
  }
}
