/**
 * @module dashboard/metrics_history
 * The dashboard's own store of recent cluster samples, so its charts work without Prometheus:
 * every `dashboard_sample_interval_s` it reads the GCS (resources, task and actor counts) and each
 * node's raylet (memory, object store), and keeps `dashboard_history_window_s` of samples in a ring.
 */
import type { MetricName, MetricsHistory } from "./api_types.ts";
import type { ClusterSource } from "./cluster.ts";
import { config } from "../common/config.ts";

const NAMES: MetricName[] = [
  "cpu_used", "cpu_total", "gpu_used", "gpu_total", "memory_used_bytes", "memory_total_bytes", "object_store_used_bytes",
  "object_store_capacity_bytes", "tasks_running", "tasks_pending", "tasks_finished_per_s", "tasks_failed_per_s", "actors_alive",
  "nodes_alive",
];

export class MetricsHistoryStore {
  private times: number[] = [];
  private series = Object.fromEntries(NAMES.map((n) => [n, [] as number[]])) as Record<MetricName, number[]>;
  private readonly intervalS = config("dashboard_sample_interval_s");
  private readonly windowS = config("dashboard_history_window_s");
  private timer: NodeJS.Timeout | undefined;
  private last: { t: number; finished: number; failed: number } | undefined;
  private source: ClusterSource;
  private busy = false;

  constructor(source: ClusterSource) { this.source = source; }

  start(): void {
    void this.sample();
    this.timer = setInterval(() => { void this.sample(); }, this.intervalS * 1000);
    this.timer.unref();
  }

  stop(): void { if (this.timer) clearInterval(this.timer); }

  async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const [nodes, actors, tasks] = await Promise.all([this.source.nodes(), this.source.actors(), this.source.tasks({ limit: 0 })]);
      const alive = nodes.filter((n) => n.state === "ALIVE");
      let cpuT = 0, cpuA = 0, gpuT = 0, gpuA = 0;
      for (const n of alive) {
        cpuT += n.resources.CPU ?? 0; cpuA += n.available.CPU ?? 0;
        gpuT += n.resources.GPU ?? 0; gpuA += n.available.GPU ?? 0;
      }
      let memU = 0, memT = 0, osU = 0, osC = 0;
      const stats = await Promise.allSettled(alive.map(async (n) => {
        const [sys, st] = await Promise.all([this.source.node(n.nodeId, "raylet.GetNodeStats", {}), this.source.node(n.nodeId, "raylet.GetStats", {})]);
        return { sys, st };
      }));
      for (const s of stats) {
        if (s.status !== "fulfilled") continue;
        memU += s.value.sys.memUsed; memT += s.value.sys.memTotal; osU += s.value.st.storeUsed; osC += s.value.st.storeCapacity;
      }
      const c = tasks.stateCounts;
      const now = Date.now();
      let finished = 0, failed = 0;
      for (const t of tasks.totals) { finished += t.finished; failed += t.failed; }
      const dt = this.last ? (now - this.last.t) / 1000 : 0;
      const rate = (cur: number, prev: number | undefined): number => (dt > 0 && prev !== undefined ? Math.max(0, cur - prev) / dt : 0);
      const v: Record<MetricName, number> = {
        cpu_used: cpuT - cpuA, cpu_total: cpuT, gpu_used: gpuT - gpuA, gpu_total: gpuT, memory_used_bytes: memU, memory_total_bytes: memT,
        object_store_used_bytes: osU, object_store_capacity_bytes: osC, tasks_running: c.RUNNING ?? 0,
        tasks_pending: (c.PENDING_NODE_ASSIGNMENT ?? 0) + (c.PENDING_ARGS_AVAIL ?? 0) + (c.SUBMITTED_TO_WORKER ?? 0),
        tasks_finished_per_s: rate(finished, this.last?.finished), tasks_failed_per_s: rate(failed, this.last?.failed),
        actors_alive: actors.filter((a) => a.state === "ALIVE").length, nodes_alive: alive.length,
      };
      this.last = { t: now, finished, failed };
      this.times.push(now);
      for (const n of NAMES) this.series[n].push(v[n]);
      const keep = Math.max(1, Math.ceil(this.windowS / this.intervalS));
      if (this.times.length > keep) {
        const drop = this.times.length - keep;
        this.times.splice(0, drop);
        for (const n of NAMES) this.series[n].splice(0, drop);
      }
    } catch {
      // The GCS is unreachable for now: skip this sample.
    } finally {
      this.busy = false;
    }
  }

  /** The charts' data: from Prometheus when STINGRAY_PROMETHEUS_HOST is set (and answers), else the dashboard's own samples. */
  async history(sinceMs?: number): Promise<MetricsHistory> {
    const prom = process.env.STINGRAY_PROMETHEUS_HOST;
    if (prom) {
      try {
        return await prometheusHistory(prom, sinceMs ?? Date.now() - this.windowS * 1000, this.windowS);
      } catch { /* Prometheus is down: fall back to the dashboard's own samples */ }
    }
    return this.ownHistory(sinceMs);
  }

  ownHistory(sinceMs?: number): MetricsHistory {
    let from = 0;
    if (sinceMs !== undefined) while (from < this.times.length && this.times[from]! <= sinceMs) from++;
    return {
      source: "dashboard", interval_s: this.intervalS, window_s: this.windowS, times: this.times.slice(from),
      series: Object.fromEntries(NAMES.map((n) => [n, this.series[n].slice(from)])) as Record<MetricName, number[]>,
    };
  }
}

