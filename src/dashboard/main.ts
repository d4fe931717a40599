/**
 * @module dashboard/main
 * Entry point of the dashboard process on the head: `node src/dashboard/main.ts '<options json>'`.
 * It serves HTTP at once (started in parallel with the GCS and the raylet), then connects to the
 * GCS for the state API, and starts its own driver (a core worker in an internal namespace) for
 * the job API's supervisor actors once the head's raylet has registered.
 */
import path from "node:path";
import { DashboardServer } from "./server.ts";
import { GcsClusterSource } from "./cluster.ts";
import { registerStateRoutes, INTERNAL_NAMESPACE_PREFIX } from "./state.ts";
import { JobManager, registerJobRoutes } from "./jobs.ts";
import { MetricsHistoryStore } from "./metrics_history.ts";
import { staticFiles, WEB_UI_DIR } from "./static.ts";
import { daemonOptions, daemonToken, onShutdown, signalReady } from "../node/daemon.ts";
import { packageVersion } from "../node/launcher.ts";
import { logger } from "../common/log.ts";
import type { CoreWorker } from "../worker/core_worker.ts";

interface Options {
  host: string; port: number; sessionDir: string; watchParent: boolean; allowedHosts?: string[];
  fallbackToFreePort?: boolean; nodeId: string; nodeIp: string; gcsHost: string; gcsPort: number;
}

const log = logger("dashboard");
const opts = daemonOptions<Options>();
const token = daemonToken(opts.sessionDir);
const sessionName = path.basename(opts.sessionDir);
const version = packageVersion();
// The web UI's files (built by `npm run build:ui`).
const ui = staticFiles(WEB_UI_DIR);
const make = (port: number): DashboardServer => new DashboardServer({
  host: opts.host, port, token, sessionName, version, allowedHosts: opts.allowedHosts, staticFiles: ui,
});
let server = make(opts.port);

const sourceP = GcsClusterSource.connect({ gcsHost: opts.gcsHost, gcsPort: opts.gcsPort, token, retryMs: 30_000 });
/** The cluster source for routes: each call waits for the GCS connection. */
const lazy = new Proxy({} as GcsClusterSource, {
  get: (_t, prop) => async (...args: unknown[]) => {
    const src = await sourceP;
    return (src as unknown as Record<string, (...a: unknown[]) => unknown>)[prop as string]!.apply(src, args);
  },
});
let driverP: Promise<CoreWorker> | undefined;
/** The dashboard's own driver, started on first use (the job API). */
function driver(): Promise<CoreWorker> {
  driverP ??= (async () => {
    const source = await sourceP;
    const gcs = source.connection;
    let head;
    for (let i = 0; i < 300 && !head; i++) {
      head = (await source.nodes()).find((n) => n.nodeId === opts.nodeId && n.state === "ALIVE");
      if (!head) await new Promise((r) => setTimeout(r, 100));
    }
    if (!head) throw new Error("the head node's raylet did not register");
    const { startDriver } = await import("./job_driver.ts");
    const cw = await startDriver({
      gcs, head, token, namespace: `${INTERNAL_NAMESPACE_PREFIX}_dashboard`, nodeIp: opts.nodeIp, sessionDir: opts.sessionDir,
    });
    return cw;
  })();
  driverP.catch((e: unknown) => { log.error(`the dashboard's driver failed: ${(e as Error).message}`); driverP = undefined; });
  return driverP;
}

function wire(s: DashboardServer): void {
  const jobs = new JobManager(lazy, driver);
  registerJobRoutes(s, jobs, lazy);
  registerStateRoutes(s, { source: lazy, sessionName, version, submissions: () => jobs.list() });
  s.route("GET", "/api/metrics/history", async (req) => {
    const since = req.query.get("since");
    return { status: 200, json: await history.history(since ? Number(since) : undefined) };
  });
}

const history = new MetricsHistoryStore(lazy);

wire(server);
try {
  try {
    await server.start();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EADDRINUSE" || !opts.fallbackToFreePort) throw e;
    server = make(0);
    wire(server);
    await server.start();
  }
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  process.stderr.write(err.code === "EADDRINUSE"
    ? `dashboard port ${opts.port} is already in use: pick another with --dashboard-port, or --include-dashboard=false\n`
    : `dashboard failed to start: ${err.stack ?? err.message}\n`);
  process.exit(2);
}
sourceP.then((s) => s.connection.once("close", () => {
  log.warn("lost the GCS connection; exiting");
  process.exit(1);
}), (e: unknown) => {
  log.error(`could not connect to the GCS at ${opts.gcsHost}:${opts.gcsPort}: ${(e as Error).message}`);
  process.exit(1);
});
onShutdown(async () => {
  history.stop();
  if (driverP) await (await driverP.catch(() => undefined))?.shutdown();
  await server.stop();
  (await sourceP.catch(() => undefined))?.close();
}, opts.watchParent);
history.start();
signalReady({ port: server.port, pid: process.pid });
