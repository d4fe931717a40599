/**
 * @module raylet/main
 * Entry point of a raylet process: `node src/raylet/main.ts '<options json>'`.
 */
import { Raylet, type RayletOptions } from "./server.ts";
import { daemonOptions, daemonToken, onShutdown, signalReady } from "../node/daemon.ts";

type Options = Omit<RayletOptions, "token"> & { watchParent: boolean };

const opts = daemonOptions<Options>();
const raylet = new Raylet({ ...opts, token: daemonToken(opts.sessionDir) });
try {
  await raylet.start();
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  process.stderr.write(err.code === "EADDRINUSE"
    ? `port ${opts.port} is already in use; pick another --node-manager-port\n`
    : `raylet failed to start: ${err.message}\n`);
  await raylet.stop().catch(() => {});
  process.exit(2);
}
onShutdown(async () => { await raylet.stop(); }, opts.watchParent);
signalReady({ port: raylet.port, pid: process.pid, nodeId: opts.nodeId });
