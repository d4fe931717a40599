import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { TestHosts, type Host } from "../helpers/hosts.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(ROOT, "bin/stingray.js");
const node = process.execPath;
const skip = TestHosts.supported();
let hosts: TestHosts | undefined;
let token = "";

before(async () => {
  if (skip) return;
  hosts = await TestHosts.create(4); // h3 runs no node: the "laptop" for remote drivers
  const [h0, h1, h2] = hosts.hosts as [Host, Host, Host, Host];
  // A short health-check budget (3 missed pings of 1 s) so the partition test is quick.
  const out = await hosts.exec(h0, [node, CLI, "start", "--head", "--port=6379", `--node-ip-address=${h0.ip}`, "--num-cpus=2"],
    { env: { ...process.env, STINGRAY_HEALTH_CHECK_FAILURE_THRESHOLD: "3" } });
  assert.match(out.stdout, new RegExp(`stingray start --address='${h0.ip.replace(/\./g, "\\.")}:6379'`));
  token = (await hosts.exec(h0, [node, CLI, "get-auth-token"])).stdout.trim();
  for (const [h, zone] of [[h1, "a"], [h2, "b"]] as const) {
    await hosts.exec(h, [node, CLI, "start", `--address=${h0.ip}:6379`, `--node-ip-address=${h.ip}`, "--num-cpus=2",
      `--labels={"zone": "${zone}"}`], { env: { ...process.env, STINGRAY_AUTH_TOKEN: token } });
  }
});
after(async () => { await hosts?.destroy(); });

test("seed 000's example: 1000 tasks report every node's IP on a head plus two workers", { skip }, async () => {
  const h = hosts!.hosts;
  const { stdout } = await hosts!.exec(h[0]!, [node, path.join(ROOT, "test/fixtures/drivers/node_ips.ts")], { cwd: ROOT });
  const res = JSON.parse(stdout.trim().split("\n").pop()!) as { ips: string[]; nodes: number };
  assert.equal(res.nodes, 3);
  assert.deepEqual(res.ips, h.slice(0, 3).map((x) => x.ip).sort());
});

test("objects of 1 KB and 500 MB move between hosts, a 1 GB object is broadcast to every node, and its copies go when it is freed", { skip }, async () => {
  const h = hosts!.hosts;
  const { stdout } = await hosts!.exec(h[0]!, [node, path.join(ROOT, "test/fixtures/drivers/objects_xnode.ts")], { cwd: ROOT, timeoutMs: 240_000 });
  assert.deepEqual(JSON.parse(stdout.trim().split("\n").pop()!), {
    remote_1024: true, remote_524288000: true, broadcast: true, placed: [h[1]!.ip, h[2]!.ip].sort(),
    copiesWhileHeld: [true, true], copiesAfterDrop: [false, false],
  });
});

