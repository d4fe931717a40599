/**
 * @module api/metrics
 * Application metrics, as Ray's `ray.util.metrics`: define a Counter, Gauge or Histogram with tag
 * keys in a task, an actor or a driver, record values, and they appear in the node's Prometheus
 * export (`--metrics-export-port`), summed over the node's processes, with the node's
 * SessionName and NodeAddress added.
 *
 *   const requests = new ray.metrics.Counter("app_requests", { description: "Requests served", tagKeys: ["route"] });
 *   requests.inc(1, { route: "/predict" });
 */
import { userMetrics, type MetricKind } from "../worker/user_metrics.ts";

export interface MetricOptions {
  description?: string;
  tagKeys?: string[];
}

abstract class Metric {
  readonly name: string;
  protected defaultTags: Record<string, string> = {};
  constructor(name: string, kind: MetricKind, o: MetricOptions & { boundaries?: number[] }) {
    this.name = name;
    userMetrics.define({ name, kind, description: o.description ?? name, tagKeys: o.tagKeys ?? [], boundaries: o.boundaries });
  }
  /** Tags used when a call does not give them. */
  setDefaultTags(tags: Record<string, string>): this {
    this.defaultTags = { ...tags };
    return this;
  }
  protected tags(t: Record<string, string> | undefined): Record<string, string> {
    return t ? { ...this.defaultTags, ...t } : this.defaultTags;
  }
}

/** A count that only goes up (requests served, items processed). */
export class Counter extends Metric {
  constructor(name: string, o: MetricOptions = {}) { super(name, "counter", o); }
  inc(value = 1, tags?: Record<string, string>): void { userMetrics.inc(this.name, value, this.tags(tags)); }
}

/** A value that goes up and down (queue depth, model version); the last value set is exported. */
export class Gauge extends Metric {
  constructor(name: string, o: MetricOptions = {}) { super(name, "gauge", o); }
  set(value: number, tags?: Record<string, string>): void { userMetrics.set(this.name, value, this.tags(tags)); }
}

/** A distribution over fixed bucket boundaries (latencies, sizes). */
export class Histogram extends Metric {
  constructor(name: string, o: MetricOptions & { boundaries: number[] }) { super(name, "histogram", o); }
  observe(value: number, tags?: Record<string, string>): void { userMetrics.observe(this.name, value, this.tags(tags)); }
}
