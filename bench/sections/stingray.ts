/**
 * Benchmark section "stingray": Stingray's own figures on a local cluster.
 *
 * - Every `stingray microbenchmark` metric (Ray's names), run once with `--trials <runs>`: each
 *   trial's rate is one sample. The sync metrics are also given as round trips in µs.
 * - `*_interleaved`: the sync task and actor call round trips, each step between two steps of the
 *   raw Unix-socket frame round trip, and the ratio of each pair (stingray_drivers/sync_vs_frame.ts).
 * - `local_cluster_init_ms`: `init()` to the first task result, in a fresh process per run.
 * - `queued_tasks_*`: 1M no-op tasks (10k with --quick) submitted at once to one node: total time,
 *   the driver's peak resident memory and its growth per queued task.
 * - `get_400mb_ms`: get of a 400 MB array another process put on the node, and the driver's
 *   memory growth during it (zero-copy: it does not grow by the payload).
 *   node bench/sections/stingray.ts --out FILE [--quick] [--runs N]
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sectionOptions, writeResults, type Measurement } from "../lib.ts";

const { runs, quick, out } = sectionOptions();
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const drivers = path.join(here, "stingray_drivers");
const results: Measurement[] = [];

/** Run a Node script and parse the JSON its last output line holds. */
function runJson<T>(args: string[], timeoutMs: number): T {
  const outText = execFileSync(process.execPath, args, { cwd: repo, encoding: "utf8", timeout: timeoutMs, stdio: ["ignore", "pipe", "inherit"] });
  // A driver prints one JSON line last; the microbenchmark prints one (multi-line) document.
  const text = outText.trim();
  try { return JSON.parse(text) as T; } catch { return JSON.parse(text.split("\n").pop() ?? "") as T; }
}

// ---- Ray's microbenchmark metrics ----
interface MbMetric { name: string; unit: string; samples: number[] }
const mb = runJson<{ metrics: MbMetric[] }>(
  [path.join(repo, "bin/stingray.js"), "microbenchmark", "--json", "--trials", String(Math.max(runs, quick ? 1 : 3)), ...(quick ? ["--quick"] : [])],
  30 * 60_000);
const described: Record<string, string> = {
  single_client_tasks_sync: "Submit one no-op task and get its result, one after another.",
  single_client_tasks_async: "Submit a batch of no-op tasks from one driver, then get them all.",
  multi_client_tasks_async: "Several client actors each submit batches of no-op tasks; all tasks counted.",
  "1_1_actor_calls_sync": "Call a no-op actor method and get the result, one after another.",
  "1_1_actor_calls_async": "A batch of calls to one actor, then get them all.",
  "1_1_actor_calls_concurrent": "A batch of async calls to one actor with maxConcurrency 16.",
  "1_n_actor_calls_async": "The driver calls each of n actors a batch of times.",
  n_n_actor_calls_async: "n client actors each call their own target actor a batch of times.",
  "1_1_async_actor_calls_sync": "Sync calls to an actor whose methods are async.",
  "1_1_async_actor_calls_async": "Batches of calls to an actor whose methods are async.",
  n_n_actor_calls_with_arg_async: "n client actors each call their own target a batch of times, passing a stored value (a ref).",
  "1_1_async_actor_calls_with_args_async": "Batches of calls to an async actor, each passing a stored value (a ref).",
  "1_n_async_actor_calls_async": "The driver calls each of n async actors a batch of times.",
  n_n_async_actor_calls_async: "n client actors each call their own async actor a batch of times.",
  multi_client_put_calls: "n tasks at once, each putting a batch of small values.",
  multi_client_put_gigabytes: `n tasks at once, each putting ${quick ? "a 5 MB" : "a 200 MB"} array several times (freed between puts).`,
  single_client_put_calls: "put() of a small value, one after another.",
  single_client_get_calls: "get() of a small stored value, one after another.",
  single_client_put_gigabytes: `put() of a ${quick ? "10 MB" : "400 MB"} Float64Array (freed between puts, as Ray's loop frees it).`,
  single_client_tasks_and_get_batch: "Submit a batch of no-op tasks and get the list.",
  single_client_get_object_containing_10k_refs: "get() of one stored array of 10,000 ObjectRefs.",
  single_client_wait_1k_refs: "wait() on 1000 ready refs with numReturns 1000.",
};
for (const m of mb.metrics) {
  if (m.name === "local_cluster_init_ms") continue; // measured below, in fresh processes
  results.push({ group: "stingray", name: m.name, unit: m.unit, samples: m.samples, better: "higher",
    description: described[m.name] ?? m.name });
  if (m.name === "single_client_tasks_sync" || m.name === "1_1_actor_calls_sync") {
    const name = m.name === "single_client_tasks_sync" ? "task_round_trip" : "actor_call_round_trip";
    results.push({ group: "stingray", name, unit: "us", better: "lower", samples: m.samples.map((r) => 1e6 / r),
      description: `1 / ${m.name}: submit, execute on a worker, return, get.` });
  }
}

