/**
 * Smoke run of the benchmark suite (`npm run bench -- --quick`): tiny sizes, so it only shows
 * that every section still runs and reports every figure; the numbers are not checked (they are
 * measurements, see docs/performance.md, never test assertions).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const repo = new URL("../..", import.meta.url).pathname;

test("npm run bench -- --quick runs every section and writes the report", { timeout: 15 * 60_000 }, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "bench-smoke-"));
  try {
    const { stdout } = await run(process.execPath, [path.join(repo, "bench/run.ts"), "--quick", "--out", out],
      { cwd: repo, maxBuffer: 64 * 1024 * 1024, timeout: 14 * 60_000 });
    assert.match(stdout, /## Targets/);
    const report = JSON.parse(fs.readFileSync(path.join(out, "latest-quick.json"), "utf8")) as {
      sections: { section: string; ok: boolean; measurements: { name: string; samples: number[]; skipped?: string }[] }[];
    };
    assert.deepEqual(report.sections.map((s) => s.section), ["limits", "peers", "stingray", "cluster"]);
    for (const s of report.sections) {
      assert.ok(s.ok, `section ${s.section} failed`);
      assert.ok(s.measurements.length > 0, `section ${s.section} reported nothing`);
      for (const m of s.measurements) {
        // Every figure has samples, or says why it could not be measured here.
        assert.ok(m.samples.length > 0 || (m.skipped ?? "").length > 0, `${m.name} has neither samples nor a reason`);
        for (const x of m.samples) assert.ok(Number.isFinite(x), `${m.name} has a non-numeric sample`);
      }
    }
    const names = report.sections.flatMap((s) => s.measurements.map((m) => m.name));
    for (const n of ["tcp_frame_round_trip", "memory_copy_bandwidth", "piscina_tasks_async", "single_client_tasks_async",
      "local_cluster_init_ms", "queued_tasks_driver_bytes_per_task", "get_400mb_ms", "start_head_ready_ms",
      "unix_frame_round_trip", "task_vs_unix_frame_interleaved", "actor_call_vs_unix_frame_interleaved"]) {
      assert.ok(names.includes(n), `${n} is missing from the report`);
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
