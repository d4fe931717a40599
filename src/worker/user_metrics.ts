/**
 * @module worker/user_metrics
 * The process-wide record of application metrics (`ray.metrics.Counter/Gauge/Histogram`, like
 * Ray's `ray.util.metrics`). Recording is local and cheap; the core worker sends a snapshot of
 * everything recorded so far to its node's raylet every `user_metrics_report_interval_ms`, and
 * the raylet exports the sum over the node's processes (raylet/metrics.ts).
 */
import type { Req } from "../protocol/messages.ts";
import { ValueError } from "../common/errors.ts";

export type MetricKind = "counter" | "gauge" | "histogram";
export type UserMetricReport = Req<"raylet.ReportMetrics">["metrics"][number];

interface Series { tags: Record<string, string>; value: number; buckets: number[] | undefined; sum: number; count: number; t: number }

export interface UserMetricDef { name: string; kind: MetricKind; description: string; tagKeys: string[]; boundaries?: number[] | undefined }

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export class UserMetricsRecorder {
  private metrics = new Map<string, { def: UserMetricDef; series: Map<string, Series> }>();
  private dirty = false;

  define(def: UserMetricDef): void {
    if (!NAME_RE.test(def.name)) throw new ValueError(`metric name ${JSON.stringify(def.name)} is not valid: use letters, digits, '_' and ':', not starting with a digit`);
    for (const k of def.tagKeys) if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) throw new ValueError(`tag key ${JSON.stringify(k)} of metric ${def.name} is not valid`);
    if (def.kind === "histogram") {
      const b = def.boundaries ?? [];
      if (!b.length || b.some((x, i) => !Number.isFinite(x) || (i > 0 && x <= b[i - 1]!))) {
        throw new ValueError(`histogram ${def.name} needs boundaries: a non-empty list of increasing numbers, e.g. [1, 10, 100]`);
      }
    }
    const prev = this.metrics.get(def.name);
    if (prev) {
      if (prev.def.kind !== def.kind || prev.def.tagKeys.join() !== def.tagKeys.join()) {
        throw new ValueError(`metric ${def.name} is already defined in this process as a ${prev.def.kind} with tags [${prev.def.tagKeys.join(", ")}]`);
      }
      return;
    }
    this.metrics.set(def.name, { def, series: new Map() });
  }

  private series(name: string, tags: Record<string, string>): Series {
    const m = this.metrics.get(name)!;
    for (const k of Object.keys(tags)) {
      if (!m.def.tagKeys.includes(k)) throw new ValueError(`metric ${name} has no tag ${JSON.stringify(k)} (its tags: ${m.def.tagKeys.join(", ") || "none"})`);
    }
    const full: Record<string, string> = {};
    for (const k of m.def.tagKeys) full[k] = String(tags[k] ?? "");
    const key = m.def.tagKeys.map((k) => full[k]).join("\u0000");
    let s = m.series.get(key);
    if (!s) {
      s = { tags: full, value: 0, buckets: m.def.kind === "histogram" ? new Array<number>(m.def.boundaries!.length + 1).fill(0) : undefined, sum: 0, count: 0, t: 0 };
      m.series.set(key, s);
    }
    this.dirty = true;
    s.t = Date.now();
    return s;
  }

  inc(name: string, value: number, tags: Record<string, string>): void {
    if (!(value >= 0) || !Number.isFinite(value)) throw new ValueError(`Counter ${name}.inc() takes a non-negative number, got ${value}`);
    this.series(name, tags).value += value;
  }

  set(name: string, value: number, tags: Record<string, string>): void {
    if (!Number.isFinite(value)) throw new ValueError(`Gauge ${name}.set() takes a finite number, got ${value}`);
    this.series(name, tags).value = value;
  }

  observe(name: string, value: number, tags: Record<string, string>): void {
    if (!Number.isFinite(value)) throw new ValueError(`Histogram ${name}.observe() takes a finite number, got ${value}`);
    const s = this.series(name, tags);
    const b = this.metrics.get(name)!.def.boundaries!;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    s.buckets![i]!++;
    s.sum += value;
    s.count++;
  }

  /** Everything recorded so far, or undefined when nothing changed since the last snapshot. */
  snapshot(): UserMetricReport[] | undefined {
    if (!this.dirty) return undefined;
    this.dirty = false;
    return [...this.metrics.values()].map(({ def, series }) => ({
      name: def.name, kind: def.kind, description: def.description, tagKeys: def.tagKeys, boundaries: def.boundaries,
      series: [...series.values()].map((s) => ({ tags: s.tags, value: s.value, buckets: s.buckets ? [...s.buckets] : undefined, sum: s.sum, count: s.count, t: s.t })),
    }));
  }
}

/** This process's recorder. */
export const userMetrics = new UserMetricsRecorder();
