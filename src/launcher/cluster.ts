/**
 * @module launcher/cluster
 * What the cluster launcher commands do (`up`, `down`, `exec`, `submit`, `attach`, `rsync-up`,
 * `rsync-down`, `get-head-ip`, `get-worker-ips`, `monitor`, `dashboard CONFIG`), on top of a
 * provider, the node updater and the config loader. The CLI module (cli/commands/cluster.ts) only
 * parses flags and calls these.
 *
 * `up` sets up the head only, as Ray does; the head's autoscaler (started by the head's start
 * command with `--autoscaling-config=~/stingray_bootstrap_config.yaml`) launches and sets up the
 * workers. `up` is idempotent: the head's tags hold the hashes it was set up with, and an
 * unchanged config on a running head changes nothing.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { ConfigError, CommandFailedError, ProviderError } from "../common/errors.ts";
import { defaultTempDir } from "../node/session.ts";
import { loadClusterConfig, clusterConfigForHead, dumpClusterConfig, type ConfigOverrides } from "./config.ts";
import { launchHash, runtimeHashes } from "./hashes.ts";
import type { CommandRunner, NodeProvider, ProviderModule, ProviderNode, RunnerContext } from "./provider.ts";
import { loadProviderModule } from "./providers/index.ts";
import { TAG, NODE_KIND, NODE_STATUS, type ClusterConfig, type NodeKind, type Tags } from "./types.ts";
import { containerSpec, dockerRunner } from "./docker.ts";
import { updateNode, uploadFiles, type Upload } from "./updater.ts";
import { shQuote } from "./runners.ts";

/** Extra tag: hash of the bootstrap config last written to the head. */
export const TAG_BOOTSTRAP = "stingray-bootstrap-config";
export const BOOTSTRAP_CONFIG = "~/stingray_bootstrap_config.yaml";
export const BOOTSTRAP_KEY = "~/stingray_bootstrap_key.pem";
/** Ray's names for the same files, so a Ray YAML's `--autoscaling-config=~/ray_bootstrap_config.yaml` works unchanged. */
const RAY_BOOTSTRAP_CONFIG = "~/ray_bootstrap_config.yaml";
const RAY_BOOTSTRAP_KEY = "~/ray_bootstrap_key.pem";

export interface Cluster {
  config: ClusterConfig;
  module: ProviderModule;
  provider: NodeProvider;
  log: (line: string) => void;
  onHead: boolean;
}

export interface OpenOptions extends ConfigOverrides {
  log?: (line: string) => void;
  /** Skip provider bootstrap (commands that only read). */
  noBootstrap?: boolean;
  dryRun?: boolean;
}

/** Load the config, check it with its provider, and create the provider (launcher side). */
export async function openCluster(configFile: string, o: OpenOptions = {}): Promise<Cluster> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  let config = loadClusterConfig(configFile, { clusterName: o.clusterName, minWorkers: o.minWorkers, maxWorkers: o.maxWorkers });
  const module = await loadProviderModule(config.provider, path.dirname(path.resolve(configFile)));
  module.validate?.(config.provider, config);
  if (module.bootstrapConfig && !o.noBootstrap) config = await module.bootstrapConfig(config, { dryRun: o.dryRun ?? false });
  const onHead = config.provider.on_head === true;
  const provider = await module.createProvider(config.provider, {
    clusterName: config.cluster_name, onHead, stateDir: defaultTempDir(), log, auth: config.auth, docker: config.docker,
  });
  return { config, module, provider, log, onHead };
}

export async function closeCluster(c: Cluster): Promise<void> { await c.provider.close?.(); }

const clusterTag = (c: Cluster): Tags => ({ [TAG.clusterName]: c.config.cluster_name });

export async function headNodes(c: Cluster): Promise<ProviderNode[]> {
  return c.provider.nonTerminatedNodes({ ...clusterTag(c), [TAG.nodeKind]: NODE_KIND.head });
}

export async function workerNodes(c: Cluster): Promise<ProviderNode[]> {
  return c.provider.nonTerminatedNodes({ ...clusterTag(c), [TAG.nodeKind]: NODE_KIND.worker });
}

export async function requireHead(c: Cluster): Promise<ProviderNode> {
  const [head] = await headNodes(c);
  if (!head) {
    throw new ProviderError(`cluster "${c.config.cluster_name}" has no head node; start it with \`stingray up ${c.config._source ?? "CONFIG"}\``);
  }
  return head;
}

