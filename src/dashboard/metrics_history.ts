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

  history(sinceMs?: number): MetricsHistory {
    let from = 0;
    if (sinceMs !== undefined) while (from < this.times.length && this.times[from]! <= sinceMs) from++;
    return {
      interval_s: this.intervalS, window_s: this.windowS, times: this.times.slice(from),
      series: Object.fromEntries(NAMES.map((n) => [n, this.series[n].slice(from)])) as Record<MetricName, number[]>,
    };
  }
}
