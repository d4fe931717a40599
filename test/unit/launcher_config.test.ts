/**
 * The cluster YAML loader (src/launcher/config.ts) and the node hashes (src/launcher/hashes.ts):
 * Ray's defaults, legacy keys and prepare_local; the Stingray aliases; CLI overrides; one asserted
 * message per class of error; the head's copy and the dump round trip; which hash changes when;
 * and every examples/cluster/**\/*.yaml loads.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  parseClusterConfig, loadClusterConfig, clusterConfigForHead, dumpClusterConfig,
  DEFAULT_HEAD_START_COMMANDS, DEFAULT_WORKER_START_COMMANDS, type ConfigOverrides,
} from "../../src/launcher/config.ts";
import { launchHash, runtimeHashes } from "../../src/launcher/hashes.ts";
import { PROVIDER_TYPES } from "../../src/launcher/providers/index.ts";
import { ConfigError } from "../../src/common/errors.ts";
import type { ClusterConfig } from "../../src/launcher/types.ts";
import type { ProviderModule } from "../../src/launcher/provider.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-launcher-config-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const repo = path.resolve(import.meta.dirname, "../..");

function parse(text: string, overrides: ConfigOverrides = {}): { config: ClusterConfig; warnings: string[] } {
  const warnings: string[] = [];
  const config = parseClusterConfig(text, "cluster.yaml", overrides, { warn: (m) => warnings.push(m) });
  return { config, warnings };
}

/** The ConfigError's message lines. */
function problems(text: string, overrides: ConfigOverrides = {}): string[] {
  try {
    parse(text, overrides);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    const lines = e.message.split("\n");
    return lines.length > 1 ? lines.slice(1) : lines;
  }
  assert.fail("expected a ConfigError");
}

const LOCAL = `provider:
  type: local
  head_ip: 192.0.2.1
  worker_ips: [192.0.2.2, 192.0.2.3, 192.0.2.4]
auth:
  ssh_user: ubuntu
`;

const AWS = `cluster_name: c1
max_workers: 5
provider: {type: aws, region: us-west-2}
auth: {ssh_user: ubuntu}
available_node_types:
  head:
    node_config: {InstanceType: m5.large}
    resources: {CPU: 2}
  worker:
    node_config: {InstanceType: m5.large}
    resources: {CPU: 2, GPU: 0.5}
    labels: {zone: a}
    min_workers: 1
head_node_type: head
`;

test("defaults: Ray's top-level values, empty lists, no docker, default node types and start commands", () => {
  const { config, warnings } = parse("provider:\n  type: kubernetes\n");
  assert.deepEqual(warnings, []);
  assert.equal(config.cluster_name, "default");
  assert.equal(config.max_workers, 2);
  assert.equal(config.upscaling_speed, 1);
  assert.equal(config.idle_timeout_minutes, 5);
  assert.equal(config.docker, undefined);
  assert.deepEqual(config.auth, { ssh_user: "" }); // kubernetes needs no SSH user
  assert.deepEqual(config.file_mounts, {});
  for (const k of ["cluster_synced_files", "rsync_exclude", "rsync_filter", "initialization_commands", "setup_commands",
    "head_setup_commands", "worker_setup_commands"] as const) assert.deepEqual(config[k], [], k);
  assert.equal(config.file_mounts_sync_continuously, false);
  assert.deepEqual(config.head_start_ray_commands, DEFAULT_HEAD_START_COMMANDS);
  assert.deepEqual(config.worker_start_ray_commands, DEFAULT_WORKER_START_COMMANDS);
  assert.deepEqual(config.head_start_ray_commands, ["stingray stop",
    "ulimit -n 65536; stingray start --head --port=6379 --autoscaling-config=~/stingray_bootstrap_config.yaml"]);
  assert.deepEqual(config.worker_start_ray_commands, ["stingray stop", "ulimit -n 65536; stingray start --address=$STINGRAY_HEAD_IP:6379"]);
  // No node types at all: Ray's default head and worker types (the provider fills node_config).
  assert.equal(config.head_node_type, "ray.head.default");
  assert.deepEqual(config.available_node_types, {
    "ray.head.default": { node_config: {}, resources: {}, labels: {}, min_workers: 0, max_workers: 0 },
    "ray.worker.default": { node_config: {}, resources: {}, labels: {}, min_workers: 0, max_workers: 2 },
  });
  assert.equal(config._source, "cluster.yaml");
});