function runnerContext(c: Cluster): RunnerContext {
  return { auth: c.config.auth, clusterName: c.config.cluster_name, docker: c.config.docker, log: c.log,
    useInternalIp: c.onHead || c.config.provider.use_internal_ips === true };
}

/** The host runner of a node (not inside its container). */
export function hostRunner(c: Cluster, node: ProviderNode): CommandRunner {
  return c.provider.commandRunner(node, runnerContext(c));
}

/** A runner for commands on a node: inside its container when the config has `docker:`. */
export async function nodeRunner(c: Cluster, node: ProviderNode): Promise<CommandRunner> {
  const host = hostRunner(c, node);
  if (!c.config.docker) return host;
  const kind = node.tags[TAG.nodeKind] === NODE_KIND.head ? NODE_KIND.head : NODE_KIND.worker;
  return dockerRunner(host, containerSpec(c.config.docker, kind), c.config.cluster_name);
}

/** The address a user on the launcher machine reaches a node at. */
export function nodeAddress(c: Cluster, node: ProviderNode): string {
  const internal = c.config.provider.use_internal_ips === true;
  return (internal ? node.internalIp : node.externalIp ?? node.internalIp) ?? node.id;
}

/** The hashes a node of `kind` is set up with: commands of its own kind only, so a worker-only change leaves the head alone. */
export function nodeHashes(config: ClusterConfig, kind: NodeKind): { runtimeHash: string; fileMountsContentsHash: string } {
  return runtimeHashes(config, { nodeKind: kind });
}

export function nodeLaunchHash(config: ClusterConfig, nodeType: string): string {
  const t = config.available_node_types[nodeType];
  if (!t) throw new ConfigError(`node type "${nodeType}" is not in available_node_types`);
  return launchHash(t.node_config, config.auth);
}

/** Setup commands of a node type: a type's own worker_setup_commands replace the (merged) global list, as in Ray. */
export function setupCommandsFor(config: ClusterConfig, kind: NodeKind, nodeType: string): string[] {
  if (kind === NODE_KIND.head) return config.head_setup_commands;
  return config.available_node_types[nodeType]?.worker_setup_commands ?? config.worker_setup_commands;
}

function sha(s: string): string { return createHash("sha1").update(s).digest("hex"); }

/** The head's copy of the config and key (written as ~/stingray_bootstrap_config.yaml and ~/stingray_bootstrap_key.pem). */
export function headUploads(config: ClusterConfig): { uploads: Upload[]; hash: string } {
  const keyFile = config.auth.ssh_private_key;
  const remote = clusterConfigForHead({ ...config, provider: { ...config.provider, on_head: true } }, keyFile ? BOOTSTRAP_KEY : undefined);
  const text = dumpClusterConfig(remote);
  const uploads: Upload[] = [
    { content: text, remote: BOOTSTRAP_CONFIG, mode: 0o600 },
    { content: text, remote: RAY_BOOTSTRAP_CONFIG, mode: 0o600 },
  ];
  let keyText = "";
  if (keyFile) {
    const p = keyFile.startsWith("~/") ? path.join(process.env.HOME ?? "", keyFile.slice(2)) : keyFile;
    try { keyText = fs.readFileSync(p, "utf8"); } catch (e) {
      throw new ConfigError(`auth.ssh_private_key: cannot read ${keyFile} (${(e as Error).message}); give the path of the private key that opens the nodes`);
    }
    uploads.push({ content: keyText, remote: BOOTSTRAP_KEY, mode: 0o600 }, { content: keyText, remote: RAY_BOOTSTRAP_KEY, mode: 0o600 });
  }
  return { uploads, hash: sha(text + "\0" + keyText) };
}

async function confirm(question: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) throw new CommandFailedError(`${question} — no terminal to ask on; pass -y (--yes) to confirm`);
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  const answer = await new Promise<string>((r) => rl.question(`${question} [y/N]: `, r));
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new CommandFailedError("Aborted.");
}

export interface UpOptions { yes?: boolean; noRestart?: boolean; restartOnly?: boolean; dryRun?: boolean; sshTimeoutMs?: number }

