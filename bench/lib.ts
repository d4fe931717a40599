/**
 * Shared types and helpers of the benchmark suite (`npm run bench`, bench/run.ts).
 *
 * Each section is a script under bench/sections/ that the runner starts as its own process:
 *   node bench/sections/<name>.ts --out FILE [--quick] [--runs N]
 * It measures, then writes a JSON array of `Measurement` to FILE (`writeResults`). A section
 * never throws for a missing tool: it reports the measurement with `skipped` set to a sentence
 * that says what is missing and how to get it.
 */
import fs from "node:fs";
import { parseArgs } from "node:util";

/** stingray: our own figures; peer: what a TypeScript user would pick instead; limit: this machine's limits. */
export type Group = "stingray" | "peer" | "limit";

export interface Measurement {
  group: Group;
  /** snake_case, unique across the suite, e.g. "bullmq_jobs_async" or "tcp_frame_round_trip". */
  name: string;
  /** e.g. "per second", "us", "ms", "GB per second", "MB". */
  unit: string;
  /** One figure per run (at least 3 unless quick); the runner reports median, min and max. */
  samples: number[];
  better: "higher" | "lower";
  /** One line on what was measured, shown under the table. */
  description: string;
  /** Set instead of samples when the measurement could not run here: what is missing and the fix. */
  skipped?: string;
}

export interface SectionOptions { quick: boolean; runs: number; out: string }

/** Parse the common flags of a section script. */
export function sectionOptions(): SectionOptions {
  const { values } = parseArgs({
    options: { out: { type: "string" }, quick: { type: "boolean" }, runs: { type: "string" } },
    strict: true,
  });
  const quick = values.quick === true;
  const runs = values.runs ? Number(values.runs) : quick ? 1 : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  return { quick, runs, out: values.out ?? "/dev/stdout" };
}

export function writeResults(out: string, results: Measurement[]): void {
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
}

export interface Summary { median: number; min: number; max: number }

export function summarize(samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]! };
}

/** Time one async call, in milliseconds. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Run `fn` `runs` times (after `warmup` untimed calls) and collect what it returns. */
export async function repeat(runs: number, fn: () => Promise<number>, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) out.push(await fn());
  return out;
}