test("node type defaults: resources/labels empty, min 0, max the global max_workers (0 for the head type)", () => {
  const { config } = parse(AWS.replace("    labels: {zone: a}\n    min_workers: 1\n", "  other: {}\n"));
  assert.deepEqual(config.available_node_types.head, { node_config: { InstanceType: "m5.large" }, resources: { CPU: 2 }, labels: {}, min_workers: 0, max_workers: 0 });
  assert.deepEqual(config.available_node_types.worker, { node_config: { InstanceType: "m5.large" }, resources: { CPU: 2, GPU: 0.5 }, labels: {}, min_workers: 0, max_workers: 5 });
  assert.deepEqual(config.available_node_types.other, { node_config: {}, resources: {}, labels: {}, min_workers: 0, max_workers: 5 });
});

test("docker: filled defaults, use_podman, engine, and a section without an image means no docker", () => {
  const base = "provider: {type: kubernetes}\n";
  const d = parse(`${base}docker: {image: "node:24"}\n`).config.docker;
  assert.deepEqual(d, { image: "node:24", container_name: "stingray_container", pull_before_run: true, run_options: [],
    head_run_options: [], worker_run_options: [], engine: "docker" });
  assert.equal(parse(`${base}docker: {image: x, use_podman: true}\n`).config.docker?.engine, "podman");
  assert.equal(parse(`${base}docker: {image: x, engine: podman, pull_before_run: false}\n`).config.docker?.pull_before_run, false);
  const none = parse(`${base}docker: {container_name: x}\n`);
  assert.equal(none.config.docker, undefined);
  assert.match(none.warnings[0]!, /^cluster\.yaml:2: docker: has no image/);
  assert.equal(parse(`${base}docker: {}\n`).config.docker, undefined);
  assert.deepEqual(problems(`${base}docker:\n  head_image: x\n`),
    ["cluster.yaml:2: docker: head_image is given without docker.image; set docker.image (or both head_image and worker_image)"]);
  assert.deepEqual(problems(`${base}docker: {image: x, use_podman: true, engine: docker}\n`),
    ['cluster.yaml:2: docker.engine: is "docker" but use_podman is true; keep one of them']);
});

test("Ray's legacy head_node/worker_nodes become ray.head.default/ray.worker.default", () => {
  const { config } = parse(`provider: {type: aws}
auth: {ssh_user: ec2-user}
min_workers: 1
max_workers: 3
head_node: {InstanceType: m5.large, resources: {CPU: 2}}
worker_nodes: {InstanceType: m5.xlarge}
`);
  assert.equal(config.head_node_type, "ray.head.default");
  assert.deepEqual(config.available_node_types, {
    "ray.head.default": { node_config: { InstanceType: "m5.large" }, resources: { CPU: 2 }, labels: {}, min_workers: 0, max_workers: 0 },
    "ray.worker.default": { node_config: { InstanceType: "m5.xlarge" }, resources: {}, labels: {}, min_workers: 1, max_workers: 3 },
  });
  // Ray's deprecated keys are dropped with a warning, not rejected.
  const w = parse("provider: {type: kubernetes}\ntarget_utilization_fraction: 0.8\n").warnings;
  assert.deepEqual(w, ["cluster.yaml:2: target_utilization_fraction: is deprecated in Ray and ignored by Stingray; remove it"]);
});