/** Print what `up` would do (for --dry-run): the config as understood, without touching a host. */
export function describePlan(c: Cluster): string[] {
  const cfg = c.config;
  const lines = [
    `Cluster: ${cfg.cluster_name} (provider ${cfg.provider.type}${cfg.docker ? `, ${cfg.docker.engine} image ${cfg.docker.image ?? cfg.docker.head_image}` : ""})`,
    `  max_workers ${cfg.max_workers}, upscaling_speed ${cfg.upscaling_speed}, idle_timeout_minutes ${cfg.idle_timeout_minutes}`,
    `  head node type: ${cfg.head_node_type}`,
  ];
  for (const [name, t] of Object.entries(cfg.available_node_types)) {
    lines.push(`  node type ${name}: resources ${JSON.stringify(t.resources)}, min_workers ${t.min_workers}, max_workers ${t.max_workers}`);
  }
  lines.push("Plan:");
  lines.push(`  1. create or reuse the head node (${cfg.provider.type === "local" ? cfg.provider.head_ip : "a new instance"})`);
  lines.push(`  2. on the head: ${cfg.initialization_commands.length} initialization, ${Object.keys(cfg.file_mounts).length} file mount(s), ` +
    `${cfg.head_setup_commands.length} setup and ${cfg.head_start_ray_commands.length} start command(s):`);
  for (const cmd of [...cfg.initialization_commands, ...cfg.head_setup_commands, ...cfg.head_start_ray_commands]) lines.push(`       ${cmd}`);
  const minWorkers = Object.entries(cfg.available_node_types).filter(([n]) => n !== cfg.head_node_type || cfg.provider.type === "local")
    .reduce((s, [, t]) => s + t.min_workers, 0);
  lines.push(`  3. the head's autoscaler keeps at least ${minWorkers} worker(s) and at most ${cfg.max_workers}, running on each: ` +
    `${cfg.worker_setup_commands.length} setup and ${cfg.worker_start_ray_commands.length} start command(s)`);
  return lines;
}

/** `stingray up`: create or update the head (and through it the cluster). */
export async function up(c: Cluster, o: UpOptions = {}): Promise<{ head: ProviderNode; changed: boolean }> {
  const cfg = c.config;
  const log = c.log;
  const headType = cfg.head_node_type;
  const launch = nodeLaunchHash(cfg, headType);
  let [head] = await headNodes(c);
  if (head && head.tags[TAG.launchConfig] !== launch) {
    await confirm(`Head node config out-of-date. It will be terminated and replaced`, o.yes ?? false);
    log(`Terminating the outdated head node ${head.id}`);
    await c.provider.terminateNodes([head.id]);
    head = undefined;
  }
  let created = false;
  if (!head) {
    await confirm(`This will create a new cluster "${cfg.cluster_name}"`, o.yes ?? false);
    log(`Launching the head node (type ${headType})`);
    const t = cfg.available_node_types[headType]!;
    const [n] = await c.provider.createNodes(t.node_config, {
      ...clusterTag(c), [TAG.nodeKind]: NODE_KIND.head, [TAG.userNodeType]: headType, [TAG.nodeStatus]: NODE_STATUS.uninitialized,
      [TAG.launchConfig]: launch, [TAG.nodeName]: `stingray-${cfg.cluster_name}-head`,
    }, 1, { resources: t.resources, labels: t.labels });
    if (!n) throw new ProviderError("the provider created no head node");
    head = n;
    created = true;
  }
  head = await waitForIp(c, head);
  log(`Head node: ${head.id} (${nodeAddress(c, head)})`);

  const { runtimeHash, fileMountsContentsHash } = nodeHashes(cfg, NODE_KIND.head);
  const boot = headUploads(cfg);
  const runner = hostRunner(c, head);
  const sameRuntime = head.tags[TAG.runtimeConfig] === runtimeHash;
  const sameFiles = head.tags[TAG.fileMountsContents] === fileMountsContentsHash;
  const sameBoot = head.tags[TAG_BOOTSTRAP] === boot.hash;
  const upToDate = head.tags[TAG.nodeStatus] === NODE_STATUS.upToDate;
  let running = false;
  if (!created && upToDate && sameRuntime && sameFiles && !o.restartOnly) running = await stingrayRunning(c, head);

  if (!created && upToDate && sameRuntime && sameFiles && running && !o.restartOnly) {
    if (!sameBoot) {
      log("Updating the autoscaler's config on the head (the running autoscaler picks it up; nothing restarts)");
      const r = await nodeRunner(c, head);
      await uploadFiles(r, boot.uploads);
      await c.provider.setNodeTags(head.id, { [TAG_BOOTSTRAP]: boot.hash });
    } else {
      log(`Cluster "${cfg.cluster_name}" is up to date: no changes.`);
    }
    return { head, changed: !sameBoot };
  }
  if (!created && upToDate && sameRuntime && sameFiles && !running && !o.restartOnly && !o.noRestart) {
    log("Stingray is not running on the head: restarting it");
  }
  const container = cfg.docker ? containerSpec(cfg.docker, NODE_KIND.head) : undefined;
  await updateNode({
    provider: c.provider, node: head, runner, container, clusterName: cfg.cluster_name, kind: NODE_KIND.head,
    fileMounts: cfg.file_mounts, rsyncExclude: cfg.rsync_exclude, rsyncFilter: cfg.rsync_filter,
    initializationCommands: cfg.initialization_commands, setupCommands: cfg.head_setup_commands,
    startCommands: cfg.head_start_ray_commands, runtimeHash, fileMountsContentsHash,
    env: headEnv(head), uploads: boot.uploads, restartOnly: o.restartOnly, noRestart: o.noRestart, log,
    sshTimeoutMs: o.sshTimeoutMs,
  });
  await c.provider.setNodeTags(head.id, { [TAG_BOOTSTRAP]: boot.hash });
  return { head, changed: true };
}

