import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { TestHosts, type Host } from "../helpers/hosts.ts";
import { providerConformance } from "../helpers/provider_conformance.ts";
import localProvider from "../../src/launcher/providers/local.ts";

// The provider conformance suite against the two providers whose nodes are real machines or
// processes here: `local` (a pool of test-host IPs; the suite never logs in, so no sshd is
// needed) and `fake_multinode` (real raylets joining a real head, run inside a test host).
const ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(ROOT, "bin/stingray.js");
const skip = TestHosts.supported();
let hosts: TestHosts | undefined;
const stateDirs: string[] = [];

after(async () => {
  await hosts?.destroy();
  for (const d of stateDirs) fs.rmSync(d, { recursive: true, force: true });
});

if (!skip) {
  // Cluster A gets a head and two workers, cluster B a head and one worker: separate pools, as two
  // clusters on one set of machines must have.
  let pools: Host[][] | undefined;
  providerConformance("local", async ({ clusterName }) => {
    if (!pools) {
      hosts = await TestHosts.create(6);
      pools = [hosts.hosts.slice(0, 3), hosts.hosts.slice(3, 6)];
    }
    const pool = pools.shift()!;
    const stateDir = fs.mkdtempSync("/tmp/local-conf-");
    stateDirs.push(stateDir);
    const provider = await localProvider.createProvider({ type: "local", head_ip: pool[0]!.ip, worker_ips: pool.slice(1).map((h) => h.ip) },
      { clusterName, onHead: true, stateDir, log: () => {} });
    return { provider, nodeConfig: {}, teardown: async () => {} };
  }, { maxNodes: 2 });
}

describe("provider conformance: fake_multinode (inside a test host)", () => {
  let fh: TestHosts | undefined;
  before(async () => { if (!skip) fh = await TestHosts.create(1); });
  after(async () => { await fh?.destroy(); });
  test("passes the suite with raylets joining a real head", { skip, timeout: 300_000 }, async () => {
    const h = fh!.hosts[0]!;
    await fh!.exec(h, [process.execPath, CLI, "start", "--head", "--port=6379", `--node-ip-address=${h.ip}`, "--num-cpus=1", "--include-dashboard=false"]);
    const token = (await fh!.exec(h, [process.execPath, CLI, "get-auth-token"])).stdout.trim();
    const env: NodeJS.ProcessEnv = { ...process.env, STINGRAY_TEST_GCS: `${h.ip}:6379`, STINGRAY_AUTH_TOKEN: token };
    delete env.NODE_TEST_CONTEXT; // a test run of its own, reporting on stdout, not to this runner
    const r = await fh!.exec(h, [process.execPath, "--test", "--test-reporter=tap", path.join(ROOT, "test/fixtures/conformance/fake_multinode.conformance.ts")],
      { env, cwd: ROOT, timeoutMs: 240_000 })
      .catch((e: { stdout?: string; stderr?: string }) => { assert.fail(`the suite failed:\n${e.stdout ?? ""}\n${e.stderr ?? ""}`); });
    assert.match(r.stdout, /# fail 0/);
    assert.match(r.stdout, /# pass [1-9]/);
    await fh!.exec(h, [process.execPath, CLI, "stop"]);
  });
});
