import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import path from "node:path";
import { stingrayPids } from "../helpers/procs.ts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const EXPECTED = [
  "local_cluster_init_ms", "single_client_tasks_sync", "single_client_tasks_async", "multi_client_tasks_async",
  "1_1_actor_calls_sync", "1_1_actor_calls_async", "1_1_actor_calls_concurrent", "1_n_actor_calls_async",
  "n_n_actor_calls_async", "1_1_async_actor_calls_sync", "1_1_async_actor_calls_async", "single_client_put_calls",
  "single_client_get_calls", "single_client_put_gigabytes", "single_client_tasks_and_get_batch",
  "single_client_get_object_containing_10k_refs", "single_client_wait_1k_refs",
];

test("stingray microbenchmark --quick runs every metric (smoke run, not a performance check)", async () => {
  const before = new Set(stingrayPids());
  const { stdout } = await run(process.execPath, [path.join(ROOT, "bin/stingray.js"), "microbenchmark", "--quick", "--json"],
    { cwd: ROOT, timeout: 180_000, maxBuffer: 1 << 24 });
  const doc = JSON.parse(stdout) as { metrics: Array<{ name: string; rate: number; spread: number; unit: string }> };
  assert.deepEqual(doc.metrics.map((m) => m.name), EXPECTED);
  for (const m of doc.metrics) assert.ok(Number.isFinite(m.rate) && m.rate > 0, `${m.name} has a positive rate`);
  const lines = await run(process.execPath, [path.join(ROOT, "bin/stingray.js"), "microbenchmark", "--quick", "--filter", "put_calls"], { cwd: ROOT, timeout: 120_000 });
  assert.match(lines.stdout, /^single_client_put_calls \d+(\.\d+)? \+- \d+(\.\d+)? per second$/m);
  assert.deepEqual(stingrayPids().filter((p) => !before.has(p)), [], "no process left behind");
});
