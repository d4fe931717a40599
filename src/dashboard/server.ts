/**
 * @module dashboard/server
 * The head's HTTP server (port 8265, bound to 127.0.0.1 unless told otherwise). Every request
 * first passes `checkRequest` (security.ts: Host, cross-site writes, the cluster token); only
 * then is it routed. Routes answer JSON; errors are JSON `{error}` with a status that says what
 * went wrong (400 bad input, 401/403 refused, 404 unknown, 413 too large).
 *
 * Served so far: `GET /api/version`, `POST /api/login` (sets the HttpOnly, SameSite=Strict token
 * cookie the web UI uses) and `POST /api/logout`. The jobs, state and log routes and the web UI
 * register through `route()` as they are built.
 */
import type http from "node:http";
import { boundPort, closeHttp, listenHttp } from "../common/http_server.ts";
import { StingrayError } from "../common/errors.ts";
import { checkRequest, SESSION_COOKIE, tokenMatches, type Denial } from "./security.ts";

export interface DashboardOptions {
  host: string;
  port: number;
  token: string;
  sessionName: string;
  version: string;
  /** Extra host names accepted in the Host header. */
  allowedHosts?: string[];
  /** Largest request body accepted (bytes) unless a route says otherwise. */
  maxBodyBytes?: number;
  /** Serves the web UI's files for GET/HEAD outside /api/ (public: they hold no cluster data). */
  staticFiles?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}

export interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body(): Promise<Buffer>;
  json<T = unknown>(): Promise<T>;
}

export interface Response {
  status: number;
  json?: unknown;
  /** A plain body instead of JSON (`contentType` defaults to text/plain). */
  text?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string | string[]>;
  /** Take over the response (server-sent events); called after the security checks passed. */
  stream?: (res: http.ServerResponse, req: http.IncomingMessage) => void;
}

export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) { super(message); this.status = status; }
}

type RouteHandler = (req: Request) => Response | Promise<Response>;
interface Route { method: string; pattern: RegExp; keys: string[]; handler: RouteHandler; maxBodyBytes: number | undefined }

export class DashboardServer {
  private server: http.Server | undefined;
  private routes: Route[] = [];
  private publicPaths = new Set<string>();
  private opts: DashboardOptions;

  constructor(opts: DashboardOptions) {
    this.opts = opts;
    this.route("GET", "/api/version", () => ({ status: 200, json: {
      version: "1", stingray_version: opts.version, session_name: opts.sessionName } }));
    this.route("POST", "/api/login", async (req) => {
      const token = await loginToken(req);
      if (!tokenMatches(token, opts.token)) {
        throw new HttpError(401, "wrong auth token: print the cluster's token on the head with `stingray get-auth-token`");
      }
      return { status: 204, headers: { "set-cookie": `${SESSION_COOKIE}=${encodeURIComponent(token!)}; HttpOnly; SameSite=Strict; Path=/` } };
    }, { public: true });
    this.route("POST", "/api/logout", () => ({ status: 204,
      headers: { "set-cookie": `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` } }));
  }