/**
 * After `up`: follow the workers the head's autoscaler sets up, printing each node's status as
 * it changes (waiting-for-ssh → setting-up → up-to-date), until every node type's min_workers are
 * up to date or `timeoutMs` passes (the autoscaler carries on either way).
 */
export async function followWorkers(c: Cluster, timeoutMs = 600_000, pollMs = 1000): Promise<boolean> {
  const cfg = c.config;
  const want = Object.entries(cfg.available_node_types)
    .filter(([name]) => name !== cfg.head_node_type || cfg.provider.type === "local")
    .reduce((n, [, t]) => n + Math.min(t.min_workers, t.max_workers), 0);
  const wanted = Math.min(want, cfg.max_workers);
  if (wanted === 0) return true;
  c.log(`Waiting for ${wanted} worker node(s) the autoscaler starts (Ctrl-C stops waiting, not the cluster):`);
  const seen = new Map<string, string>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const workers = await workerNodes(c).catch(() => [] as ProviderNode[]);
    for (const w of workers) {
      const status = w.tags[TAG.nodeStatus] ?? "unknown";
      if (seen.get(w.id) !== status) {
        seen.set(w.id, status);
        c.log(`  ${w.internalIp ?? w.id} (${w.tags[TAG.userNodeType] ?? "worker"}): ${status}`);
      }
    }
    const up = workers.filter((w) => w.tags[TAG.nodeStatus] === NODE_STATUS.upToDate).length;
    if (up >= wanted) { c.log(`${up} worker node(s) up to date.`); return true; }
    if (Date.now() > deadline) {
      c.log(`${up} of ${wanted} worker node(s) up to date after ${Math.round(timeoutMs / 1000)} s; the autoscaler keeps trying ` +
        `(follow it with \`stingray monitor ${cfg._source ?? "CONFIG"}\`)`);
      return false;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

function headEnv(head: ProviderNode): Record<string, string> {
  const ip = head.internalIp ?? head.id;
  return { STINGRAY_HEAD_IP: ip, RAY_HEAD_IP: ip, STINGRAY_CLOUD_INSTANCE_ID: head.id, STINGRAY_NODE_TYPE_NAME: head.tags[TAG.userNodeType] ?? "" };
}

async function waitForIp(c: Cluster, node: ProviderNode, timeoutMs = 600_000): Promise<ProviderNode> {
  const deadline = Date.now() + timeoutMs;
  let n: ProviderNode | undefined = node;
  while (!n || n.state !== "running" || !n.internalIp) {
    if (Date.now() > deadline) throw new ProviderError(`node ${node.id} did not get an IP within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 2000));
    n = (await c.provider.nonTerminatedNodes(clusterTag(c))).find((x) => x.id === node.id);
    if (!n) throw new ProviderError(`node ${node.id} disappeared while it was starting (terminated by the provider?)`);
  }
  return n;
}

/** Whether a Stingray head answers on the node (`stingray status` exits 0). */
export async function stingrayRunning(c: Cluster, node: ProviderNode): Promise<boolean> {
  const r = await (await nodeRunner(c, node)).run("stingray status >/dev/null 2>&1", { captureOutput: true, timeoutMs: 60_000 })
    .catch(() => ({ code: 1 }));
  return r.code === 0;
}

export interface DownOptions { yes?: boolean; workersOnly?: boolean; keepMinWorkers?: boolean }

/** `stingray down`: stop and terminate the workers, then the head (unless --workers-only). */
export async function down(c: Cluster, o: DownOptions = {}): Promise<void> {
  const cfg = c.config;
  await confirm(o.workersOnly ? `Destroying the workers of cluster "${cfg.cluster_name}"` : `Destroying cluster "${cfg.cluster_name}"`, o.yes ?? false);
  const heads = await headNodes(c);
  if (c.config.provider.type === "local" && !c.onHead && o.workersOnly && heads[0]) {
    // The head's autoscaler owns the local workers: let the head do it, under its state file's lock.
    const r = await nodeRunner(c, heads[0]);
    const res = await r.run(`stingray down ${BOOTSTRAP_CONFIG} --workers-only -y${o.keepMinWorkers ? " --keep-min-workers" : ""}`);
    if (res.code !== 0) throw new CommandFailedError(`stingray down --workers-only failed on the head (exit ${res.code})`);
    return;
  }
  if (!o.workersOnly) {
    for (const h of heads) {
      c.log(`Stopping Stingray on the head ${h.id} (the autoscaler stops with it)`);
      const r = await nodeRunner(c, h).catch(() => undefined);
      await r?.run("stingray stop", { timeoutMs: 60_000 }).catch((e: Error) => c.log(`  could not stop Stingray on ${h.id}: ${e.message}`));
    }
  }
  let workers = await workerNodes(c);
  if (o.keepMinWorkers) {
    const keep = new Map(Object.entries(cfg.available_node_types).map(([k, t]) => [k, t.min_workers]));
    workers = workers.filter((w) => {
      const t = w.tags[TAG.userNodeType] ?? "";
      const left = keep.get(t) ?? 0;
      if (left > 0) { keep.set(t, left - 1); return false; }
      return true;
    });
  }
  if (workers.length) {
    c.log(`Terminating ${workers.length} worker node(s): ${workers.map((w) => w.id).join(", ")}`);
    await c.provider.terminateNodes(workers.map((w) => w.id));
  }
  if (!o.workersOnly) {
    if (c.config.provider.type === "local" && !c.onHead && heads[0]) {
      // Forget the workers the head's autoscaler had claimed: they are stopped now.
      // (inside the head's container with docker: that is where its autoscaler kept the file)
      const { localStatePath } = await import("./providers/local.ts");
      const head = await nodeRunner(c, heads[0]);
      await head.run(`rm -f ${shQuote(localStatePath(cfg.cluster_name, "/tmp/stingray"))}`, { captureOutput: true }).catch(() => undefined);
    }
    if (heads.length) {
      c.log(`Terminating the head node ${heads.map((h) => h.id).join(", ")}`);
      await c.provider.terminateNodes(heads.map((h) => h.id));
    }
  }
  c.log(o.workersOnly ? "Workers terminated." : `Cluster "${cfg.cluster_name}" is down.`);
}

export interface ExecOptions {
  start?: boolean; stop?: boolean; tmux?: boolean; screen?: boolean; portForward?: number[]; allNodes?: boolean;
  interactive?: boolean; captureOutput?: boolean; yes?: boolean;
}

/** Ray's wrapping of a command in a detached tmux or screen session. */
export function wrapSession(cmd: string, o: { tmux?: boolean; screen?: boolean }): string {
  if (o.tmux) return `tmux new -d bash -c ${shQuote(`${cmd}; exec bash`)}`;
  if (o.screen) return `screen -L -dm bash -c ${shQuote(`${cmd}; exec bash`)}`;
  return cmd;
}

/** `stingray exec`: run a shell command on the head (or every node). Resolves with its exit code. */
export async function exec(c: Cluster, cmd: string, o: ExecOptions = {}): Promise<number> {
  if (o.tmux && o.screen) throw new ConfigError("give --tmux or --screen, not both");
  if (o.start) await up(c, { yes: true });
  const head = await requireHead(c);
  let full = wrapSession(cmd, o);
  if (o.stop) full = `${full}; stingray down ${BOOTSTRAP_CONFIG} --workers-only -y; stingray stop`;
  const nodes = o.allNodes ? [head, ...await workerNodes(c)] : [head];
  const codes = await Promise.all(nodes.map(async (n) => {
    const r = await nodeRunner(c, n);
    if (nodes.length > 1) {
      const res = await r.run(full, { captureOutput: true });
      const tag = `(${nodeAddress(c, n)})`;
      for (const l of res.stdout.split("\n").filter(Boolean)) process.stdout.write(`${tag} ${l}\n`);
      for (const l of res.stderr.split("\n").filter(Boolean)) process.stderr.write(`${tag} ${l}\n`);
      return res.code;
    }
    const interactive = o.interactive ?? (process.stdin.isTTY === true && !o.tmux && !o.screen);
    const res = await r.run(full, { interactive, portForward: (o.portForward ?? []).map((p) => [p, p] as [number, number]) });
    return res.code;
  }));
  if (o.stop) {
    c.log(`Terminating the head node ${head.id}`);
    await c.provider.terminateNodes([head.id]);
  }
  if (o.tmux || o.screen) {
    c.log(`Command started in a detached ${o.tmux ? "tmux" : "screen"} session; attach with: stingray attach ${c.config._source ?? "CONFIG"} ${o.tmux ? "--tmux" : "--screen"}`);
  }
  return codes.find((x) => x !== 0) ?? 0;
}

/** `stingray submit`: copy a script to the head and run it there with its arguments. */
export async function submit(c: Cluster, script: string, args: string[], o: ExecOptions = {}): Promise<number> {
  if (!fs.existsSync(script)) throw new ConfigError(`script ${script} does not exist`);
  if (o.start) await up(c, { yes: true });
  const head = await requireHead(c);
  const target = `~/${path.basename(script)}`;
  await (await nodeRunner(c, head)).rsyncUp(path.resolve(script), target);
  const interpreter = /\.(m?[jt]s|cjs|mts|cts)$/.test(script) ? "node" : /\.sh$/.test(script) ? "bash" : "node";
  const cmd = [interpreter, target, ...args.map(shQuote)].join(" ");
  return exec(c, cmd, { ...o, start: false });
}

export interface AttachOptions { start?: boolean; tmux?: boolean; screen?: boolean; newSession?: boolean; portForward?: number[] }

/** `stingray attach`: an interactive shell on the head (in tmux or screen if asked). */
export async function attach(c: Cluster, o: AttachOptions = {}): Promise<number> {
  if (o.start) await up(c, { yes: true });
  const head = await requireHead(c);
  let cmd = "exec bash --login";
  if (o.tmux) cmd = o.newSession ? "tmux new" : "tmux attach || tmux new";
  else if (o.screen) cmd = o.newSession ? "screen -L" : "screen -L -xRR";
  const r = await nodeRunner(c, head);
  return (await r.run(cmd, { interactive: true, portForward: (o.portForward ?? []).map((p) => [p, p] as [number, number]) })).code;
}

/** `stingray rsync-up` / `rsync-down`: copy files between this machine and the head (or every node). */
export async function rsync(c: Cluster, source: string, target: string, o: { down: boolean; allNodes?: boolean }): Promise<void> {
  const head = await requireHead(c);
  const nodes = o.allNodes ? [head, ...await workerNodes(c)] : [head];
  for (const n of nodes) {
    const r = await nodeRunner(c, n);
    if (o.down) await r.rsyncDown(source, target, { exclude: c.config.rsync_exclude, filter: c.config.rsync_filter });
    else await r.rsyncUp(source, target, { exclude: c.config.rsync_exclude, filter: c.config.rsync_filter });
    c.log(`${o.down ? `${nodeAddress(c, n)}:${source} → ${target}` : `${source} → ${nodeAddress(c, n)}:${target}`}`);
  }
}

export async function getHeadIp(c: Cluster): Promise<string> {
  return nodeAddress(c, await requireHead(c));
}

export async function getWorkerIps(c: Cluster): Promise<string[]> {
  return (await workerNodes(c)).map((w) => w.internalIp ?? w.id);
}

/** `stingray monitor`: follow the autoscaler's log on the head. */
export async function monitor(c: Cluster, lines = 100): Promise<number> {
  const head = await requireHead(c);
  const r = await nodeRunner(c, head);
  return (await r.run(`tail -n ${lines} -f /tmp/stingray/session_latest/logs/monitor.log`, { interactive: process.stdin.isTTY === true })).code;
}

/** `stingray dashboard CONFIG`: forward the head's dashboard port over SSH until interrupted. */
export async function dashboard(c: Cluster, localPort: number, remotePort: number): Promise<number> {
  const head = await requireHead(c);
  const r = hostRunner(c, head);
  c.log(`Forwarding the dashboard of ${nodeAddress(c, head)}: http://127.0.0.1:${localPort} (log in with the token: stingray exec ${c.config._source ?? "CONFIG"} 'stingray get-auth-token')`);
  return (await r.run("while true; do sleep 86400; done", { portForward: [[localPort, remotePort]] })).code;
}
