/**
 * The launcher's container wrapper (src/launcher/docker.ts), command by command: the image and run
 * options a head or worker uses, the engine with global options, the exact `run` that starts the
 * container, `exec` for commands, file mounts staged on the host then `cp`'d in, and the updater's
 * order (initialization on the host, container, mounts, setup and start in the container). The
 * host is a recording fake CommandRunner: that is the boundary these commands cross.
 * test/integration/launcher_docker.test.ts runs the same with podman on test hosts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { containerRunCommand, containerSpec, dockerRunner, engineCommand, hostStagingDir, type ContainerSpec } from "../../src/launcher/docker.ts";
import { updateNode } from "../../src/launcher/updater.ts";
import type { CommandRunner, NodeProvider, RunOptions, RunResult } from "../../src/launcher/provider.ts";
import type { DockerConfig } from "../../src/launcher/types.ts";

type Call = { op: "run"; cmd: string; opts: RunOptions } | { op: "rsyncUp" | "rsyncDown"; source: string; target: string };

/** A host that records what it is asked and answers from `reply` (first matching pattern wins). */
function fakeHost(reply: Array<[RegExp, Partial<RunResult>]> = []): CommandRunner & { calls: Call[]; cmds(): string[] } {
  const calls: Call[] = [];
  return {
    description: "root@10.0.0.5",
    calls,
    cmds: () => calls.map((c) => (c.op === "run" ? c.cmd : `${c.op} ${c.source} ${c.target}`)),
    async run(cmd, opts = {}) {
      calls.push({ op: "run", cmd, opts });
      const r = reply.find(([re]) => re.test(cmd))?.[1] ?? {};
      return { code: 0, stdout: "", stderr: "", ...r };
    },
    async rsyncUp(source, target) { calls.push({ op: "rsyncUp", source, target }); },
    async rsyncDown(source, target) { calls.push({ op: "rsyncDown", source, target }); },
  };
}

const docker = (d: Partial<DockerConfig> = {}): DockerConfig => ({
  image: "node:24", container_name: "stingray_container", pull_before_run: true, run_options: [],
  head_run_options: [], worker_run_options: [], engine: "docker", ...d,
});
const PODMAN = "podman --root /tmp/containers/storage --runroot /tmp/containers/run";
const spec = (s: Partial<ContainerSpec> = {}): ContainerSpec =>
  ({ engine: PODMAN, name: "stingray_container", image: "localhost/base:latest", runOptions: [], pull: false, ...s });

test("containerSpec: head_/worker_ image and run options win for their kind; the engine defaults to docker", () => {
  const d = docker({ head_image: "head:1", run_options: ["--shm-size=1g"], head_run_options: ["-e ROLE=head"], worker_run_options: ["-e ROLE=worker"], engine: "" });
  assert.deepEqual(containerSpec(d, "head"), { engine: "docker", name: "stingray_container", image: "head:1", runOptions: ["--shm-size=1g", "-e ROLE=head"], pull: true });
  assert.deepEqual(containerSpec(d, "worker"), { engine: "docker", name: "stingray_container", image: "node:24", runOptions: ["--shm-size=1g", "-e ROLE=worker"], pull: true });
  assert.equal(containerSpec(docker({ worker_image: "w:2", engine: "podman" }), "worker").image, "w:2");
  assert.equal(containerSpec(docker({ worker_image: "w:2" }), "head").image, "node:24");
  assert.equal(containerSpec(docker({ engine: PODMAN }), "head").engine, PODMAN);
  assert.throws(() => containerSpec(docker({ image: undefined, head_image: "h" }), "worker"), /no image for the worker node: set docker\.image \(or docker\.worker_image\)/);
});

test("engineCommand: global options are split on spaces, each word quoted", () => {
  assert.equal(engineCommand("docker"), "docker");
  assert.equal(engineCommand(`  ${PODMAN}  `), PODMAN);
  assert.equal(engineCommand("env CONTAINERS_CONF=/tmp/c/containers.conf podman --root '/a b'"), "env CONTAINERS_CONF=/tmp/c/containers.conf podman --root ''\\''/a' 'b'\\'''");
});

test("containerRunCommand: Ray's run line; run options are shell text joined as Ray does", () => {
  assert.equal(containerRunCommand(spec()),
    `${PODMAN} run --rm --name stingray_container -d -it --net=host -e LC_ALL=C.UTF-8 -e LANG=C.UTF-8 localhost/base:latest bash`);
  const s = spec({ engine: "docker", image: "rayproject/ray:latest-gpu", runOptions: ["--ulimit nofile=65536:65536", " -v /data:/data ", "", "--shm-size=1g"] });
  assert.equal(containerRunCommand(s, { "/root/x": "/tmp/stage/x" }),
    "docker run --rm --name stingray_container -d -it --net=host -e LC_ALL=C.UTF-8 -e LANG=C.UTF-8 -v /tmp/stage/x:/root/x " +
    "--ulimit nofile=65536:65536 -v /data:/data --shm-size=1g rayproject/ray:latest-gpu bash");
  assert.match(containerRunCommand(spec({ name: "my container" })), / --name 'my container' /);
});

