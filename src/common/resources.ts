/**
 * @module common/resources
 * Resource sets ({CPU: 2, GPU: 1, memory: 1e9, custom: 3}) and the arithmetic the schedulers need.
 * Quantities are kept in 1/10000 units internally so fractional requests (0.5 CPU) add up exactly.
 */
export type ResourceSet = Record<string, number>;
const SCALE = 10_000;
const q = (x: number): number => Math.round(x * SCALE);

export function fits(request: ResourceSet, available: ResourceSet): boolean {
  for (const [k, v] of Object.entries(request)) {
    if (v <= 0) continue;
    if (q(available[k] ?? 0) < q(v)) return false;
  }
  return true;
}

export function subtract(from: ResourceSet, r: ResourceSet): void {
  for (const [k, v] of Object.entries(r)) {
    if (v) from[k] = (q(from[k] ?? 0) - q(v)) / SCALE;
  }
}

export function add(to: ResourceSet, r: ResourceSet): void {
  for (const [k, v] of Object.entries(r)) {
    if (v) to[k] = (q(to[k] ?? 0) + q(v)) / SCALE;
  }
}

/** Drop zero entries for display and keying. */
export function normalize(r: ResourceSet): ResourceSet {
  const out: ResourceSet = {};
  for (const k of Object.keys(r).sort()) if (r[k]) out[k] = r[k]!;
  return out;
}

export function resourceKey(r: ResourceSet): string {
  return Object.keys(r).sort().filter((k) => r[k]).map((k) => `${k}:${r[k]}`).join(",");
}

export function formatResources(r: ResourceSet): string {
  return Object.entries(normalize(r)).map(([k, v]) => `${k}: ${v}`).join(", ") || "{}";
}
