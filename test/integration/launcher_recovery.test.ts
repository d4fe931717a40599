import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { TestHosts, type Host } from "../helpers/hosts.ts";
import { makeKey, sshUnsupported, startSshd, waitForSsh } from "../helpers/sshd.ts";
import { LauncherRig, ROOT, INSTALL_STINGRAY } from "../helpers/launcher.ts";

// The autoscaler recovers from a failed launch, for real: the one worker machine of a local
// cluster does not answer SSH at first (no sshd yet), so its setup fails; the failure shows in
// `stingray status` and monitor.log, the node is released, and once sshd runs on it the
// autoscaler launches it again and it joins the cluster.
const skip = TestHosts.supported() ?? sshUnsupported(["rsync"]);
let hosts: TestHosts | undefined;
let laptop: Host, head: Host, w1: Host;
let pub = "";
const rig = new LauncherRig();

before(async () => {
  if (skip) return;
  hosts = await TestHosts.create(3, [ROOT], { privateHome: true });
  [laptop, head, w1] = hosts.hosts as [Host, Host, Host];
  rig.attach(hosts, laptop, head);
  fs.writeFileSync(rig.cfgFile, `
cluster_name: recovery-test
idle_timeout_minutes: 5
provider:
  type: local
  head_ip: ${head.ip}
  worker_ips: [${w1.ip}]
auth:
  ssh_user: root
  ssh_private_key: ~/.ssh/id_ed25519
setup_commands:
  - ${INSTALL_STINGRAY}
head_start_ray_commands:
  - stingray stop
  - STINGRAY_AUTOSCALER_UPDATE_INTERVAL_S=1 STINGRAY_LAUNCHER_SSH_WAIT_S=3 stingray start --head --port=6379 --num-cpus=1 --autoscaling-config=~/stingray_bootstrap_config.yaml
worker_start_ray_commands:
  - stingray stop
  - stingray start --address=$STINGRAY_HEAD_IP:6379 --num-cpus=1
`);
  pub = await makeKey(hosts, laptop, "/root/.ssh/id_ed25519");
  await startSshd(hosts, head, [pub]);
  await waitForSsh(hosts, laptop, [head], "/root/.ssh/id_ed25519");
});
after(async () => {
  await hosts?.destroy();
  rig.cleanup();
});

test("a worker whose setup fails is reported, released and launched again once it answers", { skip, timeout: 600_000 }, async () => {
  await rig.cli(["up", rig.cfgFile, "-y", "--no-wait"]);
  // `stingray status` on the head names the failure.
  const headStatus = async (): Promise<string> => (await rig.hosts.exec(head, ["sh", "-c", "PATH=$HOME/bin:$PATH stingray status"])).stdout;
  await rig.until("the failed setup in stingray status", async () => {
    const s = await headStatus().catch(() => "");
    return new RegExp(`Recent failures:[\\s\\S]*${w1.ip.replace(/\./g, "\\.")}: local\\.cluster\\.node, setup failed`).test(s);
  }, 120_000);
  assert.match(await rig.monitorLog(200), /did not answer over SSH within 3 s/);
  assert.deepEqual(rig.stingrayPids(w1), []);

  // The machine comes back: the next launch sets it up and it joins.
  await startSshd(hosts!, w1, [pub]);
  await rig.until("the worker to join after the failure", async () => (await rig.aliveIps()).length === 2, 180_000);
  assert.deepEqual(await rig.aliveIps(), [head.ip, w1.ip].sort());

  await rig.cli(["down", rig.cfgFile, "-y"]);
  for (const h of [head, w1]) await rig.until(`no Stingray process on ${h.ip}`, async () => rig.stingrayPids(h).length === 0, 30_000);
});
