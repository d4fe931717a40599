/**
 * init()'s local cluster has a dashboard too: on 127.0.0.1:8265, or on another free port when a
 * second local cluster runs on the same host; both need the token; neither outlives its driver.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import * as ray from "../../src/api/index.ts";
import { stingrayPids, waitFor } from "../helpers/procs.ts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");

test("a local cluster's dashboard: its own port when 8265 is taken, token required, gone after shutdown", { timeout: 120_000 }, async () => {
  const before = new Set(stingrayPids());
  const info = await ray.init({ numCpus: 1, logToDriver: false });
  try {
    assert.match(info.dashboardUrl ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
    const { stdout } = await run(process.execPath, [path.join(ROOT, "test/fixtures/drivers/dashboard_url.ts")], { cwd: ROOT, timeout: 90_000 });
    const other = JSON.parse(stdout.trim().split("\n").pop()!) as { dashboardUrl: string; withToken: number; without: number };
    assert.match(other.dashboardUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(other.dashboardUrl, info.dashboardUrl, "the second cluster's dashboard got its own port");
    assert.equal(other.withToken, 200);
    assert.equal(other.without, 401);
    const mine = await fetch(`${info.dashboardUrl}/api/version`);
    assert.equal(mine.status, 401);
  } finally {
    await ray.shutdown();
  }
  await waitFor(() => stingrayPids().every((p) => before.has(p)), 10_000, "the local cluster's processes to exit");
});
