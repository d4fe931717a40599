/**
 * @module autoscaler/main
 * The monitor process on the head (`stingray start --head --autoscaling-config=FILE` starts it):
 * every `autoscaler_update_interval_s` it reads the cluster's load from the GCS (nodes, queued
 * and infeasible lease requests, pending actors, `requestResources` bundles), runs one
 * StandardAutoscaler update against the config's provider, sets up new workers with the node
 * updater, logs every decision to `<session>/logs/monitor.log` (its stderr) and publishes its
 * status in the GCS KV for `stingray status`. The config file is re-read when it changes, so
 * `stingray up --max-workers=N --no-restart` takes effect without a restart.
 */
import fs from "node:fs";
import path from "node:path";
import { config as tunable } from "../common/config.ts";
import { AUTOSCALER_NS } from "../common/kv_namespaces.ts";
import { INSTANCE_ID_LABEL } from "../common/labels.ts";
import { connect, type Connection } from "../protocol/connection.ts";
import { daemonOptions, daemonToken, onShutdown, signalReady } from "../node/daemon.ts";
import { defaultTempDir } from "../node/session.ts";
import { loadClusterConfig } from "../launcher/config.ts";
import { loadProviderModule } from "../launcher/providers/index.ts";
import type { NodeProvider, ProviderNode } from "../launcher/provider.ts";
import { TAG, NODE_KIND, NODE_STATUS, type ClusterConfig } from "../launcher/types.ts";
import { nodeHashes, nodeLaunchHash, setupCommandsFor } from "../launcher/cluster.ts";
import { containerSpec } from "../launcher/docker.ts";
import { updateNode } from "../launcher/updater.ts";
import { StandardAutoscaler, type LoadSnapshot, type AutoscalerStatus } from "./autoscaler.ts";

interface Options { configFile: string; gcsHost: string; gcsPort: number; sessionDir: string; watchParent: boolean }

const opts = daemonOptions<Options>();
const token = daemonToken(opts.sessionDir);

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

let configMtime = 0;
function readConfig(): ClusterConfig | undefined {
  const st = fs.statSync(opts.configFile);
  if (st.mtimeMs === configMtime) return undefined;
  configMtime = st.mtimeMs;
  return loadClusterConfig(opts.configFile);
}

let config = readConfig()!;
// An external provider's relative module path resolves next to the config (file-mount the module there).
const module = await loadProviderModule(config.provider, path.dirname(opts.configFile));
const provider: NodeProvider = await module.createProvider(config.provider, {
  clusterName: config.cluster_name, onHead: true, stateDir: defaultTempDir(), log, auth: config.auth, docker: config.docker,
  head: { gcsAddress: `${opts.gcsHost}:${opts.gcsPort}`, token },
});
const gcs: Connection = await connect({ host: opts.gcsHost, port: opts.gcsPort, token, role: "monitor", id: "autoscaler", retryMs: 30_000 });

/** Set a worker up: the worker's commands, with the head's address and the cluster token in their environment (never argv). */
async function startUpdater(node: ProviderNode, nodeType: string): Promise<void> {
  const cfg = config;
  // fake_multinode's nodes are raylets the provider started itself: nothing to set up.
  if (cfg.provider.type === "fake_multinode") { await provider.setNodeTags(node.id, { [TAG.nodeStatus]: NODE_STATUS.upToDate }); return; }
  const prefix = `[${node.internalIp ?? node.id}] `;
  const { runtimeHash, fileMountsContentsHash } = nodeHashes(cfg, NODE_KIND.worker);
  const runner = provider.commandRunner(node, { auth: cfg.auth, clusterName: cfg.cluster_name, docker: cfg.docker,
    log: (l) => log(prefix + l), useInternalIp: true });
  await updateNode({
    provider, node, runner, container: cfg.docker ? containerSpec(cfg.docker, NODE_KIND.worker) : undefined,
    clusterName: cfg.cluster_name, kind: NODE_KIND.worker, fileMounts: cfg.file_mounts,
    rsyncExclude: cfg.rsync_exclude, rsyncFilter: cfg.rsync_filter,
    initializationCommands: cfg.available_node_types[nodeType]?.initialization_commands ?? cfg.initialization_commands, setupCommands: setupCommandsFor(cfg, NODE_KIND.worker, nodeType),
    startCommands: cfg.worker_start_ray_commands, runtimeHash, fileMountsContentsHash,
    env: { STINGRAY_HEAD_IP: opts.gcsHost, RAY_HEAD_IP: opts.gcsHost, STINGRAY_AUTH_TOKEN: token,
      STINGRAY_CLOUD_INSTANCE_ID: node.id, STINGRAY_NODE_TYPE_NAME: nodeType },
    log: (l) => log(prefix + l),
  });
}

const autoscaler = new StandardAutoscaler({
  config, provider, log, startUpdater,
  launchHash: (nodeType, cfg) => nodeLaunchHash(cfg, nodeType),
});

