/**
 * @module api/init
 * `init()` and `shutdown()`: connect this process (the driver) to a cluster, starting a local one
 * when no address is given. A local cluster's daemons are children of the driver and exit with
 * it, even if it crashes (their stdin is a pipe from the driver).
 */
import os from "node:os";
import { connect, localSocketName, type Connection } from "../protocol/connection.ts";
import { CoreWorker } from "../worker/core_worker.ts";
import { ClientRuntime } from "../client/client.ts";
import { maybeRuntime, setRuntime } from "../worker/runtime.ts";
import { startHead, type DaemonHandle } from "../node/launcher.ts";
import { defaultTempDir, readClusterFile, readToken } from "../node/session.ts";
import { config, setConfig } from "../common/config.ts";
import { randomId } from "../common/ids.ts";
import { AuthError, RuntimeStateError, ValueError } from "../common/errors.ts";

export interface InitOptions {
  /** undefined: start a local cluster; "auto": the cluster running on this host; "host:port": a GCS. */
  address?: string;
  /** Ray's old name for `address` (seed 000: `ray.init(redis_address=...)`). */
  redisAddress?: string;
  numCpus?: number;
  numGpus?: number;
  resources?: Record<string, number>;
  objectStoreMemory?: number;
  namespace?: string;
  runtimeEnv?: { envVars?: Record<string, string> };
  includeDashboard?: boolean;
  dashboardHost?: string;
  dashboardPort?: number;
  tempDir?: string;
  logToDriver?: boolean;
  /** Token of the cluster (else STINGRAY_AUTH_TOKEN, else the local session's token file). */
  authToken?: string;
  /** Return quietly if already initialised (Ray's ignore_reinit_error). */
  ignoreReinitError?: boolean;
}

export interface InitInfo {
  address: string;
  /** The dashboard of a local cluster this init() started (Ray's `dashboard_url`). */
  dashboardUrl?: string | undefined;
  sessionDir: string;
  nodeId: string;
  jobId: string;
  namespace: string;
}

interface DriverState {
  cw: CoreWorker;
  gcs: Connection;
  raylet: Connection;
  daemons: DaemonHandle[];
  info: InitInfo;
  exitHook: () => void;
}

let state: DriverState | undefined;
/** A remote-client session (address "stingray://HOST:PORT"): no node on this machine. */
let clientState: { client: ClientRuntime; info: InitInfo } | undefined;

function localIps(): Set<string> {
  const s = new Set<string>(["127.0.0.1"]);
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) s.add(a.address);
  return s;
}

function parseAddress(a: string): { host: string; port: number } {
  const m = /^(?:stingray:\/\/)?\[?([^\]]+?)\]?:(\d+)$/.exec(a.trim());
  if (!m) throw new ValueError(`init(): address "${a}" is not HOST:PORT (for example "10.0.0.1:6379"), "auto", or omitted for a local cluster`);
  return { host: m[1]!, port: Number(m[2]) };
}

