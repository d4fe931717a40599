/**
 * @module common/http_server
 * Starting and stopping the HTTP servers Stingray runs (the dashboard, each node's /metrics):
 * listen with request timeouts, report the bound port, and close every open connection on stop.
 */
import http from "node:http";

export async function listenHttp(handler: http.RequestListener, host: string, port: number,
  timeouts: { headersMs: number; requestMs: number }): Promise<http.Server> {
  const server = http.createServer(handler);
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = timeouts.requestMs;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => { server.off("error", reject); resolve(); });
  });
  return server;
}

/** The port a server is bound to (0 when it is not listening). */
export function boundPort(server: http.Server | undefined): number {
  const a = server?.address();
  return typeof a === "object" && a ? a.port : 0;
}

export async function closeHttp(server: http.Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
