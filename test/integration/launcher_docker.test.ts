import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { INSTALL_STINGRAY } from "../helpers/launcher.ts";
import { TestHosts, type Host } from "../helpers/hosts.ts";
import { makeKey, sshUnsupported, startSshd, waitForSsh } from "../helpers/sshd.ts";
import { BASE_IMAGE, IMAGE_MARKER, buildBaseImage, cgroupMountScript, loadImage, podman, podmanEngine, podmanUnsupported,
  removeAllContainers, removeCgroupParent } from "../helpers/podman_image.ts";

// The local-provider flow of launcher_local.test.ts with a `docker:` section, for real: podman
// on three test hosts (a "laptop" that runs the launcher, a head and a worker, each with its own
// IP, /tmp and home, so each has its own podman storage), an image built here from this machine's
// binaries (no registry), sshd on the cluster hosts. `stingray up` starts the container on the
// head and Stingray in it; the head's autoscaler, inside that container, starts the worker's
// container over SSH; exec runs in the head's container; `up` again changes nothing; `down`
// removes the containers on every host and leaves no Stingray process anywhere.
const ROOT = path.resolve(import.meta.dirname, "../..");
const NODE_DIR = path.dirname(fs.realpathSync(process.execPath));
const skip = TestHosts.supported() ?? sshUnsupported(["rsync"]) ?? podmanUnsupported();
const CONTAINER = "stingray_container";
let hosts: TestHosts | undefined;
let laptop: Host, head: Host, w1: Host;
const tag = randomBytes(4).toString("hex");
const shared = `/run/stingray-test-${tag}`;
// The containers' cgroups (this machine's, shared by all hosts) go under one parent, removed at the end.
const CGROUP_PARENT = `stingray-test-${tag}`;
const cfgFile = path.join(shared, "cluster.yaml");
const env = (): NodeJS.ProcessEnv => ({ ...process.env, HOME: "/root", PATH: `${shared}/bin:${process.env.PATH}` });

function config(): string {
  const mounts = [ROOT, ...(NODE_DIR.startsWith(`${ROOT}/`) ? [] : [NODE_DIR])].map((d) => `    - -v ${d}:${d}`).join("\n");
  return `
cluster_name: docker-test
min_workers: 1
max_workers: 1
idle_timeout_minutes: 5
provider:
  type: local
  head_ip: ${head.ip}
  worker_ips: [${w1.ip}]
auth:
  ssh_user: root
  ssh_private_key: ~/.ssh/id_ed25519
docker:
  image: ${BASE_IMAGE}
  container_name: ${CONTAINER}
  pull_before_run: false
  # The host's own podman: storage and state under the host's private /tmp.
  engine: ${podmanEngine()}
  # Stingray and Node are not in the image: the repository (holding node_modules/node) is mounted.
  run_options:
${mounts}
    - --shm-size=256m
    - --cgroup-parent=/${CGROUP_PARENT}
  head_run_options: ["-e STINGRAY_TEST_ROLE=head"]
  worker_run_options: ["-e STINGRAY_TEST_ROLE=worker"]
file_mounts:
  ~/app: /root/app-src
initialization_commands:
  - touch /tmp/initialized-on-host
setup_commands:
  - ${INSTALL_STINGRAY}
head_start_ray_commands:
  - stingray stop
  - STINGRAY_AUTOSCALER_UPDATE_INTERVAL_S=1 stingray start --head --port=6379 --num-cpus=1 --autoscaling-config=~/stingray_bootstrap_config.yaml
worker_start_ray_commands:
  - stingray stop
  - stingray start --address=$RAY_HEAD_IP:6379 --num-cpus=1
`;
}