test("a worker host killed mid-workload: its tasks are retried elsewhere and every result is right", { skip }, async () => {
  const h = hosts!.hosts;
  const ready = `/tmp/node-death-${process.pid}`;
  const env = { ...process.env, READY_FILE: ready };
  const driver = hosts!.exec(h[0]!, [node, path.join(ROOT, "test/fixtures/drivers/node_death.ts")], { cwd: ROOT, env, timeoutMs: 120_000 });
  // The driver's host has a private /tmp: wait for the file inside it.
  for (let i = 0; i < 200; i++) {
    const r = await hosts!.exec(h[0]!, ["sh", "-c", `test -f ${ready} && echo yes || true`]);
    if (r.stdout.includes("yes")) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  await new Promise((res) => setTimeout(res, 300));
  hosts!.killAll(h[2]!); // SIGKILL the host's raylet and workers, mid-workload
  try {
    const res = JSON.parse((await driver).stdout.trim().split("\n").pop()!) as { ok: boolean; count: number; ips: string[]; dead: string[] };
    assert.equal(res.ok, true);
    assert.equal(res.count, 300);
    assert.deepEqual(res.dead, [h[2]!.ip], "the killed host is reported dead");
    assert.ok(res.ips.includes(h[0]!.ip) && res.ips.includes(h[1]!.ip));
  } finally {
    // Bring the host back for the tests that follow.
    await hosts!.exec(h[2]!, [node, CLI, "start", `--address=${h[0]!.ip}:6379`, `--node-ip-address=${h[2]!.ip}`, "--num-cpus=2",
      '--labels={"zone": "b"}'], { env: { ...process.env, STINGRAY_AUTH_TOKEN: token } });
  }
});

test("label selectors choose hosts; an actor whose host dies restarts on another host", { skip }, async () => {
  const h = hosts!.hosts;
  const ready = `/tmp/labels-${process.pid}`;
  const driver = hosts!.exec(h[0]!, [node, path.join(ROOT, "test/fixtures/drivers/labels_restart.ts")],
    { cwd: ROOT, env: { ...process.env, READY_FILE: ready }, timeoutMs: 120_000 });
  for (let i = 0; i < 300; i++) {
    const r = await hosts!.exec(h[0]!, ["sh", "-c", `test -f ${ready} && echo yes || true`]);
    if (r.stdout.includes("yes")) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  hosts!.killAll(h[1]!); // the actor's host dies
  try {
    const res = JSON.parse((await driver).stdout.trim().split("\n").pop()!) as { inB: string[]; notB: string[]; first: string; second: string; spread: number };
    assert.ok(res.spread >= 2, `SPREAD put three concurrent tasks on ${res.spread} node(s)`);
    assert.deepEqual(res.inB, [h[2]!.ip], "zone b tasks ran only on the zone b host");
    assert.ok(!res.notB.includes(h[2]!.ip) && res.notB.length >= 1, "zone !b tasks never ran on the zone b host");
    assert.equal(res.first, h[1]!.ip);
    assert.notEqual(res.second, h[1]!.ip, "the actor came back on another host");
  } finally {
    await hosts!.exec(h[1]!, [node, CLI, "start", `--address=${h[0]!.ip}:6379`, `--node-ip-address=${h[1]!.ip}`, "--num-cpus=2",
      '--labels={"zone": "a"}'], { env: { ...process.env, STINGRAY_AUTH_TOKEN: token } });
  }
});

test("a node cut off the network is marked dead by missed health checks and must restart to rejoin", { skip }, async () => {
  const [h0, h1] = hosts!.hosts as [Host, Host, Host];
  const ipRe = h1.ip.replace(/\./g, "\\.");
  hosts!.partition(h1, true);
  let status = "";
  try {
    for (let i = 0; i < 100 && !status.includes(`(${h1.ip}): missed`); i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = (await hosts!.exec(h0, [node, CLI, "status"])).stdout;
    }
    assert.match(status, new RegExp(`node_\\w+ \\(${ipRe}\\): missed 3 health checks`));
  } finally {
    hosts!.partition(h1, false);
  }
  // Back on the network, the node learns it was declared dead and shuts down (no duplicate actors).
  const isStingray = (p: number): boolean => { try { return /src\/(raylet|worker)\/main\.ts/.test(fs.readFileSync(`/proc/${p}/cmdline`, "utf8")); } catch { return false; } };
  try {
    for (let i = 0; i < 150 && hosts!.pids(h1).some(isStingray); i++) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(hosts!.pids(h1).filter(isStingray), [], "the node declared dead shut itself down");
    const log = (await hosts!.exec(h1, ["sh", "-c", "cat /tmp/stingray/session_latest/logs/raylet.log"])).stdout;
    assert.match(log, /the GCS refused this node: .*was marked dead/);
  } finally {
    await hosts!.exec(h1, [node, CLI, "stop", "--force"]);
    await hosts!.exec(h1, [node, CLI, "start", `--address=${h0.ip}:6379`, `--node-ip-address=${h1.ip}`, "--num-cpus=2",
      '--labels={"zone": "a"}'], { env: { ...process.env, STINGRAY_AUTH_TOKEN: token } });
  }
});

test("a remote driver on a machine without a node drives the cluster through stingray://HEAD:10001", { skip }, async () => {
  const [h0, h1, h2, laptop] = hosts!.hosts as [Host, Host, Host, Host];
  // init({ address: "HEAD:6379" }) from a machine without a node also works (it goes through the client server).
  const viaGcs = await hosts!.exec(laptop, [node, path.join(ROOT, "test/fixtures/drivers/remote_client.ts")],
    { cwd: ROOT, env: { ...process.env, STINGRAY_AUTH_TOKEN: token, CLIENT_ADDRESS: `${h0.ip}:6379` }, timeoutMs: 180_000 });
  assert.deepEqual((JSON.parse(viaGcs.stdout.trim().split("\n").pop()!) as { squares: number[] }).squares, [1, 4, 9]);
  const env = { ...process.env, STINGRAY_AUTH_TOKEN: token, CLIENT_ADDRESS: `stingray://${h0.ip}:10001` };
  const { stdout } = await hosts!.exec(laptop, [node, path.join(ROOT, "test/fixtures/drivers/remote_client.ts")], { cwd: ROOT, env, timeoutMs: 180_000 });
  const res = JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, unknown>;
  assert.deepEqual(res.squares, [1, 4, 9]);
  assert.ok((res.ips as string[]).every((ip) => [h0.ip, h1.ip, h2.ip].includes(ip)), "tasks ran on cluster nodes, not on the laptop");
  assert.equal(res.counter, 5);
  assert.equal(res.putSum, 10_000_000);
  assert.equal(res.bigLen, 12_000_000);
  assert.deepEqual(res.streamed, [0, 1, 2]);
  assert.equal(res.error, "RangeError");
  assert.equal(res.waited, 1);
  assert.equal(res.nodes, 3);
  assert.equal(res.context, true);
  assert.deepEqual(hosts!.pids(laptop), [], "nothing keeps running on the laptop");
  // The wrong token is refused.
  await assert.rejects(hosts!.exec(laptop, [node, path.join(ROOT, "test/fixtures/drivers/remote_client.ts")],
    { cwd: ROOT, env: { ...env, STINGRAY_AUTH_TOKEN: "nope" } }), (e: { stderr?: string }) => /wrong auth token/.test(e.stderr ?? ""));
});

test("a join with a wrong or missing token is refused and says which", { skip }, async () => {
  const [h0, , h2] = hosts!.hosts;
  await assert.rejects(hosts!.exec(h2!, [node, CLI, "start", `--address=${h0!.ip}:6379`, "--num-cpus=1"],
    { env: { ...process.env, STINGRAY_AUTH_TOKEN: "not-the-token" } }), (e: { stderr?: string }) => /wrong auth token/.test(e.stderr ?? ""));
  const env = { ...process.env };
  delete env.STINGRAY_AUTH_TOKEN;
  await assert.rejects(hosts!.exec(h2!, [node, CLI, "start", `--address=${h0!.ip}:6379`], { env }),
    (e: { stderr?: string }) => /missing auth token/.test(e.stderr ?? ""));
});

test("stop stops this host's processes only, and leaves none behind", { skip }, async () => {
  const [h0, h1, h2] = hosts!.hosts as [Host, Host, Host];
  const out = await hosts!.exec(h2, [node, CLI, "stop"]);
  assert.match(out.stdout, /Stopped all \d+ Stingray processes \(gcs_server: 0, raylet: 1/);
  assert.deepEqual(hosts!.pids(h2), [], "nothing left on the stopped host");
  assert.ok(hosts!.pids(h0).length > 0 && hosts!.pids(h1).length > 0, "other hosts keep running");
  for (const h of [h1, h0]) await hosts!.exec(h, [node, CLI, "stop"]);
  for (const h of hosts!.hosts) assert.deepEqual(hosts!.pids(h), [], `no process left on ${h.name}`);
});

test("--block exits non-zero when a daemon dies; a node whose head is gone retries, then exits", { skip }, async () => {
  const [h0, h1, h2] = hosts!.hosts as [Host, Host, Host];
  await hosts!.exec(h0, [node, CLI, "start", "--head", "--port=6379", `--node-ip-address=${h0.ip}`, "--num-cpus=1"]);
  const tok = (await hosts!.exec(h0, [node, CLI, "get-auth-token"])).stdout.trim();
  const env = { ...process.env, STINGRAY_AUTH_TOKEN: tok, STINGRAY_GCS_RECONNECT_TIMEOUT_MS: "1500" };
  await hosts!.exec(h1, [node, CLI, "start", `--address=${h0.ip}:6379`, `--node-ip-address=${h1.ip}`, "--num-cpus=1"], { env });
  // A blocking node on h2: it stays in the foreground until one of its daemons dies.
  const blocking = hosts!.spawn(h2, [node, CLI, "start", `--address=${h0.ip}:6379`, `--node-ip-address=${h2.ip}`, "--num-cpus=1", "--block"], { env });
  let blockOut = "";
  blocking.stdout!.on("data", (d: Buffer) => { blockOut += d.toString(); });
  blocking.stderr!.on("data", (d: Buffer) => { blockOut += d.toString(); });
  for (let i = 0; i < 100 && !blockOut.includes("watching the daemons"); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(blockOut, /watching the daemons/);
  const exited = new Promise<number | null>((r) => blocking.once("exit", (code) => r(code)));
  const rayletPid = hosts!.pids(h2).find((p) => { try { return /raylet\/main\.ts/.test(fs.readFileSync(`/proc/${p}/cmdline`, "utf8")); } catch { return false; } });
  assert.ok(rayletPid, "the blocking node's raylet runs");
  process.kill(rayletPid, "SIGKILL");
  assert.notEqual(await exited, 0, "--block exits non-zero when its raylet dies");
  assert.match(blockOut, /raylet \(pid \d+\) exited/);
  // Now the head disappears: h1's raylet retries for 1.5 s, then exits cleanly.
  hosts!.killAll(h0);
  for (let i = 0; i < 100 && hosts!.pids(h1).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(hosts!.pids(h1), [], "the orphaned node shut itself down");
  const log = (await hosts!.exec(h1, ["sh", "-c", "cat /tmp/stingray/session_latest/logs/raylet.log"])).stdout;
  assert.match(log, /retrying for 1\.5s/);
  assert.match(log, /did not come back within 1\.5s/);
});

test("seed 004's fixed ports: every listening port is one the flags gave", { skip }, async () => {
  const h2 = hosts!.hosts[2]!;
  await hosts!.exec(h2, [node, CLI, "stop", "--force"]);
  const out = await hosts!.exec(h2, [node, CLI, "start", "--head", "--max-worker-port=10099", "--node-manager-port=20000",
    "--object-manager-port=20001", "--dashboard-host=0.0.0.0", "--redis-shard-ports=20002,20003,20004,20005,20006,20007",
    // Stingray's one addition: the metrics port, inside the range the seed already publishes.
    "--metrics-export-port=20002", `--node-ip-address=${h2.ip}`, "--num-cpus=2"]);
  assert.match(out.stderr, /--redis-shard-ports has no meaning in Stingray/);
  const { stdout } = await hosts!.exec(h2, [node, path.join(ROOT, "test/fixtures/drivers/node_ips.ts")], { cwd: ROOT });
  assert.deepEqual(JSON.parse(stdout.trim().split("\n").pop()!).ips, [h2.ip]);
  const ss = (await hosts!.exec(h2, ["ss", "-Hltn"])).stdout;
  const ports = [...ss.matchAll(/:(\d+)\s/g)].map((m) => Number(m[1]));
  assert.ok(ports.includes(6379) && ports.includes(20000) && ports.includes(8265), `head ports listen: ${ports.join(",")}`);
  assert.ok(ports.includes(20002), `the metrics port listens: ${ports.join(",")}`);
  const stray = ports.filter((p) => p !== 6379 && p !== 20000 && p !== 20002 && p !== 8265 && !(p >= 10001 && p <= 10099));
  assert.deepEqual(stray, [], "no process listens outside the given ports");
  await hosts!.exec(h2, [node, CLI, "stop"]);
});
