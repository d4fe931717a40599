/**
 * @module web_ui/pages/Metrics
 * Cluster metrics over time, from the dashboard's own sampler (GET /api/metrics/history): resource
 * use against capacity, tasks by state and throughput, actors and nodes.
 */
import { useMemo, type ReactNode } from "react";
import type { MetricName, MetricsHistory } from "../../../dashboard/api_types.ts";
import { LineChart, type Series } from "../components/Chart.tsx";
import { Card, Empty, ErrorBanner } from "../components/ui.tsx";
import { useMetrics } from "../data.ts";
import { bytes, compact, duration } from "../format.ts";
import { useHashParam } from "../hooks.ts";

export const COLORS = {
  blue: "var(--c-blue)", green: "var(--c-green)", red: "var(--c-red)", amber: "var(--c-amber)",
  violet: "var(--c-violet)", cyan: "var(--c-cyan)", gray: "var(--c-gray)",
};

const RANGES = [
  { id: "5m", label: "5 min", ms: 5 * 60_000 },
  { id: "15m", label: "15 min", ms: 15 * 60_000 },
  { id: "1h", label: "1 hour", ms: 3_600_000 },
  { id: "all", label: "All", ms: Infinity },
];

/** The samples of the last `ms`. */
export function sliceWindow(h: MetricsHistory, ms: number): { times: number[]; get: (m: MetricName) => number[] } {
  const last = h.times[h.times.length - 1] ?? 0;
  let from = 0;
  if (Number.isFinite(ms)) while (from < h.times.length && h.times[from]! < last - ms) from++;
  return { times: h.times.slice(from), get: (m) => (h.series[m] ?? []).slice(from) };
}

function bytesAxis(v: number): string { return bytes(v).replace(/\.0+ /, " "); }

export function MetricsPage(): ReactNode {
  const metrics = useMetrics(3000);
  const [rangeId, setRange] = useHashParam("range", "15m");
  const range = RANGES.find((r) => r.id === rangeId) ?? RANGES[1]!;
  const h = metrics.data;
  const w = useMemo(() => (h ? sliceWindow(h, range.ms) : undefined), [h, range.ms]);
  const charts = useMemo(() => {
    if (!w) return [];
    const s = (name: string, m: MetricName, color: string, o: Partial<Series> = {}): Series => ({ name, values: w.get(m), color, ...o });
    const out: { title: string; series: Series[]; format?: (v: number) => string; id: string; bytes?: boolean }[] = [
      { id: "cpu", title: "CPU (logical)", series: [s("used", "cpu_used", COLORS.blue, { area: true }), s("total", "cpu_total", COLORS.gray, { dashed: true })] },
      { id: "memory", title: "Memory", format: bytesAxis, bytes: true, series: [s("used", "memory_used_bytes", COLORS.violet, { area: true }), s("total", "memory_total_bytes", COLORS.gray, { dashed: true })] },
      { id: "store", title: "Object store", format: bytesAxis, bytes: true, series: [s("used", "object_store_used_bytes", COLORS.cyan, { area: true }), s("capacity", "object_store_capacity_bytes", COLORS.gray, { dashed: true })] },
      { id: "tasks", title: "Tasks", series: [s("running", "tasks_running", COLORS.blue, { area: true }), s("pending", "tasks_pending", COLORS.amber)] },
      { id: "throughput", title: "Task throughput (per second)", series: [s("finished/s", "tasks_finished_per_s", COLORS.green, { area: true }), s("failed/s", "tasks_failed_per_s", COLORS.red)] },
      { id: "actors", title: "Actors and nodes alive", series: [s("actors", "actors_alive", COLORS.violet), s("nodes", "nodes_alive", COLORS.green)] },
    ];
    if (w.get("gpu_total").some((v) => v > 0)) {
      out.splice(1, 0, { id: "gpu", title: "GPU (logical)", series: [s("used", "gpu_used", COLORS.green, { area: true }), s("total", "gpu_total", COLORS.gray, { dashed: true })] });
    }
    return out;
  }, [w]);

  return (
    <div className="page" data-testid="metrics-page">
      <header className="page-head">
        <div>
          <h1>Metrics</h1>
          <div className="subtitle">{h ? `Sampled every ${duration(h.interval_s * 1000)}, kept for ${duration(h.window_s * 1000)}` : "\u00a0"}</div>
        </div>
        <div className="actions segmented" role="group" aria-label="Time range">
          {RANGES.map((r) => (
            <button key={r.id} type="button" className={`btn small ${r.id === range.id ? "active" : ""}`} onClick={() => setRange(r.id)}>{r.label}</button>
          ))}
        </div>
      </header>
      <ErrorBanner error={metrics.error} what="metrics history" />
      {h && h.times.length === 0 && <Empty title="No samples yet">The dashboard samples the cluster every few seconds; charts appear after the first samples.</Empty>}
      {w && w.times.length > 0 && (
        <div className="grid two">
          {charts.map((c) => (
            <Card key={c.id} title={c.title} testId={`chart-${c.id}`}>
              <LineChart times={w.times} series={c.series} format={c.format ?? compact} bytes={c.bytes} height={200} />
            </Card>
          ))}
        </div>
      )}
    </div>
  );
}
