import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { TestHosts, type Host } from "../helpers/hosts.ts";

// The autoscaler end to end with the fake_multinode provider (Ray's testing provider): `stingray
// up` on a test host starts a head with one CPU and the autoscaler; work needing more CPUs makes
// it launch real raylets (up to max_workers), the tasks run on them, idle workers are removed
// after the (shortened) idle timeout, and a GPU request no node type can hold is reported as
// infeasible and launched for by nobody. `stingray down` leaves no Stingray process.
const ROOT = path.resolve(import.meta.dirname, "../..");
const skip = TestHosts.supported();
let hosts: TestHosts | undefined;
let h0: Host;
const shared = `/run/stingray-test-${randomBytes(4).toString("hex")}`;
const cfgFile = path.join(shared, "cluster.yaml");
const env = (): NodeJS.ProcessEnv => ({
  ...process.env, HOME: "/tmp/home", PATH: `${shared}/bin:${process.env.PATH}`,
  STINGRAY_AUTOSCALER_UPDATE_INTERVAL_S: "1",
});

const CONFIG = `
cluster_name: fake-test
max_workers: 2
upscaling_speed: 1.0
idle_timeout_minutes: 0.1
provider:
  type: fake_multinode
available_node_types:
  head:
    resources: {CPU: 1}
    node_config: {}
    max_workers: 0
  cpu_worker:
    resources: {CPU: 1}
    node_config: {}
    min_workers: 0
    max_workers: 3
  big_worker:
    resources: {CPU: 2}
    node_config: {}
    min_workers: 0
    max_workers: 1
head_node_type: head
head_start_ray_commands:
  - stingray stop
  - stingray start --head --port=6379 --num-cpus=1 --autoscaling-config=~/stingray_bootstrap_config.yaml
`;