test("setup commands merged as Ray's merge_setup_commands; Stingray start-command aliases; both given is an error", () => {
  const { config } = parse(`provider: {type: kubernetes}
setup_commands: [common]
head_setup_commands: [head-only]
worker_setup_commands: [worker-only]
head_start_stingray_commands: [start-head]
worker_start_ray_commands: [start-worker]
`);
  assert.deepEqual(config.setup_commands, ["common"]);
  assert.deepEqual(config.head_setup_commands, ["common", "head-only"]);
  assert.deepEqual(config.worker_setup_commands, ["common", "worker-only"]);
  assert.deepEqual(config.head_start_ray_commands, ["start-head"]);
  assert.deepEqual(config.worker_start_ray_commands, ["start-worker"]);
  assert.deepEqual(problems("provider: {type: kubernetes}\nhead_start_ray_commands: [a]\nhead_start_stingray_commands: [b]\n"),
    ["cluster.yaml:3: head_start_stingray_commands: is an alias of head_start_ray_commands, which is also given; keep one of them"]);
});

test("local provider: Ray's prepare_local (one node type, min/max default to len(worker_ips), clamped with warnings)", () => {
  const { config, warnings } = parse(LOCAL);
  assert.deepEqual(warnings, []);
  assert.equal(config.head_node_type, "local.cluster.node");
  assert.deepEqual(config.available_node_types, { "local.cluster.node": { node_config: {}, resources: {}, labels: {}, min_workers: 3, max_workers: 3 } });
  assert.equal(config.max_workers, 3);

  const some = parse(`${LOCAL}min_workers: 1\nmax_workers: 2\n`).config;
  assert.deepEqual([some.available_node_types["local.cluster.node"]!.min_workers, some.available_node_types["local.cluster.node"]!.max_workers, some.max_workers], [1, 2, 2]);

  const over = parse(`${LOCAL}min_workers: 5\nmax_workers: 9\n`);
  assert.deepEqual([over.config.available_node_types["local.cluster.node"]!.min_workers, over.config.max_workers], [3, 3]);
  assert.deepEqual(over.warnings, [
    "cluster.yaml:7: min_workers: 5 is more than the 3 worker_ips; using min_workers: 3",
    "cluster.yaml:8: max_workers: 9 is more than the 3 worker_ips; using max_workers: 3",
  ]);
  // max below len(worker_ips) with min defaulted: min follows max (Ray warns that fewer join).
  const fewer = parse(`${LOCAL}max_workers: 1\n`);
  assert.equal(fewer.config.available_node_types["local.cluster.node"]!.min_workers, 1);
  assert.match(fewer.warnings[0]!, /at most 1 of them join the cluster/);

  // Stingray extension: node types on a local cluster are accepted and clamped to len(worker_ips).
  const typed = parse(`${LOCAL}available_node_types:
  head: {resources: {CPU: 4}}
  big: {resources: {CPU: 16}, min_workers: 1, max_workers: 10}
head_node_type: head
`);
  assert.equal(typed.config.available_node_types.big!.max_workers, 3);
  assert.equal(typed.config.max_workers, 3);
  assert.deepEqual(typed.warnings, ["cluster.yaml:9: available_node_types.big.max_workers: 10 is more than the 3 worker_ips; using max_workers: 3"]);
});

test("CLI overrides: --cluster-name, --max-workers (global), --min-workers (every worker type, clamped)", () => {
  const { config, warnings } = parse(AWS, { clusterName: "other", maxWorkers: 7, minWorkers: 3 });
  assert.equal(config.cluster_name, "other");
  assert.equal(config.max_workers, 7);
  assert.equal(config.available_node_types.worker!.max_workers, 7); // defaulted from the global value
  assert.equal(config.available_node_types.worker!.min_workers, 3);
  assert.equal(config.available_node_types.head!.min_workers, 0); // the head type (max_workers 0) is no worker type
  assert.deepEqual(warnings, []);
  const clamped = parse(AWS.replace("    min_workers: 1\n", "    min_workers: 1\n    max_workers: 2\n"), { minWorkers: 4 });
  assert.equal(clamped.config.available_node_types.worker!.min_workers, 2);
  assert.deepEqual(clamped.warnings, ["cluster.yaml:14: available_node_types.worker.max_workers: --min-workers 4 is more than max_workers; using min_workers: 2"]);
  // Local clusters: the one node type is the workers' type too.
  const local = parse(LOCAL, { minWorkers: 1 }).config;
  assert.equal(local.available_node_types["local.cluster.node"]!.min_workers, 1);
  assert.deepEqual(problems(AWS, { clusterName: "has space" }),
    ['cluster.yaml: --cluster-name "has space" must start with a letter or digit and use only letters, digits, "_", "." and "-"']);
});

