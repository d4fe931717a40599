/**
 * The benchmark suite: `npm run bench` (or `node bench/run.ts`).
 *
 * Runs each section (bench/sections/*.ts) as its own process, one after another, on this
 * machine: this machine's limits, the peers a TypeScript user would pick instead (BullMQ,
 * Piscina, Moleculer), Stingray's own figures, and the multi-host cluster figures. Prints one
 * Markdown report: every measurement (median, min, max over the runs), then the comparisons the
 * performance targets are stated in, as ratios. Writes the report and a JSON file with every
 * sample to bench/results/ (latest.md, latest.json, and a timestamped copy of the JSON).
 *
 *   node bench/run.ts [--quick] [--runs N] [--only limits,peers,stingray,cluster] [--out DIR]
 *
 * `--quick` uses tiny sizes (a smoke run that shows the suite still works, not a measurement).
 * A section that crashes is reported and makes the exit status 1; a section that cannot run here
 * (a missing tool, no root for network namespaces) reports its figures as skipped, with the fix.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { summarize, type Measurement, type Summary } from "./lib.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const SECTIONS = ["limits", "peers", "stingray", "cluster"] as const;

const { values } = parseArgs({
  options: {
    quick: { type: "boolean" }, runs: { type: "string" }, only: { type: "string" }, out: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write("usage: node bench/run.ts [--quick] [--runs N] [--only " + SECTIONS.join(",") + "] [--out DIR]\n");
  process.exit(0);
}
const quick = values.quick === true;
const runs = values.runs;
if (runs !== undefined && !(Number.isInteger(Number(runs)) && Number(runs) >= 1)) {
  process.stderr.write(`bench: --runs must be a positive integer, got "${runs}"\n`);
  process.exit(2);
}
const only = values.only ? values.only.split(",").map((s) => s.trim()) : [...SECTIONS];
for (const s of only) {
  if (!(SECTIONS as readonly string[]).includes(s)) {
    process.stderr.write(`bench: unknown section "${s}"; the sections are ${SECTIONS.join(", ")}\n`);
    process.exit(2);
  }
}
const outDir = path.resolve(values.out ?? path.join(here, "results"));

interface SectionResult { section: string; ok: boolean; seconds: number; error?: string; measurements: Measurement[] }

/** Run one section in its own process; a crash is reported, not thrown. */
function runSection(name: string): Promise<SectionResult> {
  const file = path.join(os.tmpdir(), `stingray-bench-${process.pid}-${name}.json`);
  const args = [path.join(here, "sections", `${name}.ts`), "--out", file];
  if (quick) args.push("--quick");
  if (runs) args.push("--runs", runs);
  const t0 = performance.now();
  process.stderr.write(`bench: ${name} ...\n`);
  return new Promise((resolve) => {
    // Sections print progress on stderr; their stdout goes there too so the report stays clean.
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    child.stdout.pipe(process.stderr);
    const limitMs = (quick ? 10 : 45) * 60_000;
    const timer = setTimeout(() => child.kill("SIGTERM"), limitMs);
    const stop = (): void => { child.kill("SIGTERM"); };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      const seconds = (performance.now() - t0) / 1000;
      let measurements: Measurement[] = [];
      let error: string | undefined;
      try {
        measurements = JSON.parse(fs.readFileSync(file, "utf8")) as Measurement[];
      } catch {
        error = `produced no results`;
      }
      fs.rmSync(file, { force: true });
      if (code !== 0) error = `exited with ${signal ?? `code ${code}`}${seconds * 1000 >= limitMs ? " (time limit)" : ""}`;
      process.stderr.write(`bench: ${name} ${error ? `FAILED: ${error}` : "done"} in ${seconds.toFixed(0)} s\n`);
      resolve({ section: name, ok: !error, seconds, error, measurements });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Comparisons: how the targets of the performance issue are stated (this machine's figures only).

interface Comparison {
  what: string;
  stingray: string;
  /** A peer or limit measurement, or undefined for an absolute target. */
  versus?: string;
  /** ratio = stingray / versus (or the stingray figure itself when absolute). */
  target: { op: "<=" | ">=" | "<"; value: number };
  /** Ray's published figure for the same metric, for reference (64 vCPUs, so not comparable). */
  ray?: string;
}

const COMPARISONS: Comparison[] = [
  // Same-node links use abstract Unix sockets, so the Unix-socket frame is the like-for-like
  // limit; the TCP rows stay for comparison with earlier reports and with the issue's figures.
  // The interleaved rows are the verdict: each ratio pairs a sync step with raw frame steps taken
  // seconds before and after it. The rows below them divide medians taken in different sections,
  // minutes apart, and swing with this VM's drift; they stay for comparison with earlier reports.
  { what: "Sync task round trip / raw Unix-socket frame round trip, interleaved (median of the per-step ratios)",
    stingray: "task_vs_unix_frame_interleaved", target: { op: "<=", value: 2 }, ray: "751 tasks/s (1.33 ms)" },
  { what: "Sync actor call round trip / raw Unix-socket frame round trip, interleaved (median of the per-step ratios)",
    stingray: "actor_call_vs_unix_frame_interleaved", target: { op: "<=", value: 2 } },
  { what: "Sync task round trip vs raw Unix-socket frame round trip (separate sections)", stingray: "task_round_trip",
    versus: "unix_frame_round_trip", target: { op: "<=", value: 2 } },
  { what: "Sync task round trip vs raw TCP frame round trip", stingray: "task_round_trip", versus: "tcp_frame_round_trip",
    target: { op: "<=", value: 2 } },
  { what: "Async no-op tasks vs BullMQ jobs", stingray: "single_client_tasks_async", versus: "bullmq_jobs_async",
    target: { op: ">=", value: 3 }, ray: "5,781 tasks/s" },
  { what: "Async no-op tasks vs Piscina tasks", stingray: "single_client_tasks_async", versus: "piscina_tasks_async",
    target: { op: ">=", value: 1 } },
  { what: "Async no-op tasks vs Moleculer calls", stingray: "single_client_tasks_async", versus: "moleculer_calls_async",
    target: { op: ">=", value: 1 } },
  { what: "Sync actor call round trip vs raw Unix-socket frame round trip (separate sections)", stingray: "actor_call_round_trip",
    versus: "unix_frame_round_trip", target: { op: "<=", value: 2 } },
  { what: "Sync actor call round trip vs raw TCP frame round trip", stingray: "actor_call_round_trip", versus: "tcp_frame_round_trip",
    target: { op: "<=", value: 2 } },
  { what: "1:1 async actor calls (per second)", stingray: "1_1_actor_calls_async", target: { op: ">=", value: 50_000 }, ray: "7,528 calls/s" },
  { what: "Small put() (per second)", stingray: "single_client_put_calls", target: { op: ">=", value: 50_000 }, ray: "4,552 puts/s" },
  { what: "Small get() (per second)", stingray: "single_client_get_calls", target: { op: ">=", value: 100_000 }, ray: "10,155 gets/s" },
  { what: "Large put() vs memory copy bandwidth", stingray: "single_client_put_gigabytes", versus: "memory_copy_bandwidth",
    target: { op: ">=", value: 0.5 }, ray: "20.6 GB/s (64 vCPUs)" },
  { what: "400 MB get(): driver memory growth, MB (no copy of the payload)", stingray: "get_400mb_rss_growth_mb",
    target: { op: "<=", value: 40 } },
  { what: "init() to first result, ms", stingray: "local_cluster_init_ms", target: { op: "<=", value: 1000 } },
  { what: "`stingray start --head` to ready, ms", stingray: "start_head_ready_ms", target: { op: "<=", value: 1000 } },
  { what: "Queued tasks: driver memory per queued task, bytes", stingray: "queued_tasks_driver_bytes_per_task",
    target: { op: "<", value: 1024 } },
];

interface Row { m: Measurement; s?: Summary }

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString("en-US");
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function report(results: SectionResult[], meta: Record<string, unknown>): { md: string; comparisons: unknown[] } {
  const rows = new Map<string, Row>();
  for (const r of results) {
    for (const m of r.measurements) rows.set(m.name, { m, s: m.samples.length ? summarize(m.samples) : undefined });
  }
  const lines: string[] = [];
  lines.push(`# Stingray benchmark report`, "");
  lines.push(`${String(meta.date)} · ${String(meta.cpus)} CPUs (${String(meta.cpuModel)}) · ${String(meta.memoryGiB)} GiB · Node ${String(meta.node)} · ` +
    `${quick ? "**quick smoke run: tiny sizes, not a measurement**" : `runs per figure: ${runs ?? "section default"}`}`, "");
  lines.push("## Targets", "");
  lines.push("| comparison | Stingray | versus | ratio | target | met | Ray (published) |", "|---|---|---|---|---|---|---|");
  const comparisons: unknown[] = [];
  for (const c of COMPARISONS) {
    const s = rows.get(c.stingray);
    const v = c.versus ? rows.get(c.versus) : undefined;
    const sv = s?.s?.median;
    const vv = v?.s?.median;
    let ratio: number | undefined;
    if (sv !== undefined && (c.versus ? vv !== undefined && vv !== 0 : true)) ratio = c.versus ? sv / vv! : sv;
    const met = ratio === undefined ? undefined
      : c.target.op === "<=" ? ratio <= c.target.value : c.target.op === "<" ? ratio < c.target.value : ratio >= c.target.value;
    const cell = (r: Row | undefined): string =>
      !r ? `not measured` : r.s ? `${fmt(r.s.median)} ${r.m.unit}` : `skipped`;
    // A ratio is shown with "×", whether it is computed here or measured as one (unit "×").
    const times = c.versus !== undefined || s?.m.unit === "×";
    const targetText = `${c.target.op} ${times ? `${c.target.value}×` : fmt(c.target.value)}`;
    lines.push(`| ${c.what} | ${s ? cell(s) : `${c.stingray}: not measured`} | ${c.versus ? `${c.versus}: ${cell(v)}` : "—"} | ` +
      `${ratio === undefined ? "—" : times ? `${fmt(ratio)}×` : fmt(ratio)} | ${targetText} | ` +
      `${met === undefined ? "n/a" : met ? "yes" : "**no**"} | ${c.ray ?? ""} |`);
    comparisons.push({ ...c, stingrayMedian: sv, versusMedian: vv, ratio, met });
  }
  lines.push("", "## Measurements (median of the runs, with min and max)", "");
  lines.push("| group | metric | median | min | max | unit | runs | what |", "|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    for (const m of r.measurements) {
      const s = rows.get(m.name)!.s;
      lines.push(s
        ? `| ${m.group} | ${m.name} | ${fmt(s.median)} | ${fmt(s.min)} | ${fmt(s.max)} | ${m.unit} | ${m.samples.length} | ${m.description} |`
        : `| ${m.group} | ${m.name} | skipped | | | ${m.unit} | 0 | ${m.skipped ?? m.description} |`);
    }
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length) {
    lines.push("", "## Sections that failed", "");
    for (const f of failed) lines.push(`- ${f.section}: ${f.error ?? "unknown error"}`);
  }
  lines.push("", `Sections: ${results.map((r) => `${r.section} ${r.seconds.toFixed(0)} s`).join(", ")}.`, "");
  return { md: lines.join("\n"), comparisons };
}

const t0 = Date.now();
const results: SectionResult[] = [];
for (const s of SECTIONS) if (only.includes(s)) results.push(await runSection(s));
const meta = {
  date: new Date(t0).toISOString(), quick, runs: runs ? Number(runs) : null,
  cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model ?? "unknown", memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version, platform: `${os.platform()} ${os.release()} ${os.arch()}`,
};
const { md, comparisons } = report(results, meta);
fs.mkdirSync(outDir, { recursive: true });
const json = JSON.stringify({ meta, sections: results, comparisons }, null, 2) + "\n";
const stamp = meta.date.replace(/[:.]/g, "-");
fs.writeFileSync(path.join(outDir, `${quick ? "quick-" : ""}${stamp}.json`), json);
fs.writeFileSync(path.join(outDir, quick ? "latest-quick.json" : "latest.json"), json);
fs.writeFileSync(path.join(outDir, quick ? "latest-quick.md" : "latest.md"), md);
process.stdout.write(md);
process.stderr.write(`bench: results in ${path.relative(process.cwd(), outDir) || "."}/${quick ? "latest-quick" : "latest"}.{md,json}\n`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