/** The same series as PromQL over the metrics every node exports (metrics/definitions.ts). */
export const PROMQL: Record<MetricName, string> = {
  cpu_used: 'sum(stingray_resources_total{Name="CPU"}) - sum(stingray_resources_available{Name="CPU"})',
  cpu_total: 'sum(stingray_resources_total{Name="CPU"})',
  gpu_used: '(sum(stingray_resources_total{Name="GPU"}) - sum(stingray_resources_available{Name="GPU"})) or vector(0)',
  gpu_total: 'sum(stingray_resources_total{Name="GPU"}) or vector(0)',
  memory_used_bytes: "sum(stingray_node_mem_used)",
  memory_total_bytes: "sum(stingray_node_mem_total)",
  object_store_used_bytes: 'sum(stingray_object_store_memory{Location="MMAP_SHM"})',
  object_store_capacity_bytes: 'sum(stingray_object_store_memory{Location="MMAP_SHM"}) + sum(stingray_object_store_available_memory)',
  tasks_running: 'sum(stingray_tasks{State="RUNNING"}) or vector(0)',
  tasks_pending: 'sum(stingray_tasks{State=~"PENDING_ARGS_AVAIL|PENDING_NODE_ASSIGNMENT|SUBMITTED_TO_WORKER"}) or vector(0)',
  tasks_finished_per_s: 'sum(rate(stingray_tasks{State="FINISHED"}[1m])) or vector(0)',
  tasks_failed_per_s: 'sum(rate(stingray_tasks{State="FAILED"}[1m])) or vector(0)',
  actors_alive: 'sum(stingray_actors{State="ALIVE"}) or vector(0)',
  nodes_alive: 'sum(stingray_cluster_nodes{State="ALIVE"})',
};

async function prometheusHistory(base: string, sinceMs: number, windowS: number): Promise<MetricsHistory> {
  const step = 10;
  const end = Math.floor(Date.now() / 1000);
  const start = Math.max(Math.floor(sinceMs / 1000) + 1, end - windowS);
  const results = await Promise.all(NAMES.map(async (n) => {
    const u = `${base.replace(/\/$/, "")}/api/v1/query_range?query=${encodeURIComponent(PROMQL[n])}&start=${start}&end=${end}&step=${step}`;
    const r = await fetch(u, { signal: AbortSignal.timeout(5000) });
    if (!r.ok) throw new Error(`Prometheus answered ${r.status}`);
    const j = await r.json() as { data: { result: { values: [number, string][] }[] } };
    return new Map((j.data.result[0]?.values ?? []).map(([t, v]) => [t, Number(v)]));
  }));
  // Times at which Prometheus has cluster data (some series are padded with vector(0) everywhere).
  const ts = [...results[NAMES.indexOf("nodes_alive")]!.keys()].sort((a, b) => a - b);
  return {
    source: "prometheus", interval_s: step, window_s: windowS, times: ts.map((t) => t * 1000),
    series: Object.fromEntries(NAMES.map((n, i) => [n, ts.map((t) => results[i]!.get(t) ?? 0)])) as Record<MetricName, number[]>,
  };
}