test("errors: file, line and key path for a wrong type; unknown keys with a suggestion; all problems at once", () => {
  const bad = AWS.replace("resources: {CPU: 2, GPU: 0.5}", "resources: {CPU: two}") + "setup_command: [x]\nauth_: {}\n";
  assert.deepEqual(problems(bad), [
    'cluster.yaml:11: available_node_types.worker.resources.CPU: must be a number (got "two"); fix the value or remove the key',
    'cluster.yaml:15: setup_command: unknown key; did you mean "setup_commands"?',
    'cluster.yaml:16: auth_: unknown key; did you mean "auth"?',
  ]);
  assert.deepEqual(problems(AWS.replace("    min_workers: 1", "    min_worker: 1")),
    ['cluster.yaml:13: available_node_types.worker.min_worker: unknown key; did you mean "min_workers"?']);
  assert.deepEqual(problems(AWS.replace("m5.large}\n    resources: {CPU: 2}\n", "m5.large}\n    resources: {CPU: -1}\n")),
    ["cluster.yaml:8: available_node_types.head.resources.CPU: must be >= 0 (got -1); fix the value or remove the key"]);
  assert.deepEqual(problems("provider: {type: azure}\n"),
    ['cluster.yaml:1: provider.type: must be one of local, fake_multinode, aws, gcp, kubernetes, external (got "azure")']);
  assert.deepEqual(problems("cluster_name: x\n"),
    ['cluster.yaml:1: missing required key "provider"; add a provider section, e.g. `provider: {type: local, head_ip: ..., worker_ips: [...]}`']);
  // YAML 1.1 (PyYAML's) reads `no` as false: say so.
  assert.deepEqual(problems("provider: {type: kubernetes}\navailable_node_types:\n  h:\n    labels: {spot: no}\nhead_node_type: h\n"),
    ['cluster.yaml:4: available_node_types.h.labels.spot: must be a string (got no, which YAML reads as false; quote it: "no"); fix the value or remove the key']);
  assert.match(problems('provider: {type: kubernetes}\navailable_node_types: {"ray.head.default": {max_workers: x}}\nhead_node_type: ray.head.default\n')[0]!,
    /^cluster\.yaml:2: available_node_types\["ray\.head\.default"\]\.max_workers: must be a whole number/);
});

test("errors: YAML syntax with line and column; empty, non-mapping and missing files", () => {
  assert.deepEqual(problems("provider:\n  type: local\n  type: aws\n"), ["cluster.yaml:3:3: YAML syntax error: Map keys must be unique"]);
  assert.match(problems("provider: {type: aws\nauth: {}\n")[0]!, /^cluster\.yaml:\d+:\d+: YAML syntax error: /);
  assert.match(problems("provider:\n\t- x\n")[0]!, /^cluster\.yaml:2:\d+: YAML syntax error: /);
  assert.deepEqual(problems("# only a comment\n"), ["cluster.yaml: the cluster config is empty; it needs at least a provider section (examples in examples/cluster/)"]);
  assert.deepEqual(problems("- a\n- b\n"), ["cluster.yaml:1: the cluster config must be a mapping of keys (cluster_name:, provider:, ...), got a list"]);
  const missing = path.join(tmp, "nope.yaml");
  assert.throws(() => loadClusterConfig(missing), (e: unknown) => e instanceof ConfigError
    && e.message === `cluster config ${missing} does not exist; give the path of a cluster YAML file (examples in examples/cluster/)`);
});

