/**
 * @module cli/commands/start
 * `stingray start --head` and `stingray start --address=HEAD:PORT`: start this host's daemons in
 * the background (or in the foreground with --block) and say how to use them, like `ray start`.
 */
import fs from "node:fs";
import path from "node:path";
import { parse, num, json, help, UsageError, type FlagSpec } from "../args.ts";
import { startDaemon, startHead, packageVersion, type DaemonHandle } from "../../node/launcher.ts";
import { createNodeSession, defaultTempDir, writeClusterFile } from "../../node/session.ts";
import { detectNodeIp, nodeResources } from "../../node/resources.ts";
import { randomId } from "../../common/ids.ts";
import { connect } from "../../protocol/connection.ts";
import { INSTANCE_ID_LABEL, NODE_TYPE_LABEL } from "../../common/labels.ts";

function expandHome(p: string): string {
  return p.startsWith("~/") ? path.join(process.env.HOME ?? "", p.slice(2)) : p;
}

export const START_FLAGS: FlagSpec = {
  head: { type: "boolean", help: "Start the head node (GCS + raylet)." },
  address: { type: "string", help: "Join the cluster whose head is at HOST:PORT.", alias: ["redis-address"] },
  port: { type: "string", help: "Head: GCS port (default 6379).", alias: ["redis-port"] },
  "num-cpus": { type: "string", help: "CPUs this node offers (default: all)." },
  "num-gpus": { type: "string", help: "GPUs this node offers (default: what nvidia-smi reports)." },
  resources: { type: "string", help: "Custom resources as JSON, e.g. '{\"accelerator\": 1}'." },
  labels: { type: "string", help: "Node labels as JSON, e.g. '{\"zone\": \"a\"}'." },
  memory: { type: "string", help: "Memory (bytes) available to tasks." },
  "object-store-memory": { type: "string", help: "Object store size in bytes (default 30% of RAM)." },
  "node-ip-address": { type: "string", help: "The IP other nodes use to reach this one." },
  "node-manager-port": { type: "string", help: "Raylet port (default: any free port)." },
  "object-manager-port": { type: "string", help: "Object transfer port (served by the raylet port in Stingray)." },
  "min-worker-port": { type: "string", help: "Lowest port for worker processes." },
  "max-worker-port": { type: "string", help: "Highest port for worker processes." },
  "temp-dir": { type: "string", help: "Root of session directories (default /tmp/stingray)." },
  block: { type: "boolean", help: "Stay in the foreground; exit non-zero if a daemon dies." },
  "include-dashboard": { type: "boolean", help: "Start the dashboard (head)." },
  "dashboard-host": { type: "string", help: "Dashboard bind address (default 127.0.0.1)." },
  "dashboard-port": { type: "string", help: "Dashboard port (default 8265)." },
  "dashboard-allowed-hosts": { type: "string", help: "Comma-separated host names the dashboard accepts besides IP addresses and localhost (DNS-rebinding protection)." },
  "client-server-port": { type: "string", help: "Remote client port (default 10001).", alias: ["ray-client-server-port"] },
  "metrics-export-port": { type: "string", help: "Port of this node's Prometheus endpoint /metrics (default: any free port; listed in the head's service discovery file)." },
  "metrics-allow-unauthenticated": { type: "boolean", help: "Serve /metrics without the cluster token (default: the token is required)." },
  "redis-shard-ports": { type: "string", help: "Accepted for Ray compatibility; has no meaning in Stingray." },
  "gcs-storage": { type: "string", help: "GCS storage: memory (default) or sqlite." },
  "autoscaling-config": { type: "string", help: "Head: run the autoscaler with this cluster YAML (what `stingray up` writes as ~/stingray_bootstrap_config.yaml)." },
  "tls-cert": { type: "string", help: "PEM certificate: every link of this node uses TLS (with --tls-key and --tls-ca)." },
  "tls-key": { type: "string", help: "PEM private key of --tls-cert." },
  "tls-ca": { type: "string", help: "PEM CA that peers' certificates must chain to." },
  help: { type: "boolean", short: "h", help: "Show this help." },
};

