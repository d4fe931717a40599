import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { TestHosts, type Host } from "../helpers/hosts.ts";
import { makeKey, sshUnsupported, startSshd, waitForSsh } from "../helpers/sshd.ts";
import { LauncherRig, ROOT, INSTALL_STINGRAY } from "../helpers/launcher.ts";

// Seed 001's private-cluster flow with the `local` provider, for real: four test hosts (a
// "laptop" that runs the launcher, a head and two workers, each with its own IP, /tmp and home),
// sshd on the cluster hosts, keys generated here. `stingray up` sets up the head over SSH; the
// head's autoscaler sets up the workers; exec, submit, rsync-up/down, attach-free commands work;
// `up` again changes nothing; a changed worker setup command re-runs on the workers only; the
// worker pool shrinks when idle and grows with load; `down` leaves no Stingray process anywhere.
const skip = TestHosts.supported() ?? sshUnsupported(["rsync"]);
let hosts: TestHosts | undefined;
let laptop: Host, head: Host, w1: Host, w2: Host;
const rig = new LauncherRig();
const { cfgFile } = rig;
const env = (): NodeJS.ProcessEnv => rig.env();
const cli = (args: string[], timeoutMs?: number): Promise<{ stdout: string; stderr: string }> => rig.cli(args, timeoutMs);
const aliveIps = (): Promise<string[]> => rig.aliveIps();
const until = (what: string, cond: () => Promise<boolean>, timeoutMs?: number): Promise<void> => rig.until(what, cond, timeoutMs);
const isStingrayOn = (h: Host): number[] => rig.stingrayPids(h);

function config(workerMarker: string): string {
  return `
cluster_name: ssh-test
max_workers: 2
upscaling_speed: 1.0
idle_timeout_minutes: 0.1
provider:
  type: local
  head_ip: ${head.ip}
  worker_ips: [${w1.ip}, ${w2.ip}]
auth:
  ssh_user: root
  ssh_private_key: ~/.ssh/id_ed25519
file_mounts:
  ~/app: /root/app-src
setup_commands:
  # What a user's install does (npm install stingray): the CLI on PATH and the package in ~/node_modules.
  - ${INSTALL_STINGRAY}
head_setup_commands:
  - echo ran >> ~/head_setup_count
worker_setup_commands:
  - echo ${workerMarker} > ~/worker_marker
head_start_ray_commands:
  - stingray stop
  - STINGRAY_AUTOSCALER_UPDATE_INTERVAL_S=1 stingray start --head --port=6379 --num-cpus=1 --autoscaling-config=~/stingray_bootstrap_config.yaml
worker_start_ray_commands:
  - stingray stop
  - stingray start --address=$RAY_HEAD_IP:6379 --num-cpus=1
`;
}

function gcsPid(h: Host): number | undefined {
  return hosts!.pids(h).find((p) => { try { return /src\/gcs\/main\.ts/.test(fs.readFileSync(`/proc/${p}/cmdline`, "utf8")); } catch { return false; } });
}

before(async () => {
  if (skip) return;
  hosts = await TestHosts.create(4, [ROOT], { privateHome: true });
  [laptop, head, w1, w2] = hosts.hosts as [Host, Host, Host, Host];
  rig.attach(hosts, laptop, head);
  fs.writeFileSync(cfgFile, config("v1"));
  const pub = await makeKey(hosts, laptop, "/root/.ssh/id_ed25519");
  for (const h of [head, w1, w2]) await startSshd(hosts, h, [pub]);
  await waitForSsh(hosts, laptop, [head, w1, w2], "/root/.ssh/id_ed25519");
  await hosts.exec(laptop, ["sh", "-c", "mkdir -p /root/app-src /root/data/sub && echo app-v1 > /root/app-src/app.txt && " +
    "echo one > /root/data/a.txt && echo two > /root/data/sub/b.txt"]);
});
after(async () => {
  await hosts?.destroy();
  rig.cleanup();
});

test("local provider over SSH: up, exec, submit, rsync, idempotent up, changed setup, autoscaling pool, down", { skip, timeout: 900_000 }, async () => {
  try {
    await flow();
  } catch (e) {
    // The autoscaler's log says what the cluster did; keep it with the failure.
    throw new Error(`${(e as Error).message}\nmonitor.log:\n${await rig.monitorLog(80)}`, { cause: e });
  }
});

