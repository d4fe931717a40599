/**
 * @module api/autoscaler
 * Ray's `ray.autoscaler.sdk.request_resources`: ask the autoscaler to size the cluster so that
 * the given bundles fit at once, regardless of the tasks queued now. Each call replaces the
 * previous request; `requestResources({})` (or `{ numCpus: 0 }`) withdraws it. The request counts
 * against the cluster's total resources, not its free ones, and scale-down never goes below it.
 */
import { runtime } from "../worker/runtime.ts";
import { ValueError } from "../common/errors.ts";

export interface ResourceRequest {
  /** Shorthand for `numCpus` bundles of `{ CPU: 1 }`. */
  numCpus?: number;
  /** Resource bundles, e.g. `[{ CPU: 4, GPU: 1 }, { CPU: 4, GPU: 1 }]`. */
  bundles?: Array<Record<string, number>>;
}

export async function requestResources(req: ResourceRequest = {}): Promise<void> {
  const bundles: Array<Record<string, number>> = [];
  if (req.numCpus !== undefined) {
    if (!Number.isInteger(req.numCpus) || req.numCpus < 0) throw new ValueError(`requestResources: numCpus must be a non-negative integer, got ${req.numCpus}`);
    for (let i = 0; i < req.numCpus; i++) bundles.push({ CPU: 1 });
  }
  for (const [i, b] of (req.bundles ?? []).entries()) {
    if (typeof b !== "object" || b === null) throw new ValueError(`requestResources: bundles[${i}] must be an object like { CPU: 2 }`);
    for (const [k, v] of Object.entries(b)) {
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new ValueError(`requestResources: bundles[${i}].${k} must be a non-negative number, got ${String(v)}`);
    }
    bundles.push({ ...b });
  }
  await runtime().requestResources(bundles);
}
