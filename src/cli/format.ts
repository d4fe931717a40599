/**
 * @module cli/format
 * Output of the dashboard commands (`job`, `list`, `get`, `summary`, `memory`): aligned plain
 * tables, JSON, YAML, and the human forms of bytes, times and durations used in tables.
 */
import YAML from "yaml";
import { UsageError } from "./args.ts";

export const FORMATS = ["table", "json", "yaml"] as const;
export type Format = typeof FORMATS[number];

/** The `--format` flag's value, checked; `fallback` when absent. */
export function parseFormat(command: string, v: string | boolean | undefined, fallback: Format = "table"): Format {
  if (v === undefined || typeof v === "boolean") return fallback;
  const f = v.toLowerCase() === "default" ? "table" : v.toLowerCase();
  if (!(FORMATS as readonly string[]).includes(f)) {
    throw new UsageError(`stingray ${command}: --format must be one of ${FORMATS.join(", ")}, got "${v}"`);
  }
  return f as Format;
}

/**
 * Columns aligned on the widest cell, two spaces apart, headers as given (callers pass them in
 * upper case, as Ray prints them). Cells never wrap: a newline in a cell becomes a space.
 */
export function table(headers: string[], rows: string[][]): string {
  const clean = (s: string): string => s.replace(/\r?\n/g, " ");
  const all = [headers, ...rows].map((r) => r.map(clean));
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n") + "\n";
}

export function json(data: unknown): string {
  return JSON.stringify(data, null, 2) + "\n";
}

export function yaml(data: unknown): string {
  return YAML.stringify(data, { lineWidth: 0 });
}

/** JSON or YAML of `data`; tables are the caller's (they pick columns). */
export function structured(format: Exclude<Format, "table">, data: unknown): string {
  return format === "json" ? json(data) : yaml(data);
}

/** `1.50 GiB`, `512 B`. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${v} B` : `${v.toFixed(2)} ${units[i]}`;
}

/** Milliseconds since the epoch as local `YYYY-MM-DD HH:MM:SS`; `-` for none. */
export function time(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms <= 0) return "-";
  const d = new Date(ms);
  const p = (x: number): string => String(x).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `850ms`, `12.3s`, `4m05s`, `2h03m`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** A table cell for any value: `-` for null, compact `k: v` pairs for records, JSON otherwise. */
export function cell(v: unknown): string {
  if (v === null || v === undefined || v === "") return "-";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return v.map(cell).join(", ");
  if (typeof v === "object") {
    const e = Object.entries(v as Record<string, unknown>);
    return e.length ? e.map(([k, x]) => `${k}: ${cell(x)}`).join(", ") : "-";
  }
  return JSON.stringify(v);
}

/** Resources for a table: byte-valued ones (`memory`, `object_store_memory`) in human units. */
export function resources(r: Record<string, number> | null | undefined): string {
  if (!r) return "-";
  const e = Object.entries(r);
  if (!e.length) return "-";
  return e.map(([k, v]) => `${k}: ${/memory/.test(k) ? bytes(v) : String(v)}`).join(", ");
}

/** A section banner like Ray's: `======== List: 2024-01-01 12:00:00 ========`. */
export function banner(title: string): string {
  return `======== ${title}: ${time(Date.now())} ========\n`;
}

/** Ray's cli_logger-style box around a one-line message (job submitted / succeeded / failed). */
export function boxed(message: string): string {
  const line = "-".repeat(Math.max(55, message.length));
  return `${line}\n${message}\n${line}\n`;
}