test("dockerRunner.run: commands go through `exec` into the container; variables by name only; runOnHost stays on the host", async () => {
  const host = fakeHost();
  const r = dockerRunner(host, spec(), "c1");
  assert.equal(r.description, "stingray_container on root@10.0.0.5");
  await r.run("stingray start --address=$RAY_HEAD_IP:6379", { env: { RAY_HEAD_IP: "10.0.0.4", STINGRAY_AUTH_TOKEN: "secret" }, captureOutput: true });
  await r.run("exec bash --login", { interactive: true });
  await r.run("podman --version", { runOnHost: true });
  assert.deepEqual(host.cmds(), [
    `${PODMAN} exec -i -e RAY_HEAD_IP -e STINGRAY_AUTH_TOKEN stingray_container bash --login -c 'stingray start --address=$RAY_HEAD_IP:6379'`,
    `${PODMAN} exec -it  stingray_container bash --login -c 'exec bash --login'`,
    "podman --version",
  ]);
  const first = host.calls[0] as Extract<Call, { op: "run" }>;
  assert.deepEqual(first.opts.env, { RAY_HEAD_IP: "10.0.0.4", STINGRAY_AUTH_TOKEN: "secret" }, "the values reach the host runner's environment");
  assert.doesNotMatch(host.cmds().join("\n"), /secret/);
});

test("ensureContainer: starts a container unless one runs the image; pulls only when asked", async () => {
  const inspect = `${PODMAN} inspect -f '{{.State.Running}} {{.Config.Image}}' stingray_container 2>/dev/null || true`;
  const rm = `${PODMAN} rm -f stingray_container >/dev/null 2>&1 || true`;
  const fresh = fakeHost();
  const logs: string[] = [];
  await dockerRunner(fresh, spec(), "c1").ensureContainer((l) => logs.push(l));
  assert.deepEqual(fresh.cmds(), [inspect, rm, containerRunCommand(spec())]);
  assert.deepEqual(logs, ["container stingray_container started from localhost/base:latest"]);

  for (const image of ["localhost/base:latest", "docker.io/localhost/base:latest"]) {
    const running = fakeHost([[/ inspect /, { stdout: `true ${image}\n` }]]);
    await dockerRunner(running, spec(), "c1").ensureContainer(() => undefined);
    assert.deepEqual(running.cmds(), [inspect], `${image}: already running, nothing to do`);
  }
  const other = fakeHost([[/ inspect /, { stdout: "true localhost/old:1\n" }]]);
  await dockerRunner(other, spec(), "c1").ensureContainer((l) => logs.push(l));
  assert.deepEqual(other.cmds(), [inspect, `${PODMAN} rm -f stingray_container`, rm, containerRunCommand(spec())]);
  assert.match(logs.at(-2)!, /runs image localhost\/old:1, the config asks for localhost\/base:latest: restarting it/);

  const pulls = fakeHost();
  await dockerRunner(pulls, spec({ engine: "docker", image: "node:24", pull: true }), "c1").ensureContainer(() => undefined);
  assert.deepEqual(pulls.cmds().slice(1, 2), ["docker pull node:24"]);
  const noPull = fakeHost([[/ pull /, { code: 125 }]]);
  await assert.rejects(dockerRunner(noPull, spec({ pull: true }), "c1").ensureContainer(() => undefined),
    /podman --root \/tmp\/containers\/storage --runroot \/tmp\/containers\/run pull localhost\/base:latest failed on root@10\.0\.0\.5 \(exit 125\); .*pull_before_run: false/);
  const fails = fakeHost([[/ run --rm /, { code: 126, stderr: "Error: runc: error setting rlimits\n" }]]);
  await assert.rejects(dockerRunner(fails, spec(), "c1").ensureContainer(() => undefined),
    /starting container stingray_container on root@10\.0\.0\.5 failed \(exit 126\): Error: runc: error setting rlimits/);

  const stop = fakeHost();
  await dockerRunner(stop, spec(), "c1").stopContainer();
  assert.deepEqual(stop.cmds(), [rm]);
});