test("errors: head_node_type, min > max, local hosts, SSH user, external module, fake_multinode sizes", () => {
  assert.deepEqual(problems(AWS.replace("head_node_type: head\n", "")),
    ["cluster.yaml:5: head_node_type: is missing; set it to the node type that runs the head (one of head, worker)"]);
  assert.deepEqual(problems(AWS.replace("head_node_type: head\n", "head_node_type: haed\n")),
    ['cluster.yaml:14: head_node_type: "haed" is not a key of available_node_types (head, worker); did you mean "head"?']);
  assert.deepEqual(problems(AWS.replace("    min_workers: 1\n", "    min_workers: 3\n    max_workers: 2\n")),
    ["cluster.yaml:13: available_node_types.worker.min_workers: 3 is more than max_workers (2); lower min_workers or raise max_workers"]);
  assert.deepEqual(problems("provider:\n  type: local\n  head_ip: 192.0.2.1\nauth: {ssh_user: me}\n"),
    ["cluster.yaml:1: provider: the local provider needs the machines' addresses: supply a head_ip and the list of worker_ips (worker_ips: [] for a head-only cluster)"]);
  assert.deepEqual(problems(LOCAL.replace("auth:\n  ssh_user: ubuntu\n", "")),
    ["cluster.yaml:2: auth.ssh_user: is missing; provider type local connects to its nodes over SSH: set it to the login user (e.g. ubuntu)"]);
  assert.deepEqual(problems(LOCAL.replace("192.0.2.3,", "192.0.2.1,")),
    ["cluster.yaml:4: provider.worker_ips[1]: 192.0.2.1 is the head_ip; list each machine once, the head only as head_ip"]);
  assert.deepEqual(problems(AWS.replace("auth: {ssh_user: ubuntu}\n", "")).length, 1);
  assert.deepEqual(problems("provider: {type: external}\n"),
    ["cluster.yaml:1: provider.module: is missing; provider type external needs it: the file or package whose default export is a ProviderModule"]);
  assert.deepEqual(problems("provider: {type: fake_multinode}\navailable_node_types:\n  h: {resources: {GPU: 1}}\nhead_node_type: h\n"),
    ["cluster.yaml:3: available_node_types.h.resources: the fake_multinode provider cannot detect a node's size: set resources.CPU (and GPU, memory when used)"]);
  assert.deepEqual(problems("provider: {type: fake_multinode}\n"),
    ["cluster.yaml:1: available_node_types: is missing; the fake_multinode provider needs node types with resources (at least CPU) and head_node_type"]);
  // Neither kubernetes nor fake_multinode needs auth.
  assert.equal(parse("provider: {type: fake_multinode}\navailable_node_types:\n  h: {resources: {CPU: 1}}\nhead_node_type: h\n").config.auth.ssh_user, "");
  // Several semantic problems: all of them, in line order.
  assert.equal(problems(AWS.replace("auth: {ssh_user: ubuntu}\n", "").replace("    min_workers: 1\n", "    min_workers: 9\n    max_workers: 2\n")).length, 2);
});

test("the head's copy: key at ~/stingray_bootstrap_key.pem, mounts pointing at the head's copies; the dump reads back equal", () => {
  const text = `${LOCAL.replace("  ssh_user: ubuntu\n", "  ssh_user: ubuntu\n  ssh_private_key: ~/.ssh/id_ed25519\n  ssh_proxy_command: nc -x proxy:1080 %h %p\n  ssh_options: {StrictHostKeyChecking: no, ConnectTimeout: 10}\n")}
file_mounts: {"~/app": "./app"}
setup_commands: [npm ci]
head_setup_commands: ["echo yes"]
docker: {image: "node:24", use_podman: true}
metadata: {owner: me}
`;
  const { config } = parse(text);
  assert.deepEqual(config.auth.ssh_options, { StrictHostKeyChecking: "no", ConnectTimeout: "10" });
  const head = clusterConfigForHead(config);
  assert.equal(head.auth.ssh_private_key, "~/stingray_bootstrap_key.pem");
  assert.equal(head.auth.ssh_proxy_command, undefined);
  assert.deepEqual(head.file_mounts, { "~/app": "~/app" });
  assert.deepEqual({ ...head, auth: config.auth, file_mounts: config.file_mounts }, config);
  assert.equal(config.auth.ssh_private_key, "~/.ssh/id_ed25519"); // the original is untouched
  assert.equal(clusterConfigForHead(parse(AWS).config).auth.ssh_private_key, undefined);

  for (const c of [config, head, parse(AWS).config, parse("provider: {type: kubernetes}\nhead_node: {a: 1}\nworker_nodes: {}\n").config,
    parse("provider: {type: gcp, project_id: null}\nauth: {ssh_user: u}\n").config]) {
    const back = parse(dumpClusterConfig(c));
    assert.deepEqual(back.config, c);
    assert.deepEqual(back.warnings, []);
  }
});

