/**
 * @module dashboard/main
 * Entry point of the dashboard process on the head: `node src/dashboard/main.ts '<options json>'`.
 */
import path from "node:path";
import { DashboardServer } from "./server.ts";
import { daemonOptions, daemonToken, onShutdown, signalReady } from "../node/daemon.ts";
import { packageVersion } from "../node/launcher.ts";

interface Options { host: string; port: number; sessionDir: string; watchParent: boolean; allowedHosts?: string[] }

const opts = daemonOptions<Options>();
const server = new DashboardServer({
  host: opts.host, port: opts.port, token: daemonToken(opts.sessionDir), sessionName: path.basename(opts.sessionDir),
  version: packageVersion(), allowedHosts: opts.allowedHosts,
});
try {
  await server.start();
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  process.stderr.write(err.code === "EADDRINUSE"
    ? `dashboard port ${opts.port} is already in use: pick another with --dashboard-port, or --include-dashboard=false\n`
    : `dashboard failed to start: ${err.stack ?? err.message}\n`);
  process.exit(2);
}
onShutdown(async () => { await server.stop(); }, opts.watchParent);
signalReady({ port: server.port, pid: process.pid });