function isStingray(pid: number): boolean {
  try { return /src\/(gcs|raylet|worker|autoscaler)\/main\.ts/.test(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")); } catch { return false; }
}

async function cli(args: string[], timeoutMs = 180_000): Promise<{ stdout: string; stderr: string }> {
  return hosts!.exec(h0, ["stingray", ...args], { env: env(), timeoutMs, cwd: ROOT });
}

async function aliveNodes(): Promise<Array<{ nodeId: string; isHead: boolean }>> {
  const { stdout } = await cli(["list", "nodes", "--format=json"], 60_000).catch(() => ({ stdout: "[]" }));
  try {
    return (JSON.parse(stdout) as Array<{ node_id: string; state: string; is_head_node: boolean }>)
      .filter((n) => n.state === "ALIVE").map((n) => ({ nodeId: n.node_id, isHead: n.is_head_node }));
  } catch { return []; }
}

before(async () => {
  if (skip) return;
  fs.mkdirSync(path.join(shared, "bin"), { recursive: true });
  fs.symlinkSync(path.join(ROOT, "bin/stingray.js"), path.join(shared, "bin/stingray"));
  fs.symlinkSync(process.execPath, path.join(shared, "bin/node"));
  fs.writeFileSync(cfgFile, CONFIG);
  hosts = await TestHosts.create(1);
  h0 = hosts.hosts[0]!;
  await hosts.exec(h0, ["mkdir", "-p", "/tmp/home"]);
});
after(async () => {
  await hosts?.destroy();
  fs.rmSync(shared, { recursive: true, force: true });
});

test("fake_multinode: workers launch for demand within max_workers, infeasible demand is reported, idle workers go", { skip, timeout: 600_000 }, async () => {
  const upOut = await cli(["up", cfgFile, "-y"]);
  assert.match(upOut.stdout, /Stingray is up on the head node/);
  const again = await cli(["up", cfgFile, "-y"]);
  assert.match(again.stdout, /is up to date: no changes/, "a second up with the same config changes nothing");

  // 6 one-CPU tasks of 5 s on a one-CPU head, and a GPU task nobody can run.
  const driver = hosts!.spawn(h0, ["node", path.join(ROOT, "test/fixtures/drivers/autoscale_load.ts")],
    { env: { ...env(), TASKS: "6", SLEEP_MS: "5000", INFEASIBLE: "1", HOLD: "1" }, cwd: ROOT });
  let out = "";
  driver.stdout!.on("data", (d: Buffer) => { out += d.toString(); });
  driver.stderr!.on("data", (d: Buffer) => { out += d.toString(); });

  let maxWorkers = 0;
  let sawInfeasible = false;
  const deadline = Date.now() + 240_000;
  while (!/"tasks":6/.test(out)) {
    assert.ok(Date.now() < deadline, `the tasks did not finish; driver output:\n${out}`);
    const nodes = await aliveNodes();
    maxWorkers = Math.max(maxWorkers, nodes.filter((n) => !n.isHead).length);
    const status = (await cli(["status"], 60_000).catch(() => ({ stdout: "" }))).stdout;
    if (/GPU: 1\}: \d+\+ pending tasks\/actors \(infeasible/.test(status)) sawInfeasible = true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const result = JSON.parse(out.split("\n").find((l) => l.startsWith("{\"nodes\""))!) as { nodes: string[] };
  assert.equal(maxWorkers, 2, "the autoscaler launched workers up to max_workers (2), not beyond");
  assert.ok(result.nodes.length >= 2, `tasks ran on the new workers too (nodes: ${result.nodes.join(", ")})`);
  if (!sawInfeasible) {
    const status = (await cli(["status"])).stdout;
    assert.match(status, /GPU: 1\}: \d+\+ pending tasks\/actors \(infeasible/, `the GPU demand is shown as infeasible:\n${status}`);
  }
  const monitorLog = (await hosts!.exec(h0, ["sh", "-c", "cat /tmp/stingray/session_latest/logs/monitor.log"])).stdout;
  assert.match(monitorLog, /launch/i, "the monitor log records the launch decisions");
  assert.doesNotMatch(monitorLog, /launching \d+ .*GPU/i, "nothing is launched for the GPU demand");

  driver.kill("SIGTERM");
  // Idle workers (6 s idle timeout) are terminated; the head stays.
  const idleDeadline = Date.now() + 120_000;
  for (;;) {
    const nodes = await aliveNodes();
    if (nodes.length === 1 && nodes[0]!.isHead) break;
    assert.ok(Date.now() < idleDeadline, `idle workers were not removed: ${JSON.stringify(nodes)}\n${(await cli(["status"])).stdout}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.match((await hosts!.exec(h0, ["sh", "-c", "cat /tmp/stingray/session_latest/logs/monitor.log"])).stdout, /idle/i);

  // An actor needing 2 CPUs fits no running node (the GCS holds it as pending demand): a
  // big_worker is launched and the actor is placed there.
  const actor = await hosts!.exec(h0, ["node", path.join(ROOT, "test/fixtures/drivers/autoscale_actor.ts")],
    { env: { ...env(), ACTOR_CPUS: "2" }, cwd: ROOT, timeoutMs: 180_000 });
  const { actorNode } = JSON.parse(actor.stdout.trim().split("\n").pop()!) as { actorNode: string };
  const withActor = await aliveNodes();
  assert.ok(withActor.some((n) => n.nodeId === actorNode && !n.isHead), `the actor runs on a new worker (${actorNode}): ${JSON.stringify(withActor)}`);
  assert.match((await hosts!.exec(h0, ["sh", "-c", "cat /tmp/stingray/session_latest/logs/monitor.log"])).stdout, /adding 1 node of type big_worker/);

  // requestResources sizes the cluster ahead of any work; withdrawing it lets the nodes go idle.
  const request = (cpus: number): Promise<unknown> => hosts!.exec(h0, ["node", path.join(ROOT, "test/fixtures/drivers/request_resources.ts")],
    { env: { ...env(), CPUS: String(cpus) }, cwd: ROOT });
  // Start from the head alone (the actor's big_worker goes once idle), so the growth below is the request's.
  const aloneDeadline = Date.now() + 120_000;
  while ((await aliveNodes()).length > 1) {
    assert.ok(Date.now() < aloneDeadline, "the big_worker was not removed after the actor's driver exited");
    await new Promise((r) => setTimeout(r, 1000));
  }
  await request(3);
  const cpuDeadline = Date.now() + 120_000;
  for (;;) {
    const { stdout } = await cli(["list", "nodes", "--format=json"], 60_000).catch(() => ({ stdout: "[]" }));
    const cpus = (JSON.parse(stdout) as Array<{ state: string; resources_total: Record<string, number> }>)
      .filter((n) => n.state === "ALIVE").reduce((t, n) => t + (n.resources_total.CPU ?? 0), 0);
    if (cpus >= 3) break;
    assert.ok(Date.now() < cpuDeadline, `requestResources({ numCpus: 3 }) did not grow the cluster to 3 CPUs (has ${cpus})`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  let status = "";
  for (let i = 0; i < 30 && !/\{CPU: 1\}: 3 from requestResources\(\)/.test(status); i++) {
    status = (await cli(["status"])).stdout;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.match(status, /\{CPU: 1\}: 3 from requestResources\(\)/, "stingray status lists the request");
  await request(0);
  const shrinkDeadline = Date.now() + 120_000;
  while ((await aliveNodes()).length > 1) {
    assert.ok(Date.now() < shrinkDeadline, "the requested nodes were not removed after the request was withdrawn");
    await new Promise((r) => setTimeout(r, 1000));
  }

  const downOut = await cli(["down", cfgFile, "-y"]);
  assert.match(downOut.stdout, /is down/);
  for (let i = 0; i < 50 && hosts!.pids(h0).some(isStingray); i++) await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(hosts!.pids(h0).filter(isStingray), [], "no Stingray process is left on the host");

  // exec --start --stop on a new cluster name: up, run, tear down.
  const once = await cli(["exec", cfgFile, "stingray status", "--start", "--stop", "--cluster-name", "experiment-1"]);
  assert.match(once.stdout, /Launching the head node/);
  assert.match(once.stdout, /Node status/);
  for (let i = 0; i < 100 && hosts!.pids(h0).some(isStingray); i++) await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(hosts!.pids(h0).filter(isStingray), [], "exec --stop left no Stingray process");
  assert.match((await cli(["get-head-ip", cfgFile, "--cluster-name", "experiment-1"]).catch((e: { stderr: string }) => ({ stdout: "", stderr: e.stderr }))).stderr,
    /has no head node/, "the experiment-1 head was terminated");
});