// ---- sync round trips interleaved with the raw Unix-socket frame round trip ----
const pairs = runJson<{ raw: number[]; task: number[]; actor: number[]; taskRatio: number[]; actorRatio: number[] }>(
  [path.join(drivers, "sync_vs_frame.ts"), String(Math.max(runs, quick ? 1 : 3)), String(quick ? 150 : 1500)], 10 * 60_000);
results.push(
  { group: "limit", name: "unix_frame_round_trip_interleaved", unit: "us", better: "lower", samples: pairs.raw,
    description: "The raw Unix-socket frame round trip (as unix_frame_round_trip), measured between the sync steps below." },
  { group: "stingray", name: "task_round_trip_interleaved", unit: "us", better: "lower", samples: pairs.task,
    description: "Sync task round trip, each step between two raw frame steps of the same length." },
  { group: "stingray", name: "actor_call_round_trip_interleaved", unit: "us", better: "lower", samples: pairs.actor,
    description: "Sync actor call round trip, each step between two raw frame steps of the same length." },
  { group: "stingray", name: "task_vs_unix_frame_interleaved", unit: "×", better: "lower", samples: pairs.taskRatio,
    description: "Each interleaved sync task step over the mean of the raw frame steps just before and after it." },
  { group: "stingray", name: "actor_call_vs_unix_frame_interleaved", unit: "×", better: "lower", samples: pairs.actorRatio,
    description: "Each interleaved sync actor call step over the mean of the raw frame steps just before and after it." },
);

// ---- init() to first result, fresh process each ----
const init: number[] = [];
for (let i = 0; i < runs; i++) init.push(runJson<{ ms: number }>([path.join(drivers, "init_first_result.ts")], 120_000).ms);
results.push({ group: "stingray", name: "local_cluster_init_ms", unit: "ms", better: "lower", samples: init,
  description: "init() of a local cluster (GCS, raylet, first worker) in a fresh process, to the first task result." });

// ---- queued tasks ----
const nQueued = quick ? 10_000 : 1_000_000;
const label = quick ? "10k" : "1M";
const q: { totalMs: number; rssQueued: number; bytesPerTask: number }[] = [];
for (let i = 0; i < (quick ? 1 : Math.min(runs, 3)); i++) {
  q.push(runJson([ "--expose-gc", path.join(drivers, "queued_tasks.ts"), String(nQueued)], 20 * 60_000));
}
results.push(
  { group: "stingray", name: "queued_tasks_s", unit: "s", better: "lower", samples: q.map((r) => r.totalMs / 1000),
    description: `${label} no-op tasks submitted at once to one node: first submit to last result.` },
  { group: "stingray", name: "queued_tasks_driver_bytes_per_task", unit: "bytes", better: "lower", samples: q.map((r) => r.bytesPerTask),
    description: `Driver resident-memory growth per queued task with ${label} queued (after a full GC).` },
  { group: "stingray", name: "queued_tasks_driver_peak_rss_mb", unit: "MB", better: "lower", samples: q.map((r) => r.rssQueued / 1e6),
    description: `Driver resident memory with ${label} tasks queued.` },
);

// ---- large get without copying ----
const bytes = quick ? 10e6 : 400e6;
const g = runJson<{ samples: { ms: number; rssGrowth: number }[] }>([path.join(drivers, "get_large.ts"), String(bytes), String(runs)], 10 * 60_000);
results.push(
  { group: "stingray", name: "get_400mb_ms", unit: "ms", better: "lower", samples: g.samples.map((s) => s.ms),
    description: `get() of a ${bytes / 1e6} MB Float64Array a task put on the same node.` },
  { group: "stingray", name: "get_400mb_rss_growth_mb", unit: "MB", better: "lower", samples: g.samples.map((s) => s.rssGrowth / 1e6),
    description: `Driver resident-memory growth during that get() (a copy would add ${bytes / 1e6} MB).` },
);

writeResults(out, results);