function isStingray(pid: number): boolean {
  try { return /src\/(gcs|raylet|worker|autoscaler|dashboard)\/main\.ts/.test(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")); } catch { return false; }
}
function gcsPid(h: Host): number | undefined {
  return hosts!.pids(h).find((p) => { try { return /src\/gcs\/main\.ts/.test(fs.readFileSync(`/proc/${p}/cmdline`, "utf8")); } catch { return false; } });
}

async function cli(args: string[], timeoutMs = 300_000): Promise<{ stdout: string; stderr: string }> {
  return hosts!.exec(laptop, ["stingray", ...args], { env: env(), timeoutMs, cwd: ROOT });
}

async function aliveIps(): Promise<string[]> {
  const r = await cli(["exec", cfgFile, "stingray list nodes --format=json"], 60_000).catch(() => ({ stdout: "[]" }));
  try {
    return (JSON.parse(r.stdout) as Array<{ node_ip: string; state: string }>).filter((n) => n.state === "ALIVE").map((n) => n.node_ip).sort();
  } catch { return []; }
}

/** The containers on a host, as `name image up` lines (or the engine's other status). */
async function containers(h: Host): Promise<string[]> {
  return (await podman(hosts!, h, "ps -a --format '{{.Names}} {{.Image}} {{.Status}}'")).split("\n").filter(Boolean).map((l) => l.replace(/ Up .*$/, " up"));
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) {
      const log = await podman(hosts!, head, `exec ${CONTAINER} tail -n 40 /tmp/stingray/session_latest/logs/monitor.log`).catch(() => "(no monitor log)");
      throw new Error(`timed out waiting for ${what}; monitor.log in the head's container:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

let imageMs = 0;
before(async () => {
  if (skip) return;
  fs.mkdirSync(path.join(shared, "bin"), { recursive: true });
  fs.symlinkSync(path.join(ROOT, "bin/stingray.js"), path.join(shared, "bin/stingray"));
  fs.symlinkSync(process.execPath, path.join(shared, "bin/node"));
  const image = buildBaseImage(shared);
  imageMs = image.ms;
  hosts = await TestHosts.create(3, [ROOT], { privateHome: true });
  [laptop, head, w1] = hosts.hosts as [Host, Host, Host];
  fs.writeFileSync(cfgFile, config());
  const pub = await makeKey(hosts, laptop, "/root/.ssh/id_ed25519");
  for (const h of [head, w1]) {
    await loadImage(hosts, h, image.tar);
    await startSshd(hosts, h, [pub], { prelude: cgroupMountScript() });
  }
  await waitForSsh(hosts, laptop, [head, w1], "/root/.ssh/id_ed25519");
  await hosts.exec(laptop, ["sh", "-c", "mkdir -p /root/app-src && echo app-v1 > /root/app-src/app.txt"]);
});
after(async () => {
  if (hosts) for (const h of [head, w1]) if (h) await removeAllContainers(hosts, h);
  await hosts?.destroy();
  removeCgroupParent(CGROUP_PARENT);
  fs.rmSync(shared, { recursive: true, force: true });
});

test("local provider with docker: (podman): up starts containers on head and workers, exec in the container, idempotent up, down", { skip, timeout: 900_000 }, async (t) => {
  t.diagnostic(`base image built in ${imageMs} ms`);
  assert.ok(!fs.existsSync(IMAGE_MARKER), `${IMAGE_MARKER} must exist only in the image`);
  for (const h of [head, w1]) assert.deepEqual(await containers(h), [], "no container before up");

  const up1 = await cli(["up", cfgFile, "-y"]);
  assert.match(up1.stdout, new RegExp(`Starting container ${CONTAINER}`));
  assert.match(up1.stdout, /\[6\/6\] Starting Stingray/);
  assert.match(up1.stdout, new RegExp(`Stingray is up on the head node ${head.ip.replace(/\./g, "\\.")}`));
  // Initialization commands ran on the host; the container runs the configured image.
  await hosts!.exec(head, ["test", "-e", "/tmp/initialized-on-host"]);
  assert.deepEqual(await containers(head), [`${CONTAINER} ${BASE_IMAGE} up`]);

  // exec runs in the head's container: the image's marker, the head's run options, the host's network.
  const inside = await cli(["exec", cfgFile, `cat ${IMAGE_MARKER}; echo role=$STINGRAY_TEST_ROLE; cat ~/app/app.txt`]);
  assert.equal(inside.stdout, "stingray-test-base\nrole=head\napp-v1\n");
  await assert.rejects(hosts!.exec(head, ["test", "-e", "/root/app/app.txt"]), "file mounts went into the container, not onto the host");

  // The head's autoscaler, inside the head's container, starts the worker's container over SSH.
  await until("the head and the worker", async () => (await aliveIps()).length === 2);
  assert.deepEqual(await aliveIps(), [head.ip, w1.ip].sort());
  assert.deepEqual(await containers(w1), [`${CONTAINER} ${BASE_IMAGE} up`]);
  await hosts!.exec(w1, ["test", "-e", "/tmp/initialized-on-host"]);
  assert.equal(await podman(hosts!, w1, `exec ${CONTAINER} sh -c 'echo $STINGRAY_TEST_ROLE; cat /root/app/app.txt'`), "worker\napp-v1\n");
  // The launcher sees the worker (the head's state file is in the head's container).
  assert.equal((await cli(["get-worker-ips", cfgFile])).stdout.trim(), w1.ip);
  const all = await cli(["exec", cfgFile, `echo $(cat ${IMAGE_MARKER}) $STINGRAY_TEST_ROLE`, "--all-nodes"]);
  assert.deepEqual(all.stdout.trim().split("\n").sort(), [`(${head.ip}) stingray-test-base head`, `(${w1.ip}) stingray-test-base worker`].sort());

  // Same config again: nothing changes (the container and the GCS process are the same).
  const pid = gcsPid(head);
  assert.ok(pid, "the GCS runs on the head (in its container, on the host's network)");
  const id = await podman(hosts!, head, `inspect -f '{{.Id}}' ${CONTAINER}`);
  const up2 = await cli(["up", cfgFile, "-y"]);
  assert.match(up2.stdout, /is up to date: no changes/);
  assert.equal(gcsPid(head), pid);
  assert.equal(await podman(hosts!, head, `inspect -f '{{.Id}}' ${CONTAINER}`), id);

  const down = await cli(["down", cfgFile, "-y"]);
  assert.match(down.stdout, /is down/);
  for (const h of [head, w1]) assert.deepEqual(await containers(h), [], `no container left on ${h.ip}`);
  for (const h of [laptop, head, w1]) {
    await until(`no Stingray process on ${h.ip}`, async () => hosts!.pids(h).filter(isStingray).length === 0, 30_000);
  }
});
