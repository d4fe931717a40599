/**
 * @module node/launcher
 * Starts a node's daemons as separate processes: the GCS (head only) and the raylet. Used by the
 * driver's `init()` for a local cluster (daemons die with the driver: their stdin is a pipe from
 * it) and by `stingray start` (detached daemons that outlive the CLI). Each daemon's stderr goes
 * to `<session>/logs/<name>.log`; it signals readiness with a `READY {...}` line on stdout.
 */
import fs from "node:fs";
import path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { randomId } from "../common/ids.ts";
import { RuntimeStateError } from "../common/errors.ts";
import { createSession, writeClusterFile } from "./session.ts";
import { writeMonitoringConfig } from "../metrics/config_files.ts";
import { nodeResources, type NodeResourceOptions } from "./resources.ts";
import { withCompileCache } from "./compile_cache.ts";

const SRC = fileURLToPath(new URL("..", import.meta.url));
const PKG_VERSION = (JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

export interface DaemonHandle {
  name: string;
  proc: ChildProcess;
  pid: number;
  ready: Record<string, unknown>;
}

export interface LaunchOptions {
  sessionDir: string;
  token: string;
  /** Die with this process (local clusters of `init()`). */
  attached: boolean;
}

export async function startDaemon(name: string, script: string, options: Record<string, unknown>,
  l: LaunchOptions, env: NodeJS.ProcessEnv = process.env): Promise<DaemonHandle> {
  const logFile = path.join(l.sessionDir, "logs", `${name}.log`);
  const errFd = fs.openSync(logFile, "a");
  const proc = spawn(process.execPath, [path.join(SRC, script), JSON.stringify({ ...options, watchParent: l.attached })], {
    stdio: [l.attached ? "pipe" : "ignore", "pipe", errFd],
    env: { ...withCompileCache(env), STINGRAY_AUTH_TOKEN: l.token },
    detached: !l.attached,
  });
  fs.closeSync(errFd);
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buf = "";
    const onData = (c: Buffer): void => {
      buf += c.toString();
      const m = /READY (.*)\n/.exec(buf);
      if (m) {
        proc.stdout?.off("data", onData);
        resolve(JSON.parse(m[1]!) as Record<string, unknown>);
      }
    };
    proc.stdout?.on("data", onData);
    proc.once("exit", (code) => {
      let tail = "";
      try { tail = fs.readFileSync(logFile, "utf8").trim().split("\n").slice(-5).join("\n"); } catch { /* none */ }
      reject(new RuntimeStateError(`${name} exited during start-up (code ${code}): ${tail || "no output"} (log: ${logFile})`));
    });
  });
  proc.removeAllListeners("exit");
  if (!l.attached) {
    proc.stdout?.destroy();
    proc.unref();
  } else {
    (proc.stdin as NodeJS.WritableStream & { unref?: () => void } | null)?.on("error", () => {});
    const s = proc.stdout as unknown as { unref?: () => void } | null;
    s?.unref?.();
    const si = proc.stdin as unknown as { unref?: () => void } | null;
    si?.unref?.();
    proc.unref();
  }
  return { name, proc, pid: proc.pid ?? -1, ready };
}

export interface HeadOptions extends NodeResourceOptions {
  tempDir: string;
  nodeIp: string;
  bindHost?: string | undefined;
  port: number;                 // GCS port (0: any)
  nodeManagerPort?: number | undefined;
  labels?: Record<string, string> | undefined;
  attached: boolean;
  minWorkerPort?: number | undefined;
  maxWorkerPort?: number | undefined;
  gcsStorage?: string | undefined;
  /** Start the remote-client server on this port (Ray Client's 10001); off when undefined. */
  clientServerPort?: number | undefined;
  /** Each node's Prometheus endpoint (0 or undefined: any free port; -1: off). */
  metricsExportPort?: number | undefined;
  metricsAllowUnauthenticated?: boolean | undefined;
  /** The dashboard (HTTP, default 127.0.0.1:8265); off when undefined. */
  dashboard?: {
    host: string; port: number; allowedHosts?: string[] | undefined;
    /** Use any free port when `port` is taken (a local cluster of init()); else that is an error. */
    fallbackToFreePort?: boolean | undefined;
  } | undefined;
}