  /** Add a route; `:name` segments become `req.params.name`. */
  route(method: string, path: string, handler: RouteHandler, o: { public?: boolean; maxBodyBytes?: number } = {}): void {
    const keys: string[] = [];
    const pattern = new RegExp("^" + path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:(\w+)/g, (_m, k: string) => {
      keys.push(k);
      return "([^/]+)";
    }) + "$");
    this.routes.push({ method, pattern, keys, handler, maxBodyBytes: o.maxBodyBytes });
    if (o.public) this.publicPaths.add(path);
  }

  get port(): number { return boundPort(this.server); }

  async start(): Promise<void> {
    this.server = await listenHttp((req, res) => { void this.handle(req, res); }, this.opts.host, this.opts.port,
      { headersMs: 20_000, requestMs: 60_000 });
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await closeHttp(s);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://dashboard");
    } catch {
      send(res, { status: 400, json: { error: "malformed request URL" } });
      return;
    }
    const path = url.pathname;
    const isStatic = (method === "GET" || method === "HEAD") && !path.startsWith("/api/") && path !== "/api";
    const denial: Denial | undefined = checkRequest({ method, path, headers: req.headers }, {
      token: this.opts.token, allowedHosts: this.opts.allowedHosts ?? [], publicPaths: (p) => this.publicPaths.has(p) || (isStatic && this.opts.staticFiles !== undefined),
    });
    if (denial) {
      req.resume();
      send(res, { status: denial.status, json: { error: denial.error },
        headers: denial.status === 401 ? { "www-authenticate": 'Bearer realm="stingray"' } : {} });
      return;
    }
    if (isStatic && this.opts.staticFiles?.(req, res)) return;
    let matched: { route: Route; m: RegExpExecArray } | undefined;
    let otherMethod = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      if (route.method !== method) { otherMethod = true; continue; }
      matched = { route, m };
      break;
    }
    if (!matched) {
      req.resume();
      send(res, otherMethod
        ? { status: 405, json: { error: `${method} is not allowed on ${path}` } }
        : { status: 404, json: { error: `no such route: ${method} ${path}` } });
      return;
    }
    const params: Record<string, string> = {};
    matched.route.keys.forEach((k, i) => { params[k] = decodeURIComponent(matched.m[i + 1]!); });
    const limit = matched.route.maxBodyBytes ?? this.opts.maxBodyBytes ?? 1 << 20;
    let bodyP: Promise<Buffer> | undefined;
    const body = (): Promise<Buffer> => (bodyP ??= readBody(req, limit));
    const request: Request = {
      method, path, query: url.searchParams, params, headers: req.headers, body,
      json: async <T>() => {
        const b = await body();
        try { return JSON.parse(b.toString("utf8") || "null") as T; } catch { throw new HttpError(400, "the request body is not valid JSON"); }
      },
    };
    try {
      const r = await matched.route.handler(request);
      if (r.stream) { r.stream(res, req); return; }
      send(res, r);
    } catch (e) {
      if (e instanceof HttpError) send(res, { status: e.status, json: { error: e.message } });
      else if (e instanceof StingrayError) send(res, { status: statusOf(e), json: { error: e.message } });
      else send(res, { status: 500, json: { error: `internal error: ${(e as Error).message}` } });
    }
  }
}

async function loginToken(req: Request): Promise<string | undefined> {
  const type = String(req.headers["content-type"] ?? "");
  if (type.startsWith("application/x-www-form-urlencoded")) {
    return new URLSearchParams((await req.body()).toString("utf8")).get("token") ?? undefined;
  }
  const j = await req.json<{ token?: unknown }>();
  return typeof j?.token === "string" ? j.token : undefined;
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(new HttpError(413, `request body of ${declared} bytes is over the limit of ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let n = 0;
    req.on("data", (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        req.destroy();
        reject(new HttpError(413, `request body is over the limit of ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res: http.ServerResponse, r: Response): void {
  if (res.headersSent) return;
  const headers: Record<string, string | string[]> = {
    "cache-control": "no-store", "x-content-type-options": "nosniff", "x-frame-options": "DENY", ...r.headers,
  };
  if (r.text !== undefined) {
    const b = typeof r.text === "string" ? Buffer.from(r.text) : r.text;
    res.writeHead(r.status, { ...headers, "content-type": r.contentType ?? "text/plain; charset=utf-8", "content-length": b.length });
    res.end(b);
    return;
  }
  if (r.json === undefined) {
    res.writeHead(r.status, headers);
    res.end();
    return;
  }
  const body = JSON.stringify(r.json);
  res.writeHead(r.status, { ...headers, "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** HTTP status for a typed error that reached a route: bad input is the caller's, a lost node is 503. */
function statusOf(e: StingrayError): number {
  switch (e.code) {
    case "VALUE": case "PROTOCOL": case "NAME": return 400;
    case "CONNECTION": case "NODE_DIED": return 503;
    default: return 500;
  }
}

/** Start a server-sent events response; returns a writer. */
export function sse(res: http.ServerResponse): { event(data: unknown, name?: string): void; end(): void } {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff",
    connection: "keep-alive",
  });
  res.write(": stream open\n\n");
  return {
    event(data: unknown, name?: string) {
      if (res.writableEnded) return;
      res.write(`${name ? `event: ${name}\n` : ""}data: ${JSON.stringify(data)}\n\n`);
    },
    end() { if (!res.writableEnded) res.end(); },
  };
}
