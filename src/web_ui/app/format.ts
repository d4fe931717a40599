/**
 * @module web_ui/format
 * How numbers, sizes, times and ids read on screen. Pure functions.
 */

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < BYTE_UNITS.length - 1) { v /= 1024; i++; }
  const s = i === 0 ? String(Math.round(v)) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2);
  return `${n < 0 ? "-" : ""}${s} ${BYTE_UNITS[i]}`;
}

const NF = new Intl.NumberFormat("en-US");
export function count(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? "–" : NF.format(n);
}

/** A compact number for axes and cards: 1.2k, 3.4M. */
export function compact(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${trim(n / 1e9)}G`;
  if (a >= 1e6) return `${trim(n / 1e6)}M`;
  if (a >= 1e4) return `${trim(n / 1e3)}k`;
  if (a >= 100 || Number.isInteger(n)) return String(Math.round(n));
  return trim(n);
}
function trim(n: number): string { return String(Number(n.toFixed(Math.abs(n) >= 10 ? 1 : 2))); }

export function percent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return "–";
  const p = fraction * 100;
  return `${p >= 10 || p === 0 ? Math.round(p) : p.toFixed(1)}%`;
}

/** A duration in ms: "850 ms", "12.3 s", "4m 05s", "2h 03m", "3d 4h". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** "12s ago", "5m ago", or the date for old times. */
export function ago(t: number | null | undefined, now: number): string {
  if (!t) return "–";
  const d = now - t;
  if (d < 5000) return "just now";
  if (d < 60_000) return `${Math.floor(d / 1000)}s ago`;
  if (d < 3_600_000) return `${Math.floor(d / 60_000)}m ago`;
  if (d < 86_400_000) return `${Math.floor(d / 3_600_000)}h ago`;
  return dateTime(t);
}

export function dateTime(t: number | null | undefined): string {
  if (!t) return "–";
  const d = new Date(t);
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function clock(t: number): string {
  const d = new Date(t);
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The first characters of a long hex id (the full id goes in a title). */
export function shortId(id: string | null | undefined, n = 8): string {
  if (!id) return "–";
  return id.length > n + 2 ? `${id.slice(0, n)}…` : id;
}

/** Resources whose amounts are bytes in Ray's convention. */
export function isByteResource(name: string): boolean {
  return name === "memory" || name === "object_store_memory" || name.endsWith("_bytes");
}

export function resourceAmount(name: string, v: number): string {
  return isByteResource(name) ? bytes(v) : compact(v);
}

/** Resources worth a usage bar: not the per-node `node:<ip>` markers or accelerator labels. */
export function isDisplayResource(name: string): boolean {
  return !name.startsWith("node:") && !name.startsWith("accelerator_type:") && !name.startsWith("bundle_group_");
}

/** Ray's order: CPU, GPU, memory, object store, then the rest by name. */
export function resourceOrder(a: string, b: string): number {
  const rank = (n: string): number => ["CPU", "GPU", "memory", "object_store_memory"].indexOf(n) >>> 0;
  return rank(a) - rank(b) || a.localeCompare(b);
}

export function resourceLabel(name: string): string {
  return name === "object_store_memory" ? "Object store" : name === "memory" ? "Memory" : name;
}

export function formatResources(r: Record<string, number> | null | undefined): string {
  if (!r) return "";
  return Object.entries(r).filter(([k, v]) => v > 0 && isDisplayResource(k)).sort(([a], [b]) => resourceOrder(a, b))
    .map(([k, v]) => `${k}: ${resourceAmount(k, v)}`).join(", ");
}