export interface HeadHandle {
  sessionDir: string;
  token: string;
  nodeId: string;
  gcsHost: string;
  gcsPort: number;
  rayletPort: number;
  daemons: DaemonHandle[];
  dashboardUrl?: string | undefined;
}

/** Start the head node: GCS and raylet, in parallel. */
export async function startHead(o: HeadOptions): Promise<HeadHandle> {
  const { sessionDir, token, discard } = createSession(o.tempDir);
  const metricsPort = o.metricsExportPort === -1 ? undefined : o.metricsExportPort ?? 0;
  writeMonitoringConfig(sessionDir, { allowUnauthenticated: o.metricsAllowUnauthenticated ?? false });
  const l: LaunchOptions = { sessionDir, token, attached: o.attached };
  const nodeId = randomId(14);
  const host = o.bindHost ?? (o.nodeIp === "127.0.0.1" ? "127.0.0.1" : "0.0.0.0");
  const port = o.port || await freePort(host);
  const { resources, objectStoreMemory } = nodeResources(o);
  const gcsP = startDaemon("gcs_server", "gcs/main.ts", { host, port, sessionDir, storage: o.gcsStorage }, l);
  const rayletP = startDaemon("raylet", "raylet/main.ts", {
    nodeId, nodeIp: o.nodeIp, host, port: o.nodeManagerPort ?? 0, gcsHost: o.nodeIp === "127.0.0.1" ? "127.0.0.1" : o.nodeIp,
    gcsPort: port, sessionDir, isHead: true, resources, labels: o.labels ?? {}, objectStoreMemory,
    minWorkerPort: o.minWorkerPort, maxWorkerPort: o.maxWorkerPort,
    metricsExportPort: metricsPort, metricsAllowUnauthenticated: o.metricsAllowUnauthenticated,
  }, l);
  const dashP = o.dashboard && startDaemon("dashboard", "dashboard/main.ts", {
    host: o.dashboard.host, port: o.dashboard.port, sessionDir, allowedHosts: o.dashboard.allowedHosts,
    fallbackToFreePort: o.dashboard.fallbackToFreePort, nodeId, nodeIp: o.nodeIp,
    gcsHost: o.nodeIp === "127.0.0.1" ? "127.0.0.1" : o.nodeIp, gcsPort: port,
  }, l);
  const results = await Promise.allSettled(dashP ? [gcsP, rayletP, dashP] : [gcsP, rayletP]);
  const daemons = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = results.find((r) => r.status === "rejected");
  if (failed) {
    for (const d of daemons) d.proc.kill("SIGKILL");
    discard();
    throw failed.reason;
  }
  const [gcs, raylet, dash] = daemons as [DaemonHandle, DaemonHandle, DaemonHandle | undefined];
  const dashboardUrl = dash && o.dashboard
    ? `http://${o.dashboard.host === "0.0.0.0" ? o.nodeIp : o.dashboard.host}:${Number(dash.ready.port)}` : undefined;
  const gcsHost = o.nodeIp;
  let clientServer: DaemonHandle | undefined;
  if (o.clientServerPort !== undefined) {
    try {
      clientServer = await startDaemon("client_server", "client/server_main.ts", {
        host, port: o.clientServerPort, gcsHost: o.nodeIp, gcsPort: Number(gcs.ready.port), rayletPort: Number(raylet.ready.port),
        nodeId, nodeIp: o.nodeIp, sessionDir,
        workerPorts: o.minWorkerPort && o.maxWorkerPort ? [o.minWorkerPort, o.maxWorkerPort] : undefined,
      }, l);
      daemons.push(clientServer);
    } catch (e) {
      for (const d of daemons) d.proc.kill("SIGKILL");
      discard();
      throw e;
    }
  }
  writeClusterFile(sessionDir, {
    gcsHost, gcsPort: Number(gcs.ready.port), headIp: o.nodeIp, sessionDir, version: PKG_VERSION,
    startTime: Date.now(), rayletPort: Number(raylet.ready.port),
    clientServerPort: clientServer ? Number(clientServer.ready.port) : undefined, dashboardUrl,
  });
  return { sessionDir, token, nodeId, gcsHost, gcsPort: Number(gcs.ready.port), rayletPort: Number(raylet.ready.port), daemons, dashboardUrl };
}

async function freePort(host: string): Promise<number> {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const a = s.address();
      const p = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(p));
    });
  });
}

export function packageVersion(): string { return PKG_VERSION; }