export async function init(o: InitOptions = {}): Promise<InitInfo> {
  if (state || clientState) {
    if (o.ignoreReinitError) return (state ?? clientState)!.info;
    throw new RuntimeStateError("init() was already called in this process; call shutdown() first, or pass ignoreReinitError: true");
  }
  if (maybeRuntime()) {
    throw new RuntimeStateError("init() was called inside a Stingray worker. Code that runs on workers must not call " +
      "init(): keep init() and the driver's main logic out of the functions and classes you pass to remote()");
  }
  if (o.logToDriver !== undefined) setConfig("log_to_driver", o.logToDriver);
  const tempDir = o.tempDir ?? defaultTempDir();
  // "auto" means the cluster this process was started in when there is one (a submitted job's
  // supervisor sets STINGRAY_ADDRESS), as Ray's RAY_ADDRESS; else the newest cluster on this host.
  const given = o.address ?? o.redisAddress;
  const address = given === "auto" && process.env.STINGRAY_ADDRESS ? process.env.STINGRAY_ADDRESS : given ?? process.env.STINGRAY_ADDRESS;
  if (address?.startsWith("stingray://")) return initClient(address, o);
  let gcsHost: string, gcsPort: number, token: string, sessionDir: string, rayletPort: number | undefined;
  let daemons: DaemonHandle[] = [];
  let nodeIp = "127.0.0.1";
  let dashboardUrl: string | undefined;
  if (!address) {
    // Like Ray's init(): a dashboard on 127.0.0.1:8265, or on another free port when 8265 is taken
    // (another local cluster), unless the caller gave a port.
    const dashboard = o.includeDashboard === false ? undefined
      : { host: o.dashboardHost ?? "127.0.0.1", port: o.dashboardPort ?? 8265, fallbackToFreePort: o.dashboardPort === undefined };
    const head = await startHead({
      tempDir, nodeIp: "127.0.0.1", port: 0, attached: true, numCpus: o.numCpus, numGpus: o.numGpus,
      resources: o.resources, objectStoreMemory: o.objectStoreMemory, dashboard,
    });
    ({ gcsHost, gcsPort, token, sessionDir, rayletPort } = head);
    dashboardUrl = head.dashboardUrl;
    daemons = head.daemons;
  } else if (address === "auto") {
    const c = readClusterFile(tempDir);
    ({ gcsHost, gcsPort, sessionDir, rayletPort, token } = c);
    nodeIp = c.headIp;
    token = o.authToken ?? process.env.STINGRAY_AUTH_TOKEN ?? token;
  } else {
    ({ host: gcsHost, port: gcsPort } = parseAddress(address));
    let fileToken: string | undefined;
    try {
      const c = readClusterFile(tempDir);
      if (c.gcsPort === gcsPort) { fileToken = c.token; sessionDir = c.sessionDir; }
    } catch { /* no local session */ }
    sessionDir ??= tempDir;
    const t = o.authToken ?? process.env.STINGRAY_AUTH_TOKEN ?? fileToken;
    if (!t) {
      throw new AuthError(`init(): no auth token for the cluster at ${address}: set STINGRAY_AUTH_TOKEN ` +
        "(run `stingray get-auth-token` on the head to print it) or pass init({ authToken })");
    }
    token = t;
  }
  const workerId = randomId(12);
  const gcs = await connect({ host: gcsHost, port: gcsPort, token, role: "driver", id: workerId, retryMs: 2000 });
  const { nodes } = await gcs.request("gcs.GetAllNodes", {});
  const ips = localIps();
  const local = nodes.find((n) => n.state === "ALIVE" && (rayletPort ? n.port === rayletPort && ips.has(n.ip) : ips.has(n.ip)));
  if (!local) {
    // No node here: drive the cluster as a remote client through the head's client server.
    const { value } = await gcs.request("gcs.KvGet", { ns: "cluster", key: "client_server" });
    gcs.close();
    if (value) return initClient(`stingray://${Buffer.from(value).toString()}`, { ...o, authToken: token });
    throw new RuntimeStateError(`init(): the cluster at ${gcsHost}:${gcsPort} has no node on this host; start one with ` +
      `\`stingray start --address=${gcsHost}:${gcsPort}\`, or connect through a remote client address (stingray://HEAD:10001)`);
  }
  nodeIp = local.ip;
  if (!sessionDir! || sessionDir === tempDir) sessionDir = local.sessionDir;
  const raylet = await connect({ host: local.ip, port: local.port, token, role: "driver", id: workerId,
    localName: localSocketName(token, local.nodeId, "raylet") });
  const namespace = o.namespace ?? "default";
  const { jobId } = await gcs.request("gcs.RegisterJob", {
    namespace, driverPid: process.pid, driverIp: nodeIp, entrypoint: process.argv.slice(1).join(" "),
    // Set by the job supervisor when this driver is a submitted job's entrypoint.
    submissionId: process.env.STINGRAY_JOB_SUBMISSION_ID || undefined,
  });
  const cw = new CoreWorker({
    mode: "driver", workerId, jobId, namespace, nodeId: local.nodeId, nodeIp, sessionDir, token, gcs, raylet,
    logToDriver: o.logToDriver ?? config("log_to_driver"),
    portRange: local.workerPorts?.length === 2 ? [local.workerPorts[0]!, local.workerPorts[1]!] : undefined,
  });
  await cw.start();
  setRuntime(cw);
  // If the driver exits without shutdown(), stop the daemons (SIGTERM lets the raylet clean up).
  const exitHook = (): void => { for (const d of daemons) { try { d.proc.kill("SIGTERM"); } catch { /* gone */ } } };
  process.once("exit", exitHook);
  const info: InitInfo = { address: `${gcsHost}:${gcsPort}`, dashboardUrl, sessionDir, nodeId: local.nodeId, jobId, namespace };
  state = { cw, gcs, raylet, daemons, info, exitHook };
  if (o.runtimeEnv?.envVars) defaultEnvVars = o.runtimeEnv.envVars;
  return info;
}

/** Connect as a remote client through the head's client server (Ray Client's role). */
async function initClient(address: string, o: InitOptions): Promise<InitInfo> {
  const { host, port } = parseAddress(address);
  const token = o.authToken ?? process.env.STINGRAY_AUTH_TOKEN;
  if (!token) {
    throw new AuthError(`init(): no auth token for ${address}: set STINGRAY_AUTH_TOKEN ` +
      "(run `stingray get-auth-token` on the head to print it) or pass init({ authToken })");
  }
  const client = await ClientRuntime.connect(host, port, token, o.namespace ?? "default", o.runtimeEnv?.envVars);
  setRuntime(client);
  const info: InitInfo = { address, sessionDir: "", nodeId: client.info.nodeId, jobId: client.info.jobId, namespace: client.info.namespace };
  clientState = { client, info };
  return info;
}

/** Job-level environment variables from init({ runtimeEnv }). */
export let defaultEnvVars: Record<string, string> | undefined;

export function isInitialized(): boolean { return state !== undefined || clientState !== undefined || maybeRuntime() !== undefined; }

/** Disconnect; a local cluster started by init() is stopped, with all its workers. */
export async function shutdown(): Promise<void> {
  if (clientState) {
    const c = clientState;
    clientState = undefined;
    setRuntime(undefined);
    c.client.close();
    return;
  }
  const s = state;
  if (!s) return;
  state = undefined;
  defaultEnvVars = undefined;
  setRuntime(undefined);
  process.off("exit", s.exitHook);
  await s.cw.shutdown();
  await s.gcs.request("gcs.FinishJob", { jobId: s.info.jobId }).catch(() => {});
  s.raylet.close();
  s.gcs.close();
  await Promise.all(s.daemons.map((d) => new Promise<void>((resolve) => {
    if (d.proc.exitCode !== null || d.proc.signalCode !== null) { resolve(); return; }
    const t = setTimeout(() => { d.proc.kill("SIGKILL"); }, config("kill_grace_ms"));
    d.proc.once("exit", () => { clearTimeout(t); resolve(); });
    d.proc.ref(); // keep the event loop alive until the daemon is gone
    d.proc.kill("SIGTERM");
  })));
}

export function driverInfo(): InitInfo | undefined { return (state ?? clientState)?.info; }
export { readToken };