test("hashes: launch hash ignores key order; a setup command changes only the runtime hash, a file's bytes only the contents hash", () => {
  assert.equal(launchHash({ a: 1, b: { c: 2, d: [1, 2] } }, { ssh_user: "u" }), launchHash({ b: { d: [1, 2], c: 2 }, a: 1 }, { ssh_user: "u" }));
  assert.notEqual(launchHash({ a: 1 }, { ssh_user: "u" }), launchHash({ a: 2 }, { ssh_user: "u" }));
  assert.notEqual(launchHash({ a: 1 }, { ssh_user: "u" }), launchHash({ a: 1 }, { ssh_user: "v" }));
  // Keys are hashed by content: the same key at another path (as on the head) hashes the same.
  fs.writeFileSync(path.join(tmp, "k1.pem"), "KEY");
  fs.writeFileSync(path.join(tmp, "k2.pem"), "KEY");
  assert.equal(launchHash({}, { ssh_user: "u", ssh_private_key: path.join(tmp, "k1.pem") }),
    launchHash({}, { ssh_user: "u", ssh_private_key: path.join(tmp, "k2.pem") }));

  const dir = path.join(tmp, "app");
  fs.mkdirSync(path.join(dir, "sub"), { recursive: true });
  fs.mkdirSync(path.join(dir, ".git"), { recursive: true });
  fs.writeFileSync(path.join(dir, "main.ts"), "v1");
  fs.writeFileSync(path.join(dir, "sub", "x.txt"), "x");
  fs.writeFileSync(path.join(dir, ".git", "HEAD"), "h1");
  fs.writeFileSync(path.join(tmp, "one.txt"), "1");
  const yaml = (setup: string): string => `provider: {type: kubernetes}
file_mounts: {"/app": ${JSON.stringify(dir)}, "/one.txt": ${JSON.stringify(path.join(tmp, "one.txt"))}}
rsync_exclude: ["**/.git"]
setup_commands: [${setup}]
`;
  const base = runtimeHashes(parse(yaml("a")).config);
  assert.match(base.runtimeHash, /^[0-9a-f]{40}$/);
  assert.deepEqual(runtimeHashes(parse(yaml("a")).config), base);

  const changedCmd = runtimeHashes(parse(yaml("b")).config);
  assert.notEqual(changedCmd.runtimeHash, base.runtimeHash);
  assert.equal(changedCmd.fileMountsContentsHash, base.fileMountsContentsHash);

  fs.writeFileSync(path.join(dir, "sub", "x.txt"), "y");
  const changedFile = runtimeHashes(parse(yaml("a")).config);
  assert.equal(changedFile.runtimeHash, base.runtimeHash);
  assert.notEqual(changedFile.fileMountsContentsHash, base.fileMountsContentsHash);

  fs.writeFileSync(path.join(dir, ".git", "HEAD"), "h2"); // excluded by rsync_exclude
  assert.deepEqual(runtimeHashes(parse(yaml("a")).config), changedFile);
  fs.writeFileSync(path.join(dir, "new.ts"), ""); // a new (even empty) file counts
  assert.notEqual(runtimeHashes(parse(yaml("a")).config).fileMountsContentsHash, changedFile.fileMountsContentsHash);

  const c = parse(yaml("a")).config;
  assert.notEqual(runtimeHashes(c, { extraObjects: { version: 2 } }).runtimeHash, runtimeHashes(c).runtimeHash);
  // The worker's hash does not move when only head commands change.
  const headOnly = parse(`${yaml("a")}head_setup_commands: [h]\n`).config;
  assert.equal(runtimeHashes(headOnly, { nodeKind: "worker" }).runtimeHash, runtimeHashes(c, { nodeKind: "worker" }).runtimeHash);
  assert.notEqual(runtimeHashes(headOnly, { nodeKind: "head" }).runtimeHash, runtimeHashes(c, { nodeKind: "head" }).runtimeHash);

  const gone = parse(`provider: {type: kubernetes}\nfile_mounts: {"/data": ${JSON.stringify(path.join(tmp, "missing"))}}\n`).config;
  assert.throws(() => runtimeHashes(gone), (e: unknown) => e instanceof ConfigError
    && e.message === `cluster.yaml: file_mounts["/data"]: the local path ${path.join(tmp, "missing")} does not exist; create it or remove the mount`);
});