async function load(): Promise<LoadSnapshot> {
  const { nodes, demands } = await gcs.request("gcs.GetClusterStatus", {});
  const { value } = await gcs.request("gcs.KvGet", { ns: AUTOSCALER_NS, key: "resource_request" });
  let resourceRequests: Array<Record<string, number>> = [];
  if (value) { try { resourceRequests = JSON.parse(Buffer.from(value).toString("utf8")) as Array<Record<string, number>>; } catch { /* ignore a bad record */ } }
  return {
    nodes: nodes.map((n) => ({ nodeId: n.nodeId, ip: n.ip, instanceId: n.labels?.[INSTANCE_ID_LABEL], isHead: n.isHead,
      alive: n.state === "ALIVE", total: n.resources, available: n.available })),
    demands: demands.map((d) => ({ shape: d.shape, count: d.count })),
    resourceRequests,
  };
}

/**
 * Workers set up for another runtime config (changed worker setup commands or file mounts), or
 * set up before this head started (their raylets joined the previous GCS, with its token), are
 * set up again: marking them uninitialized makes the autoscaler run their updater.
 */
const seenRegistered = new Set<string>();
const startedAt = Date.now();
async function markStaleWorkers(snapshot: LoadSnapshot): Promise<void> {
  const { runtimeHash, fileMountsContentsHash } = nodeHashes(config, NODE_KIND.worker);
  const registered = new Set(snapshot.nodes.filter((n) => n.alive && n.instanceId).map((n) => n.instanceId!));
  for (const id of registered) seenRegistered.add(id);
  const workers = await provider.nonTerminatedNodes({ [TAG.clusterName]: config.cluster_name, [TAG.nodeKind]: NODE_KIND.worker });
  for (const w of workers) {
    if (w.tags[TAG.nodeStatus] !== NODE_STATUS.upToDate) continue;
    if (config.provider.type === "fake_multinode") continue; // the provider starts those itself
    const outdated = w.tags[TAG.runtimeConfig] !== runtimeHash || w.tags[TAG.fileMountsContents] !== fileMountsContentsHash;
    // Up to date but never seen by this GCS within a grace period after this monitor started: it
    // belongs to a previous head session.
    const orphan = !registered.has(w.id) && !seenRegistered.has(w.id) && Date.now() - startedAt > 15_000 && w.tags[TAG.runtimeConfig] !== undefined;
    if (outdated || orphan) {
      log(`worker ${w.id} ${outdated ? "has an outdated runtime config" : "is not connected to this head"}: setting it up again`);
      await provider.setNodeTags(w.id, { [TAG.nodeStatus]: NODE_STATUS.uninitialized });
    }
  }
}

let lastStatusLine = "";
async function tick(): Promise<void> {
  try {
    const next = readConfig();
    if (next) {
      if (configMtime && next !== config) log(`config ${opts.configFile} changed: max_workers ${next.max_workers}, node types ${Object.keys(next.available_node_types).join(", ")}`);
      config = next;
      autoscaler.setConfig(next);
    }
  } catch (e) {
    log(`config ${opts.configFile} is invalid, keeping the previous one: ${(e as Error).message}`);
  }
  let status: AutoscalerStatus;
  try {
    const snapshot = await load();
    await markStaleWorkers(snapshot).catch((e: Error) => log(`could not check workers' configs: ${e.message}`));
    status = await autoscaler.update(snapshot);
  } catch (e) {
    log(`autoscaler update failed: ${(e as Error).message}`);
    return;
  }
  const summary = `active ${status.activeNodes.length}, pending ${status.pendingNodes.length}, idle ${status.idleNodes.length}, ` +
    `demands ${status.pendingDemands.reduce((s, d) => s + d.count, 0)}, infeasible ${status.infeasible.length}`;
  if (summary !== lastStatusLine) { log(`status: ${summary}`); lastStatusLine = summary; }
  await gcs.request("gcs.KvPut", { ns: AUTOSCALER_NS, key: "status", value: Buffer.from(JSON.stringify(status)), overwrite: true })
    .catch((e: Error) => log(`could not publish the status: ${e.message}`));
}

let timer: NodeJS.Timeout | undefined;
let running = false;
const interval = tunable("autoscaler_update_interval_s") * 1000;
async function loop(): Promise<void> {
  if (running) return;
  running = true;
  try { await tick(); } finally { running = false; }
  timer = setTimeout(() => void loop(), interval);
}

log(`autoscaler started for cluster "${config.cluster_name}" (provider ${config.provider.type}, update every ${interval / 1000} s, config ${opts.configFile})`);
onShutdown(async (reason) => {
  log(`autoscaler stopping (${reason})`);
  if (timer) clearTimeout(timer);
  await provider.close?.();
  gcs.close();
}, opts.watchParent);
gcs.once("close", () => { log("lost the GCS connection; exiting"); process.exit(1); });
signalReady({ pid: process.pid });
void loop();
