/**
 * @module dashboard/main
 * Entry point of the dashboard process on the head: `node src/dashboard/main.ts '<options json>'`.
 */
import path from "node:path";
import { DashboardServer } from "./server.ts";
import { daemonOptions, daemonToken, onShutdown, signalReady } from "../node/daemon.ts";
import { packageVersion } from "../node/launcher.ts";

interface Options {
  host: string; port: number; sessionDir: string; watchParent: boolean; allowedHosts?: string[];
  fallbackToFreePort?: boolean;
}

const opts = daemonOptions<Options>();
const make = (port: number): DashboardServer => new DashboardServer({
  host: opts.host, port, token: daemonToken(opts.sessionDir), sessionName: path.basename(opts.sessionDir),
  version: packageVersion(), allowedHosts: opts.allowedHosts,
});
let server = make(opts.port);
try {
  try {
    await server.start();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EADDRINUSE" || !opts.fallbackToFreePort) throw e;
    server = make(0);
    await server.start();
  }
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  process.stderr.write(err.code === "EADDRINUSE"
    ? `dashboard port ${opts.port} is already in use: pick another with --dashboard-port, or --include-dashboard=false\n`
    : `dashboard failed to start: ${err.stack ?? err.message}\n`);
  process.exit(2);
}
onShutdown(async () => { await server.stop(); }, opts.watchParent);
signalReady({ port: server.port, pid: process.pid });