test("the schema's provider types are the registry's", () => {
  const schema = JSON.parse(fs.readFileSync(path.join(repo, "src/launcher/schema.json"), "utf8")) as
    { properties: { provider: { properties: { type: { enum: string[] } } } } };
  assert.deepEqual([...schema.properties.provider.properties.type.enum].sort(), [...PROVIDER_TYPES].sort());
});

test("every examples/cluster/**/*.yaml loads, without warnings, and dumps back equal", () => {
  const root = path.join(repo, "examples/cluster");
  const files = (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => /\.ya?ml$/.test(f)).sort();
  for (const must of ["local/example-full.yaml", "local/example-docker.yaml", "fake_multinode/example.yaml", "external/example.yaml"]) {
    assert.ok(files.includes(must), must);
  }
  for (const f of files) {
    const warnings: string[] = [];
    const config = loadClusterConfig(path.join(root, f), {}, { warn: (m) => warnings.push(m) });
    assert.deepEqual(warnings, [], f);
    assert.ok(config.available_node_types[config.head_node_type], f);
    assert.deepEqual(parseClusterConfig(dumpClusterConfig(config), config._source!, {}, { warn: () => {} }), config, f);
  }
  const docker = loadClusterConfig(path.join(root, "local/example-docker.yaml"));
  assert.equal(docker.docker?.engine, "podman");
});

test("the external example provider works: create, list by tag, tag, run, copy, terminate", async () => {
  const mod = (await import("../../examples/cluster/external/my_provider.ts")) as { default: ProviderModule };
  const config = loadClusterConfig(path.join(repo, "examples/cluster/external/example.yaml"));
  mod.default.validate?.(config.provider, config);
  const log: string[] = [];
  const provider = await mod.default.createProvider(config.provider, { clusterName: config.cluster_name, onHead: false, stateDir: tmp, log: (l) => log.push(l) });
  const [head] = await provider.createNodes({ size: "small" }, { "stingray-node-kind": "head" }, 1);
  await provider.createNodes({ size: "small" }, { "stingray-node-kind": "worker" }, 2);
  assert.equal((await provider.nonTerminatedNodes()).length, 3);
  assert.equal((await provider.nonTerminatedNodes({ "stingray-node-kind": "worker" })).length, 2);
  await provider.setNodeTags(head!.id, { "stingray-node-status": "up-to-date" });
  const again = await mod.default.createProvider(config.provider, { clusterName: config.cluster_name, onHead: true, stateDir: tmp, log: () => {} });
  assert.equal((await again.nonTerminatedNodes({ "stingray-node-status": "up-to-date" }))[0]?.id, head!.id); // another copy sees the same nodes
  const runner = provider.commandRunner(head!, { auth: config.auth, clusterName: config.cluster_name, log: (l) => log.push(l), useInternalIp: true });
  assert.deepEqual(await runner.run('echo "$GREETING"', { env: { GREETING: "hi" }, captureOutput: true }), { code: 0, stdout: "hi\n", stderr: "" });
  assert.equal((await runner.run("exit 3")).code, 3);
  fs.mkdirSync(path.join(tmp, "src"), { recursive: true });
  fs.writeFileSync(path.join(tmp, "src", "f.txt"), "data");
  await runner.rsyncUp(path.join(tmp, "src") + "/", path.join(tmp, "dst"));
  assert.equal(fs.readFileSync(path.join(tmp, "dst", "f.txt"), "utf8"), "data");
  await provider.terminateNodes((await provider.nonTerminatedNodes()).map((n) => n.id));
  assert.deepEqual(await again.nonTerminatedNodes(), []);
});
