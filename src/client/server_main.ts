/**
 * @module client/server_main
 * Entry point of the client server daemon (started on the head by `stingray start --head`).
 */
import { ClientServer, type ClientServerOptions } from "./server.ts";
import { daemonOptions, daemonToken, onShutdown, signalReady } from "../node/daemon.ts";

type Options = Omit<ClientServerOptions, "token"> & { watchParent: boolean };
const o = daemonOptions<Options>();
const server = new ClientServer({ ...o, token: daemonToken(o.sessionDir) });
try {
  await server.start();
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  process.stderr.write(err.code === "EADDRINUSE"
    ? `port ${o.port} is already in use; pick another --client-server-port\n`
    : `client server failed to start: ${err.message}\n`);
  process.exit(2);
}
onShutdown(async () => { await server.stop(); }, o.watchParent);
signalReady({ port: server.port, pid: process.pid });
