/**
 * @module client/server
 * The client server on the head (port 10001 by default, Ray Client's role): remote drivers
 * connect here with the cluster token, and each gets its own proxy driver process on the head
 * (`client/proxy_main.ts`) that owns its objects and actors. This server relays every `client.*`
 * request to that proxy and stops the proxy when the client disconnects, which ends its job.
 */
import { listen, connect, type Connection, type RpcServer } from "../protocol/connection.ts";
import type { MethodName, Req } from "../protocol/messages.ts";
import { startDaemon, type DaemonHandle } from "../node/launcher.ts";
import { logger } from "../common/log.ts";
import { ProtocolError } from "../common/errors.ts";

const log = logger("client_server");

export interface ClientServerOptions {
  host: string;
  port: number;
  token: string;
  gcsHost: string;
  gcsPort: number;
  rayletPort: number;
  nodeId: string;
  nodeIp: string;
  sessionDir: string;
  workerPorts?: [number, number] | undefined;
}

export class ClientServer {
  private rpc: RpcServer | undefined;
  private proxies = new Set<DaemonHandle>();
  private n = 0;
  private o: ClientServerOptions;
  constructor(o: ClientServerOptions) { this.o = o; }

  get port(): number { return this.rpc?.port ?? 0; }

  async start(): Promise<void> {
    this.rpc = await listen({
      host: this.o.host, port: this.o.port, token: this.o.token,
      onConnection: (c) => this.accept(c),
      onAuthFailure: (remote, reason) => log.warn(`rejected client ${remote}: ${reason}`),
    });
    log.info(`client server listening on ${this.o.host}:${this.rpc.port}`);
    // Drivers that find no node on their machine look this up to connect as remote clients.
    const gcs = await connect({ host: this.o.gcsHost, port: this.o.gcsPort, token: this.o.token, role: "client_server",
      id: "client_server", retryMs: 5000 });
    await gcs.request("gcs.KvPut", { ns: "cluster", key: "client_server", value: Buffer.from(`${this.o.nodeIp}:${this.rpc.port}`), overwrite: true });
    gcs.close();
  }

  async stop(): Promise<void> {
    for (const p of this.proxies) p.proc.kill("SIGTERM");
    await this.rpc?.close();
  }

  private accept(client: Connection): void {
    let proxy: { handle: DaemonHandle; conn: Connection } | undefined;
    let starting: Promise<unknown> | undefined;
    client.onRequest = async (method: MethodName, payload: unknown) => {
      if (method === "client.Connect") {
        if (starting) throw new ProtocolError("client.Connect was already sent on this connection");
        const p = payload as Req<"client.Connect">;
        starting = this.startProxy(client, p).then((x) => { proxy = x; });
        await starting;
        const ready = proxy!.handle.ready as { port: number; jobId: string; workerId: string };
        return { jobId: ready.jobId, nodeId: this.o.nodeId, nodeIp: this.o.nodeIp, namespace: p.namespace,
          proxy: { nodeId: this.o.nodeId, host: this.o.nodeIp, port: ready.port, workerId: ready.workerId } };
      }
      if (!method.startsWith("client.")) throw new ProtocolError(`the client server does not serve ${method}`);
      if (!proxy) throw new ProtocolError("send client.Connect first");
      return proxy.conn.request(method as "client.Nodes", payload as Req<"client.Nodes">);
    };
    client.once("close", () => {
      if (proxy) {
        proxy.conn.close();
        proxy.handle.proc.kill("SIGTERM");
      }
    });
  }

  private async startProxy(client: Connection, p: Req<"client.Connect">): Promise<{ handle: DaemonHandle; conn: Connection }> {
    const clientIp = client.remote.replace(/:\d+$/, "");
    const handle = await startDaemon(`client_proxy_${++this.n}`, "client/proxy_main.ts", {
      gcsHost: this.o.gcsHost, gcsPort: this.o.gcsPort, rayletHost: this.o.nodeIp, rayletPort: this.o.rayletPort,
      nodeId: this.o.nodeId, nodeIp: this.o.nodeIp, sessionDir: this.o.sessionDir, namespace: p.namespace,
      workerPorts: this.o.workerPorts, clientIp,
    }, { sessionDir: this.o.sessionDir, token: this.o.token, attached: true },
    p.envVars ? { ...process.env, ...p.envVars } : undefined);
    this.proxies.add(handle);
    handle.proc.once("exit", () => { this.proxies.delete(handle); client.close(); });
    const conn = await connect({ host: this.o.nodeIp, port: Number(handle.ready.port), token: this.o.token,
      role: "client_server", id: `client-${this.n}` });
    conn.once("close", () => client.close());
    log.info(`client ${clientIp} connected; proxy driver pid ${handle.pid}, job ${String(handle.ready.jobId)}`);
    return { handle, conn };
  }
}
