/**
 * `stingray microbenchmark` as a user runs it: a child process of bin/stingray.js. Smoke runs
 * (--quick) only: these check that every metric runs and is reported, not how fast it is.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import path from "node:path";
import { stingrayPids, waitFor } from "../helpers/procs.ts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "bin/stingray.js");
const EXPECTED = [
  "local_cluster_init_ms", "single_client_tasks_sync", "single_client_tasks_async", "multi_client_tasks_async",
  "1_1_actor_calls_sync", "1_1_actor_calls_async", "1_1_actor_calls_concurrent", "1_n_actor_calls_async",
  "n_n_actor_calls_async", "n_n_actor_calls_with_arg_async", "1_1_async_actor_calls_sync", "1_1_async_actor_calls_async",
  "1_1_async_actor_calls_with_args_async", "1_n_async_actor_calls_async", "n_n_async_actor_calls_async",
  "single_client_put_calls", "single_client_get_calls", "single_client_put_gigabytes", "multi_client_put_calls",
  "multi_client_put_gigabytes", "single_client_tasks_and_get_batch",
  "single_client_get_object_containing_10k_refs", "single_client_wait_1k_refs",
];
const UNIT: Record<string, string> = {
  local_cluster_init_ms: "ms", single_client_put_gigabytes: "GB per second", multi_client_put_gigabytes: "GB per second",
};
const LINE = /^(\w+) (\d+(?:\.\d+)?) \+- (\d+(?:\.\d+)?) (per second|GB per second|ms)$/;

function microbenchmark(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [BIN, "microbenchmark", ...args], { cwd: ROOT, timeout: 120_000, maxBuffer: 1 << 24 });
}

/** Every Stingray process this run started is gone (daemons and workers exit with the driver's shutdown()). */
async function assertNoneLeft(before: Set<number>): Promise<void> {
  await waitFor(() => stingrayPids().every((p) => before.has(p)), 10_000, "the benchmark's cluster processes to exit")
    .catch(() => {});
  assert.deepEqual(stingrayPids().filter((p) => !before.has(p)), [], "no Stingray process left behind");
}

test("microbenchmark --quick --json reports every metric with a positive rate", { timeout: 150_000 }, async () => {
  const before = new Set(stingrayPids());
  const { stdout } = await microbenchmark(["--quick", "--json"]);
  const doc = JSON.parse(stdout) as {
    metrics: Array<{ name: string; rate: number; spread: number; unit: string }>;
    machine: { cpus: number; node: string; platform: string };
  };
  assert.deepEqual(doc.metrics.map((m) => m.name), EXPECTED);
  for (const m of doc.metrics) {
    assert.ok(Number.isFinite(m.rate) && m.rate > 0, `${m.name} has a positive finite rate (got ${m.rate})`);
    assert.ok(Number.isFinite(m.spread) && m.spread >= 0, `${m.name} has a finite spread (got ${m.spread})`);
    assert.equal(m.unit, UNIT[m.name] ?? "per second", `${m.name}'s unit`);
  }
  assert.ok(Number.isInteger(doc.machine.cpus) && doc.machine.cpus > 0);
  assert.equal(doc.machine.node, process.version);
  assert.equal(typeof doc.machine.platform, "string");
  await assertNoneLeft(before);
});

test("microbenchmark --quick prints one `<name> <rate> +- <stddev> <unit>` line per metric", { timeout: 150_000 }, async () => {
  const before = new Set(stingrayPids());
  const { stdout } = await microbenchmark(["--quick"]);
  const lines = stdout.trimEnd().split("\n");
  for (const l of lines) assert.match(l, LINE);
  assert.deepEqual(lines.map((l) => LINE.exec(l)![1]), EXPECTED);
  for (const l of lines) {
    const [, name, rate, , unit] = LINE.exec(l)!;
    assert.ok(Number(rate) > 0, `${name}: ${l}`);
    assert.equal(unit, UNIT[name!] ?? "per second", l);
  }
  await assertNoneLeft(before);
});

test("microbenchmark --filter runs only the matching metrics", { timeout: 150_000 }, async () => {
  const { stdout } = await microbenchmark(["--quick", "--filter", "single_client_put_calls"]);
  assert.match(stdout, /^single_client_put_calls \d+(\.\d+)? \+- \d+(\.\d+)? per second\n$/);
});

test("microbenchmark --help and a bad flag", async () => {
  const { stdout } = await microbenchmark(["--help"]);
  for (const f of ["--quick", "--json", "--filter"]) assert.ok(stdout.includes(f), `help mentions ${f}`);
  await assert.rejects(microbenchmark(["--bogus"]), (e: { code?: number; stderr?: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr ?? "", /--bogus/);
    return true;
  });
});
