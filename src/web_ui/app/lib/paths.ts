/**
 * @module web_ui/lib/paths
 * Request paths from the route table of the API contract, and the unwrapping of Ray's envelope
 * (pure; unit-tested in test/unit/web_ui_logic.test.ts).
 */
import { API_ROUTES, type ListResult, type RouteName, type StateEnvelope, type StateFilter } from "../../../dashboard/api_types.ts";

/** The path of a route, with `:name` segments filled in (encoded). */
export function routePath(name: RouteName, params: Record<string, string> = {}): string {
  const path = API_ROUTES[name].split(" ")[1]!;
  return path.replace(/:(\w+)/g, (_m, k: string) => {
    const v = params[k];
    if (v === undefined) throw new Error(`route ${name} needs :${k}`);
    return encodeURIComponent(v);
  });
}

export function routeMethod(name: RouteName): string { return API_ROUTES[name].split(" ")[0]!; }

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, q: Query = {}, filters: StateFilter[] = []): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === false) continue;
    s.append(k, v === true ? "1" : String(v));
  }
  for (const f of filters) {
    s.append("filter_keys", f.key);
    s.append("filter_predicates", f.predicate);
    s.append("filter_values", f.value);
  }
  const qs = s.toString();
  return qs ? `${path}?${qs}` : path;
}

export function url(name: RouteName, params: Record<string, string> = {}, q: Query = {}, filters: StateFilter[] = []): string {
  return withQuery(routePath(name, params), q, filters);
}

/**
 * Records that match a list query's filters (before `limit`). Ray's `total` counts every record
 * before filtering; `num_filtered` counts those after.
 */
export function matchingCount(r: ListResult<unknown>): number {
  return Math.max(r.result.length, typeof r.num_filtered === "number" ? r.num_filtered : r.total);
}

/** The payload of Ray's envelope (`{result, msg, data: {result}}`), or the body itself when it has none. */
export function unwrap<T>(body: unknown): T {
  const b = body as Partial<StateEnvelope<T>> | null;
  return (b && typeof b === "object" && typeof b.result === "boolean" && b.data && typeof b.data === "object" && "result" in b.data ? b.data.result : body) as T;
}

/** A summary route's payload: Ray nests the cluster-wide summary as `node_id_to_summary.cluster`. */
export function summaryPayload<T>(body: unknown): T {
  const r = unwrap<{ node_id_to_summary?: { cluster?: T }; cluster?: T } | null>(body);
  return (r?.node_id_to_summary?.cluster ?? r?.cluster ?? r) as T;
}