async function flow(): Promise<void> {
  // --dry-run validates and prints the plan without touching a host.
  const dry = await cli(["up", cfgFile, "--dry-run"]);
  assert.match(dry.stdout, /is valid/);
  assert.match(dry.stdout, /stingray start --head/);
  assert.equal(isStingrayOn(head).length, 0, "--dry-run started nothing");

  const up1 = await cli(["up", cfgFile, "-y"]);
  assert.match(up1.stdout, /\[6\/6\] Starting Stingray/);
  // up follows the workers the head's autoscaler sets up, node by node.
  for (const w of [w1, w2]) assert.match(up1.stdout, new RegExp(`${w.ip.replace(/\./g, "\\.")} \\(local\\.cluster\\.node\\): up-to-date`));
  assert.match(up1.stdout, /2 worker node\(s\) up to date/);
  assert.match(up1.stdout, new RegExp(`Stingray is up on the head node ${head.ip.replace(/\./g, "\\.")}`));
  await until("the head and both workers", async () => (await aliveIps()).length === 3);
  assert.deepEqual(await aliveIps(), [head.ip, w1.ip, w2.ip].sort());
  assert.equal((await cli(["get-head-ip", cfgFile])).stdout.trim(), head.ip);
  assert.deepEqual((await cli(["get-worker-ips", cfgFile])).stdout.trim().split("\n").sort(), [w1.ip, w2.ip].sort());
  // File mounts reached the head and (through the head) the workers.
  for (const h of [head, w1, w2]) assert.equal((await hosts!.exec(h, ["cat", "/root/app/app.txt"])).stdout.trim(), "app-v1");
  // The token reached the workers through the launcher's stdin, never a command line: the start
  // commands' argv and the config files hold no token.
  const token = (await cli(["exec", cfgFile, "stingray get-auth-token"])).stdout.trim();
  assert.ok(token.length > 10);
  assert.doesNotMatch(fs.readFileSync(cfgFile, "utf8") + (await hosts!.exec(head, ["cat", "/root/stingray_bootstrap_config.yaml"])).stdout, new RegExp(token));

  for (const h of [head, w1, w2]) {
    for (const p of hosts!.pids(h)) {
      let argv = "";
      try { argv = fs.readFileSync(`/proc/${p}/cmdline`, "utf8"); } catch { continue; }
      assert.ok(!argv.includes(token), `no process on ${h.ip} has the token in its command line: ${argv.replace(/\0/g, " ")}`);
    }
  }

  const hello = await cli(["exec", cfgFile, "echo hello from $(hostname -I)"]);
  assert.match(hello.stdout, new RegExp(`hello from ${head.ip.replace(/\./g, "\\.")}`));
  const all = await cli(["exec", cfgFile, "cat ~/worker_marker 2>/dev/null || echo head", "--all-nodes"]);
  assert.equal(all.stdout.split("\n").filter((l) => /\) v1$/.test(l)).length, 2, all.stdout);

  const submitted = await cli(["submit", cfgFile, path.join(ROOT, "test/fixtures/drivers/node_ips.ts")]);
  assert.deepEqual(JSON.parse(submitted.stdout.trim().split("\n").pop()!).ips, [head.ip, w1.ip, w2.ip].sort(), "the submitted script ran on the head across all nodes");

  await cli(["rsync-up", cfgFile, "/root/data/", "~/data/"]);
  assert.equal((await hosts!.exec(head, ["cat", "/root/data/sub/b.txt"])).stdout.trim(), "two");
  await cli(["rsync-down", cfgFile, "~/data/", "/root/back/"]);
  assert.equal((await hosts!.exec(laptop, ["sh", "-c", "cat /root/back/a.txt /root/back/sub/b.txt"])).stdout, "one\ntwo\n");

  // attach: an interactive login shell on the head (a pseudo-terminal from `script`).
  const attached = await hosts!.exec(laptop, ["sh", "-c", `printf 'echo ATTACHED-$((6*7)) $(hostname -I)\\nexit\\n' | script -qec 'stingray attach ${cfgFile}' /dev/null`],
    { env: env(), cwd: ROOT, timeoutMs: 60_000 });
  assert.match(attached.stdout, new RegExp(`ATTACHED-42 ${head.ip.replace(/\./g, "\\.")}`));
  // exec --tmux leaves the command running in a detached tmux session on the head.
  await cli(["exec", cfgFile, "sleep 120", "--tmux"]);
  assert.match((await cli(["exec", cfgFile, "tmux ls"])).stdout, /1 windows/);
  // monitor follows the autoscaler's log; dashboard forwards the head's loopback-only dashboard.
  const mon = hosts!.spawn(laptop, ["stingray", "monitor", cfgFile, "--lines", "50"], { env: env(), cwd: ROOT });
  let monOut = "";
  mon.stdout!.on("data", (d: Buffer) => { monOut += d.toString(); });
  await until("monitor output", async () => /status: active \d+/.test(monOut), 30_000);
  mon.kill("SIGTERM");
  const dash = hosts!.spawn(laptop, ["stingray", "dashboard", cfgFile, "-p", "18265"], { env: env(), cwd: ROOT });
  await until("the forwarded dashboard", async () => {
    const r = await hosts!.exec(laptop, ["stingray", "job", "list", "--address", "http://127.0.0.1:18265"],
      { env: { ...env(), STINGRAY_AUTH_TOKEN: token }, cwd: ROOT, timeoutMs: 30_000 }).catch(() => undefined);
    return r !== undefined;
  }, 60_000);
  dash.kill("SIGTERM");
  // exec --port-forward: a server the command starts on the head is reachable on the laptop.
  const server = "node -e \"require('http').createServer((q, r) => r.end('pf-' + require('os').hostname().length)).listen(18267, '127.0.0.1'); setTimeout(() => process.exit(0), 20000)\"";
  const pf = hosts!.spawn(laptop, ["stingray", "exec", cfgFile, server, "--port-forward=18267"], { env: env(), cwd: ROOT });
  await until("the forwarded port", async () => {
    const r = await hosts!.exec(laptop, ["node", "-e", "fetch('http://127.0.0.1:18267').then(r => r.text()).then(t => console.log(t))"],
      { env: env(), timeoutMs: 10_000 }).catch(() => undefined);
    return r !== undefined && /^pf-\d+/.test(r.stdout);
  }, 60_000);
  pf.kill("SIGTERM");

  // Same config again: nothing changes (no restart: the GCS process is the same).
  const pid = gcsPid(head);
  assert.ok(pid);
  const up2 = await cli(["up", cfgFile, "-y"]);
  assert.match(up2.stdout, /is up to date: no changes/);
  assert.equal(gcsPid(head), pid);

  // A changed worker setup command: the head is not set up again nor restarted; the autoscaler
  // sets the workers up again.
  fs.writeFileSync(cfgFile, config("v2"));
  const up3 = await cli(["up", cfgFile, "-y"]);
  assert.match(up3.stdout, /Updating the autoscaler's config/);
  assert.equal(gcsPid(head), pid, "the head was not restarted");
  assert.equal((await hosts!.exec(head, ["cat", "/root/head_setup_count"])).stdout, "ran\n", "head setup commands ran once");
  await until("both workers set up with v2", async () => {
    const m = await Promise.all([w1, w2].map((w) => hosts!.exec(w, ["cat", "/root/worker_marker"]).then((r) => r.stdout.trim(), () => "")));
    return m.every((x) => x === "v2");
  });
  await until("both workers back", async () => (await aliveIps()).length === 3);

  // The pool follows the load: with min_workers 0 the idle workers go (0.1 min idle timeout)...
  await cli(["up", cfgFile, "-y", "--min-workers", "0"]);
  await until("idle workers removed", async () => (await aliveIps()).length === 1);
  await until("no Stingray left on the released workers", async () => [w1, w2].every((w) => isStingrayOn(w).length === 0), 60_000);
  await until("the pool to be empty", async () => (await cli(["get-worker-ips", cfgFile])).stdout.trim() === "", 30_000);
  // ...and come back for work that needs more CPUs than the head has.
  await cli(["rsync-up", cfgFile, path.join(ROOT, "test/fixtures/drivers/autoscale_load.ts"), "~/autoscale_load.ts"]);
  const load = hosts!.spawn(laptop, ["stingray", "exec", cfgFile, "TASKS=6 SLEEP_MS=8000 node ~/autoscale_load.ts"], { env: env(), cwd: ROOT });
  let out = "";
  load.stdout!.on("data", (d: Buffer) => { out += d.toString(); });
  load.stderr!.on("data", (d: Buffer) => { out += d.toString(); });
  let most = 0;
  await until("the load to finish", async () => {
    most = Math.max(most, (await aliveIps()).length);
    return /"tasks":6/.test(out);
  }, 300_000);
  assert.equal(most, 3, "the pool grew to both workers under load");
  const ran = JSON.parse(out.split("\n").find((l) => l.startsWith("{\"nodes\""))!) as { nodes: string[] };
  assert.ok(ran.nodes.length >= 2, `the tasks ran on added workers too: ${out}`);
  await until("the pool to shrink again", async () => (await aliveIps()).length === 1);

  // --restart-only restarts Stingray on the head (a new GCS) without setup; the autoscaler then
  // sets up the workers again, so they join the new head with its new token.
  const upR = await cli(["up", cfgFile, "-y", "--restart-only", "--min-workers", "2"]);
  assert.match(upR.stdout, /\[6\/6\] Starting Stingray/);
  assert.doesNotMatch(upR.stdout, /setup command:/);
  assert.notEqual(gcsPid(head), pid, "the head was restarted");
  assert.equal((await hosts!.exec(head, ["cat", "/root/head_setup_count"])).stdout, "ran\n", "head setup commands did not run again");
  await until("both workers joined the restarted head", async () => (await aliveIps()).length === 3, 240_000);

  const down = await cli(["down", cfgFile, "-y"]);
  assert.match(down.stdout, /is down/);
  for (const h of [laptop, head, w1, w2]) {
    await until(`no Stingray process on ${h.ip}`, async () => isStingrayOn(h).length === 0, 30_000);
  }
}
