/**
 * @module cli/args
 * Flag parsing for the CLI on top of node:util parseArgs: Ray's `--flag=value` and `--flag value`
 * forms, snake-case aliases, and errors that name the bad flag and the command's valid flags.
 */
import { parseArgs } from "node:util";

export class UsageError extends Error {}

/** `multiple`: a string flag that may repeat (`-f a=1 -f b=2`); `values` holds the last, `lists` all. */
export type FlagSpec = Record<string, { type: "string" | "boolean"; short?: string; help: string; alias?: string[]; multiple?: boolean }>;

export function parse(command: string, argv: string[], spec: FlagSpec):
  { values: Record<string, string | boolean | undefined>; positionals: string[]; lists: Record<string, string[]> } {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  const aliasOf = new Map<string, string>();
  for (const [name, s] of Object.entries(spec)) {
    const multiple = s.multiple && s.type === "string" ? { multiple: true } : {};
    options[name] = s.short ? { type: s.type, short: s.short, ...multiple } : { type: s.type, ...multiple };
    for (const a of s.alias ?? []) { options[a] = { type: s.type, ...multiple }; aliasOf.set(a, name); }
  }
  // Boolean flags given as --flag=true/false (Ray accepts --include-dashboard=false).
  const args = argv.map((a) => a);
  const normalized: string[] = [];
  for (const a of args) {
    const m = /^--([\w-]+)=(true|false)$/i.exec(a);
    if (m && options[m[1]!]?.type === "boolean") {
      if (m[2]!.toLowerCase() === "true") normalized.push(`--${m[1]}`);
      else normalized.push(`--no-${m[1]}`);
      continue;
    }
    normalized.push(a);
  }
  const negatable = new Set<string>();
  for (const [n, o] of Object.entries(options)) if (o.type === "boolean") { options[`no-${n}`] = { type: "boolean" }; negatable.add(n); }
  let parsed;
  try {
    parsed = parseArgs({ args: normalized, options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional.*$/s, "");
    throw new UsageError(`stingray ${command}: ${msg}\nValid flags: ${Object.keys(spec).map((k) => `--${k}`).join(", ")}`);
  }
  const values: Record<string, string | boolean | undefined> = {};
  const lists: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(parsed.values)) {
    if (k.startsWith("no-") && negatable.has(k.slice(3))) { values[aliasOf.get(k.slice(3)) ?? k.slice(3)] = false; continue; }
    const name = aliasOf.get(k) ?? k;
    if (Array.isArray(v)) {
      lists[name] = [...(lists[name] ?? []), ...(v as string[])];
      values[name] = lists[name].at(-1);
      continue;
    }
    values[name] = v as string | boolean;
  }
  return { values, positionals: parsed.positionals, lists };
}

export function num(command: string, flag: string, v: string | boolean | undefined): number | undefined {
  if (v === undefined || typeof v === "boolean") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`stingray ${command}: --${flag} must be a non-negative number, got "${v}"`);
  return n;
}

export function json(command: string, flag: string, v: string | boolean | undefined): Record<string, unknown> | undefined {
  if (v === undefined || typeof v === "boolean") return undefined;
  try {
    const o = JSON.parse(v) as unknown;
    if (typeof o !== "object" || o === null || Array.isArray(o)) throw new Error("not an object");
    return o as Record<string, unknown>;
  } catch {
    throw new UsageError(`stingray ${command}: --${flag} must be a JSON object, for example '{"accelerator": 1}', got ${v}`);
  }
}

export function help(command: string, summary: string, spec: FlagSpec): string {
  const lines = Object.entries(spec).map(([k, s]) =>
    `  ${s.short ? `-${s.short}, ` : ""}--${k}${s.type === "string" ? "=VALUE" : ""}`.padEnd(34) + s.help + (s.multiple ? " (repeatable)" : ""));
  return `Usage: stingray ${command}\n\n${summary}\n\nFlags:\n${lines.join("\n")}\n`;
}