export async function startCommand(argv: string[]): Promise<number> {
  const { values: v } = parse("start", argv, START_FLAGS);
  if (v.help) { process.stdout.write(help("start [--head | --address=HOST:PORT] [flags]", "Start Stingray on this host.", START_FLAGS)); return 0; }
  if (v.head && v.address) throw new UsageError("stingray start: use either --head or --address, not both");
  if (!v.head && !v.address) throw new UsageError("stingray start: give --head to start a head node, or --address=HEAD_IP:6379 to join one");
  if (v["redis-shard-ports"] !== undefined) process.stderr.write("Note: --redis-shard-ports has no meaning in Stingray (there is no Redis shard); ignored.\n");
  const tempDir = (v["temp-dir"] as string | undefined) ?? defaultTempDir();
  const nodeIp = (v["node-ip-address"] as string | undefined) ?? detectNodeIp();
  const res = {
    numCpus: num("start", "num-cpus", v["num-cpus"]),
    numGpus: num("start", "num-gpus", v["num-gpus"]),
    memory: num("start", "memory", v.memory),
    resources: json("start", "resources", v.resources) as Record<string, number> | undefined,
    objectStoreMemory: num("start", "object-store-memory", v["object-store-memory"]),
  };
  let labels = json("start", "labels", v.labels) as Record<string, string> | undefined;
  // Set by the cluster launcher for the start commands it runs: the provider's id of this
  // machine and its node type, so the autoscaler can tell which node is which.
  const instanceId = process.env.STINGRAY_CLOUD_INSTANCE_ID ?? process.env.RAY_CLOUD_INSTANCE_ID;
  const nodeType = process.env.STINGRAY_NODE_TYPE_NAME ?? process.env.RAY_NODE_TYPE_NAME;
  if (instanceId) labels = { ...labels, [INSTANCE_ID_LABEL]: instanceId };
  if (nodeType) labels = { ...labels, [NODE_TYPE_LABEL]: nodeType };
  const autoscalingConfig = v["autoscaling-config"] as string | undefined;
  if (autoscalingConfig !== undefined) {
    if (!v.head) throw new UsageError("stingray start: --autoscaling-config is for the head (with --head)");
    if (!fs.existsSync(expandHome(autoscalingConfig))) throw new UsageError(`stingray start: --autoscaling-config file ${autoscalingConfig} does not exist`);
  }
  // Ray's default worker port range, so a node's listening ports are predictable (fixed-port
  // Docker deployments publish exactly these).
  const minWorkerPort = num("start", "min-worker-port", v["min-worker-port"]) ?? 10002;
  const maxWorkerPort = num("start", "max-worker-port", v["max-worker-port"]) ?? 19999;
  if (minWorkerPort > maxWorkerPort) throw new UsageError(`stingray start: --min-worker-port (${minWorkerPort}) is above --max-worker-port (${maxWorkerPort})`);
  const nodeManagerPort = num("start", "node-manager-port", v["node-manager-port"]);
  const metricsExportPort = num("start", "metrics-export-port", v["metrics-export-port"]);
  const block = v.block === true;
  // TLS settings reach every daemon and worker of this node through the environment.
  const tls = [v["tls-cert"], v["tls-key"], v["tls-ca"]];
  if (tls.some((x) => x !== undefined)) {
    if (tls.some((x) => typeof x !== "string")) throw new UsageError("stingray start: give --tls-cert, --tls-key and --tls-ca together");
    for (const [flag, file] of [["tls-cert", tls[0]], ["tls-key", tls[1]], ["tls-ca", tls[2]]] as const) {
      if (!fs.existsSync(String(file))) throw new UsageError(`stingray start: --${flag} file ${String(file)} does not exist`);
    }
    process.env.STINGRAY_TLS_CERT = path.resolve(String(tls[0]));
    process.env.STINGRAY_TLS_KEY = path.resolve(String(tls[1]));
    process.env.STINGRAY_TLS_CA = path.resolve(String(tls[2]));
  }
  let daemons: DaemonHandle[];
  if (v.head) {
    const port = num("start", "port", v.port) ?? 6379;
    const clientServerPort = num("start", "client-server-port", v["client-server-port"]) ?? 10001;
    const dashboard = v["include-dashboard"] === false ? undefined : {
      host: (v["dashboard-host"] as string | undefined) ?? "127.0.0.1",
      port: num("start", "dashboard-port", v["dashboard-port"]) ?? 8265,
      allowedHosts: (v["dashboard-allowed-hosts"] as string | undefined)?.split(",").map((h) => h.trim()).filter(Boolean),
    };
    const head = await startHead({ tempDir, nodeIp, port, attached: block, labels, minWorkerPort, maxWorkerPort,
      nodeManagerPort, gcsStorage: v["gcs-storage"] as string | undefined, clientServerPort, dashboard, ...res,
      metricsExportPort, metricsAllowUnauthenticated: v["metrics-allow-unauthenticated"] === true });
    daemons = head.daemons;
    if (autoscalingConfig !== undefined) {
      try {
        daemons.push(await startDaemon("monitor", "autoscaler/main.ts", {
          configFile: path.resolve(expandHome(autoscalingConfig)), gcsHost: nodeIp, gcsPort: head.gcsPort, sessionDir: head.sessionDir,
        }, { sessionDir: head.sessionDir, token: head.token, attached: block }));
      } catch (e) {
        for (const d of daemons) { try { d.proc.kill("SIGTERM"); } catch { /* gone */ } }
        throw e;
      }
    }
    const addr = `${nodeIp}:${head.gcsPort}`;
    process.stdout.write(
      `Local node IP: ${nodeIp}\n\n` +
      "--------------------\nStingray runtime started.\n--------------------\n\n" +
      "Next steps\n" +
      "  To add another node to this cluster, run on it (with the token below in its environment):\n" +
      `    export STINGRAY_AUTH_TOKEN=$(stingray get-auth-token)   # run on this head; copy the value over\n` +
      `    stingray start --address='${addr}'\n\n` +
      "  To connect to this cluster from a program on this host:\n" +
      "    import * as ray from \"stingray\";\n" +
      "    await ray.init({ address: \"auto\" });\n\n" +
      "  From another host that runs a node:\n" +
      `    await ray.init({ address: "${addr}" });\n\n` +
      "  From a machine that is not part of the cluster (a laptop), with STINGRAY_AUTH_TOKEN set:\n" +
      `    await ray.init({ address: "stingray://${nodeIp}:${clientServerPort}" });\n\n` +
      "  The cluster's auth token is in " + path.join(head.sessionDir, "auth_token") + " (mode 0600);\n" +
      "  print it with `stingray get-auth-token`. Pass it as STINGRAY_AUTH_TOKEN, never on a command line.\n\n" +
      "  To see the status of the cluster, use\n    stingray status\n\n" +
      (autoscalingConfig !== undefined ? `  The autoscaler runs with ${autoscalingConfig}; its log is ${path.join(head.sessionDir, "logs", "monitor.log")}\n\n` : "") +
      (head.dashboardUrl
        ? `  Dashboard: ${head.dashboardUrl} (API requests need the token: Authorization: Bearer <token>).\n\n`
        : "  The dashboard is off (--include-dashboard=false).\n\n") +
      "  To monitor it with Prometheus (each node exports metrics; the head keeps the list):\n" +
      `    prometheus --config.file=${path.join(path.dirname(head.sessionDir), "session_latest", "metrics", "prometheus", "prometheus.yml")}\n\n` +
      "  To terminate the Stingray runtime, run\n    stingray stop\n");
  } else {
    const m = /^([^:]+):(\d+)$/.exec(String(v.address));
    if (!m) throw new UsageError(`stingray start: --address must be HEAD_IP:PORT, got "${String(v.address)}"`);
    const token = process.env.STINGRAY_AUTH_TOKEN;
    if (!token) {
      throw new UsageError("stingray start: missing auth token: set STINGRAY_AUTH_TOKEN to the cluster's token " +
        "(print it on the head with `stingray get-auth-token`)");
    }
    const gcsHost = m[1]!, gcsPort = Number(m[2]);
    // Check the head is reachable and the token right before starting anything.
    const probe = await connect({ host: gcsHost, port: gcsPort, token, role: "cli", id: "start", retryMs: 0 });
    probe.close();
    const sessionDir = createNodeSession(tempDir, token);
    const { resources, objectStoreMemory } = nodeResources(res);
    const nodeId = randomId(14);
    const raylet = await startDaemon("raylet", "raylet/main.ts", {
      nodeId, nodeIp, host: "0.0.0.0", port: nodeManagerPort ?? 0, gcsHost, gcsPort, sessionDir, isHead: false,
      resources, labels: labels ?? {}, objectStoreMemory, minWorkerPort, maxWorkerPort,
      metricsExportPort: metricsExportPort ?? 0, metricsAllowUnauthenticated: v["metrics-allow-unauthenticated"] === true,
    }, { sessionDir, token, attached: block });
    daemons = [raylet];
    writeClusterFile(sessionDir, { gcsHost, gcsPort, headIp: gcsHost, sessionDir, version: packageVersion(),
      startTime: Date.now(), rayletPort: Number(raylet.ready.port) });
    fs.writeFileSync(path.join(sessionDir, "node_id"), nodeId);
    process.stdout.write(`Local node IP: ${nodeIp}\n\n--------------------\nStingray runtime started.\n--------------------\n\n` +
      "To terminate the Stingray runtime, run\n    stingray stop\n");
  }
  if (!block) return 0;
  process.stdout.write("--block: watching the daemons; Ctrl-C stops them.\n");
  return new Promise<number>((resolve) => {
    let done = false;
    const stopAll = (code: number): void => {
      if (done) return;
      done = true;
      for (const d of daemons) { try { d.proc.kill("SIGTERM"); } catch { /* gone */ } }
      resolve(code);
    };
    for (const d of daemons) {
      d.proc.ref();
      d.proc.once("exit", (code, sig) => {
        process.stderr.write(`${d.name} (pid ${d.pid}) exited (${sig ?? `code ${code}`}); stopping this node.\n`);
        stopAll(1);
      });
    }
    process.once("SIGINT", () => stopAll(0));
    process.once("SIGTERM", () => stopAll(0));
  });
}
