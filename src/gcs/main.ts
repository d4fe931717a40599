/**
 * @module gcs/main
 * Entry point of the GCS process: `node src/gcs/main.ts '<options json>'`.
 */
import path from "node:path";
import { GcsServer } from "./server.ts";
import { MemoryStorage, SqliteStorage, type GcsStorage } from "./storage.ts";
import { daemonOptions, daemonToken, onShutdown, signalReady } from "../node/daemon.ts";
import { config } from "../common/config.ts";

interface Options { host: string; port: number; sessionDir: string; watchParent: boolean; storage?: string }

const opts = daemonOptions<Options>();
const kind = opts.storage ?? config("gcs_storage");
const storage: GcsStorage = kind === "sqlite"
  ? new SqliteStorage(path.join(opts.sessionDir, "gcs.sqlite")) : new MemoryStorage();
const gcs = new GcsServer({
  host: opts.host, port: opts.port, token: daemonToken(opts.sessionDir), storage,
  serviceDiscoveryFile: path.join(opts.sessionDir, "prom_metrics_service_discovery.json"),
});
try {
  await gcs.start();
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  process.stderr.write(err.code === "EADDRINUSE"
    ? `port ${opts.port} is already in use (is a Stingray head already running? stop it with \`stingray stop\`, or pick --port)\n`
    : `GCS failed to start: ${err.stack ?? err.message}\n`);
  process.exit(2);
}
onShutdown(async () => { await gcs.stop(); }, opts.watchParent);
signalReady({ port: gcs.port, pid: process.pid });