test("rsyncUp/rsyncDown: staged on the host under the cluster's directory, then `cp` into or out of the container", async () => {
  assert.equal(hostStagingDir("c1"), "/tmp/stingray_tmp_mount/c1");
  const host = fakeHost();
  const r = dockerRunner(host, spec(), "c1");
  await r.rsyncUp("/root/app-src/", "~/app/");
  await r.rsyncUp("/tmp/upload/0", "~/stingray_bootstrap_key.pem");
  await r.rsyncUp("/etc/motd", "/opt/motd");
  await r.rsyncDown("~/data/", "/root/back/");
  await r.rsyncUp("/x", "/y", { runOnHost: true });
  const home = `$(${PODMAN} exec stingray_container printenv HOME)`;
  const cp = (stage: string, d: string): string =>
    `D=${d} && ${PODMAN} exec stingray_container mkdir -p "$(dirname "$D")" && ` +
    `if [ -d ${stage} ]; then ${PODMAN} exec stingray_container mkdir -p "$D" && ${PODMAN} cp ${stage}/. stingray_container:"$D"; ` +
    `else ${PODMAN} cp ${stage} stingray_container:"$D"; fi`;
  assert.deepEqual(host.cmds(), [
    "rsyncUp /root/app-src/ /tmp/stingray_tmp_mount/c1/home/app/",
    cp("/tmp/stingray_tmp_mount/c1/home/app", `"${home}/app"`),
    "rsyncUp /tmp/upload/0 /tmp/stingray_tmp_mount/c1/home/stingray_bootstrap_key.pem",
    cp("/tmp/stingray_tmp_mount/c1/home/stingray_bootstrap_key.pem", `"${home}/stingray_bootstrap_key.pem"`),
    "rsyncUp /etc/motd /tmp/stingray_tmp_mount/c1/opt/motd",
    cp("/tmp/stingray_tmp_mount/c1/opt/motd", "/opt/motd"),
    `rm -rf /tmp/stingray_tmp_mount/c1/down/data && mkdir -p /tmp/stingray_tmp_mount/c1/down && ${PODMAN} cp stingray_container:"${home}/data" /tmp/stingray_tmp_mount/c1/down/data`,
    "rsyncDown /tmp/stingray_tmp_mount/c1/down/data/ /root/back/",
    "rsyncUp /x /y",
  ]);
  const failing = dockerRunner(fakeHost([[/ cp /, { code: 125, stderr: "Error: no such container\n" }]]), spec(), "c1");
  await assert.rejects(failing.rsyncUp("/a", "/b"), /copying \/a into container stingray_container at \/b failed: Error: no such container/);
});

test("updateNode with a container: initialization on the host, then the container, file mounts, setup and start inside it", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "launcher-docker-"));
  try {
    fs.mkdirSync(path.join(dir, "app"));
    const host = fakeHost();
    const tags: Array<Record<string, string>> = [];
    const provider = { setNodeTags: async (_id: string, t: Record<string, string>) => { tags.push(t); } } as unknown as NodeProvider;
    const s = spec({ runOptions: ["-v /work:/work"] });
    await updateNode({
      provider, node: { id: "10.0.0.5", tags: {}, internalIp: "10.0.0.5", state: "running" }, runner: host, container: s,
      clusterName: "c1", kind: "worker", fileMounts: { "~/app": path.join(dir, "app") }, initializationCommands: ["podman --version"],
      setupCommands: ["ln -s /work/bin/stingray ~/bin/stingray"], startCommands: ["stingray start --address=$RAY_HEAD_IP:6379"],
      runtimeHash: "r1", fileMountsContentsHash: "f1", env: { RAY_HEAD_IP: "10.0.0.4" }, log: () => undefined,
    });
    const e = `${PODMAN} exec -i -e RAY_HEAD_IP stingray_container bash --login -c`;
    const cmds = host.cmds();
    assert.deepEqual(cmds.filter((c) => !/ cp |printenv HOME/.test(c)), [
      "uptime",
      "podman --version",
      `${PODMAN} inspect -f '{{.State.Running}} {{.Config.Image}}' stingray_container 2>/dev/null || true`,
      `${PODMAN} rm -f stingray_container >/dev/null 2>&1 || true`,
      containerRunCommand(s),
      `rsyncUp ${path.join(dir, "app")}/ /tmp/stingray_tmp_mount/c1/home/app/`,
      `${e} 'ln -s /work/bin/stingray ~/bin/stingray'`,
      `${e} 'stingray start --address=$RAY_HEAD_IP:6379'`,
    ]);
    assert.equal(cmds.filter((c) => / cp \/tmp\/stingray_tmp_mount\/c1\/home\/app\/\. stingray_container:/.test(c)).length, 1, "the mount is copied into the container");
    assert.deepEqual(tags.at(-1), { "stingray-node-status": "up-to-date", "stingray-runtime-config": "r1", "stingray-file-mounts-contents": "f1" });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
