/**
 * @module metrics/exporter
 * A node's Prometheus endpoint (`--metrics-export-port`): `GET /metrics` in the text exposition
 * format, refreshed by `collect()` on each scrape. It needs the cluster token as a bearer
 * credential (the generated prometheus.yml sends it from a 0600 file) unless the node was started
 * with `--metrics-allow-unauthenticated`.
 */
import type http from "node:http";
import { boundPort, closeHttp, listenHttp } from "../common/http_server.ts";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Registry } from "prom-client";

function digest(s: string): Buffer { return createHash("sha256").update(s).digest(); }

export interface ExporterOptions {
  host: string;
  port: number;
  token: string;
  allowUnauthenticated: boolean;
  registry: Registry;
  /** Update the gauges before a scrape is answered. */
  collect(): Promise<void>;
}

export class MetricsExporter {
  private server: http.Server | undefined;
  private o: ExporterOptions;

  constructor(o: ExporterOptions) { this.o = o; }

  get port(): number { return boundPort(this.server); }

  async start(): Promise<void> {
    this.server = await listenHttp((req, res) => { void this.handle(req, res); }, this.o.host, this.o.port,
      { headersMs: 10_000, requestMs: 30_000 });
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await closeHttp(s);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" || (path !== "/metrics" && path !== "/")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("only GET /metrics is served here\n");
      return;
    }
    if (!this.o.allowUnauthenticated) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
      const given = m?.[1];
      if (given === undefined || !timingSafeEqual(digest(given), digest(this.o.token))) {
        res.writeHead(401, { "content-type": "text/plain", "www-authenticate": 'Bearer realm="stingray"' })
          .end(given === undefined
            ? "missing auth token: scrape with `authorization: {credentials_file: ...}` (the generated prometheus.yml does), or start nodes with --metrics-allow-unauthenticated\n"
            : "wrong auth token: use this cluster's token (`stingray get-auth-token` on the head)\n");
        return;
      }
    }
    try {
      await this.o.collect();
      const body = await this.o.registry.metrics();
      res.writeHead(200, { "content-type": this.o.registry.contentType }).end(body);
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" }).end(`collecting metrics failed: ${(e as Error).message}\n`);
    }
  }
}
