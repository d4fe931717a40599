/**
 * @module dashboard/client
 * A typed client of the dashboard's HTTP API (one method per route of API_ROUTES), for the CLI
 * and for programs. Also: where the dashboard is (`resolveDashboard`: `--address`,
 * `STINGRAY_ADDRESS`, the local cluster, http://127.0.0.1:8265) and which token to send.
 *
 * Every failure is a StingrayError whose message names the problem and the fix: the dashboard is
 * unreachable (ConnectionError), the token is missing or wrong (AuthError), the request was bad
 * (ValueError, with the server's message), anything else (DashboardError with the status).
 */
import {
  API_ROUTES, type RouteName, type VersionResponse, type JobSubmitRequest, type JobSubmitResponse, type JobDetails,
  type JobLogsResponse, type JobStatus, type JobStopResponse, type JobDeleteResponse, type StateFilter,
  type ListResult, type NodeState, type ActorState, type TaskState, type ObjectState, type WorkerState, type JobState,
  type PlacementGroupState, type TaskSummary, type ActorSummary, type ObjectSummary, type TraceEvent, type LogListing,
  type ClusterStatus, type MetricsHistory, TERMINAL_JOB_STATUSES,
} from "./api_types.ts";
import { AuthError, ConnectionError, StingrayError, ValueError } from "../common/errors.ts";
import { defaultTempDir, readClusterFile } from "../node/session.ts";

export const DEFAULT_DASHBOARD_PORT = 8265;

/** The dashboard answered with an error status not covered by AuthError or ValueError (404, 5xx). */
export class DashboardError extends StingrayError {
  override readonly code = "DASHBOARD";
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
    this.data = { status };
  }
}

// ---------------------------------------------------------------------------------------------
// Address and token
// ---------------------------------------------------------------------------------------------

export interface ResolveOptions {
  /** `--address`: http(s)://HOST:PORT, HOST:PORT, HOST, stingray://HOST:PORT, or "auto". */
  address?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Session root to find the local cluster in (default: STINGRAY_TEMP_DIR or /tmp/stingray). */
  tempDir?: string | undefined;
}

export interface ResolvedDashboard {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:8265. */
  url: string;
  source: "flag" | "env" | "local" | "default";
  token: string | undefined;
  /** Where the token came from: the environment, or the local session's auth_token file. */
  tokenSource: "env" | "session" | undefined;
  /** Things the user should know about how the address was read (printed by the CLI). */
  notes: string[];
}

interface LocalCluster { dashboardUrl: string | undefined; gcsHost: string; gcsPort: number; token: string }

function localCluster(tempDir: string): LocalCluster | undefined {
  try {
    const c = readClusterFile(tempDir);
    return { dashboardUrl: c.dashboardUrl?.replace(/\/+$/, ""), gcsHost: c.gcsHost, gcsPort: c.gcsPort, token: c.token };
  } catch {
    return undefined;
  }
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * Turn what the user typed into a dashboard URL. A bare HOST:PORT is http; a GCS address
 * (stingray://HOST:PORT, ray://…, HOST:6379, the local cluster's GCS port, or any HOST:PORT when
 * `gcs` is set) is not a dashboard address and maps to the local cluster's dashboard when it is
 * that cluster's GCS, else to port 8265 on that host, with a note saying so.
 */
export function normalizeAddress(address: string, local?: LocalCluster, o: { gcs?: boolean } = {}): { url: string; notes: string[] } {
  const a = address.trim();
  if (/^https?:\/\//i.test(a)) {
    let u: URL;
    try { u = new URL(a); } catch { throw new ValueError(`"${a}" is not a valid dashboard URL; expected http://HOST:8265`); }
    return { url: `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`, notes: [] };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(a);
  const rest = scheme ? scheme[2]!.replace(/\/.*$/, "") : a;
  const m = /^(\[[^\]]+\]|[^:/\s]+)(?::(\d+))?$/.exec(rest);
  if (!m) throw new ValueError(`"${a}" is not a dashboard address; expected http://HOST:${DEFAULT_DASHBOARD_PORT} (or HOST:PORT)`);
  const host = m[1]!;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  const isGcs = scheme !== null || port === 6379 || o.gcs === true ||
    (local !== undefined && port === local.gcsPort && (host === local.gcsHost || isLoopback(host)));
  if (scheme && !/^(stingray|ray)$/i.test(scheme[1]!)) {
    throw new ValueError(`"${a}": the dashboard speaks http:// or https://, not ${scheme[1]}://; use http://${host}:${DEFAULT_DASHBOARD_PORT}`);
  }
  if (isGcs) {
    if (local?.dashboardUrl && port === local.gcsPort && (host === local.gcsHost || isLoopback(host))) {
      return { url: local.dashboardUrl, notes: [`${a} is the local cluster's GCS address; using its dashboard at ${local.dashboardUrl}`] };
    }
    const url = `http://${host}:${DEFAULT_DASHBOARD_PORT}`;
    return { url, notes: [`${a} is a cluster (GCS) address, not a dashboard address; using the dashboard at ${url} ` +
      "(pass --address http://HOST:PORT if it listens elsewhere)"] };
  }
  return { url: `http://${host}:${port ?? DEFAULT_DASHBOARD_PORT}`, notes: [] };
}

/**
 * Where the dashboard is and which token to send:
 * address: `--address`, else STINGRAY_ADDRESS (http(s) URLs as they are; a GCS address, as `init()`
 * reads it, maps to the local cluster's dashboard when it is that cluster's GCS, else to port 8265 on
 * its host), else the local
 * cluster's dashboard (newest session's cluster.json), else http://127.0.0.1:8265.
 * token: STINGRAY_AUTH_TOKEN, else the local session's auth_token when the dashboard is the local
 * cluster's or on a loopback address (never sent to another host by default).
 */
export function resolveDashboard(o: ResolveOptions = {}): ResolvedDashboard {
  const env = o.env ?? process.env;
  const local = localCluster(o.tempDir ?? (env.STINGRAY_TEMP_DIR || defaultTempDir()));
  let url: string;
  let source: ResolvedDashboard["source"];
  const notes: string[] = [];
  const fromEnv = env.STINGRAY_ADDRESS?.trim();
  const explicit = o.address?.trim();
  if (explicit && explicit !== "auto") {
    const n = normalizeAddress(explicit, local);
    url = n.url; notes.push(...n.notes); source = "flag";
  } else if (!explicit && fromEnv && fromEnv !== "auto") {
    // STINGRAY_ADDRESS is init()'s cluster address: anything but an http(s) URL is a GCS address.
    const n = normalizeAddress(fromEnv, local, { gcs: true });
    url = n.url; notes.push(...n.notes.map((x) => `STINGRAY_ADDRESS: ${x}`)); source = "env";
  } else if (local?.dashboardUrl) {
    url = local.dashboardUrl; source = "local";
  } else {
    url = `http://127.0.0.1:${DEFAULT_DASHBOARD_PORT}`; source = "default";
    if (local) notes.push(`the local cluster runs without a dashboard; trying ${url}`);
  }
  const envToken = env.STINGRAY_AUTH_TOKEN?.trim();
  if (envToken) return { url, source, token: envToken, tokenSource: "env", notes };
  let host = "";
  try { host = new URL(url).hostname; } catch { /* checked above */ }
  if (local && (url === local.dashboardUrl || isLoopback(host))) return { url, source, token: local.token, tokenSource: "session", notes };
  return { url, source, token: undefined, tokenSource: undefined, notes };
}

// ---------------------------------------------------------------------------------------------
// Server-sent events
// ---------------------------------------------------------------------------------------------

export interface SseEvent { event: string; data: string }

/** Parse a text/event-stream body into events (`event:` defaults to "message"; data lines joined by \n). */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buf = "";
  let event = "";
  let data: string[] = [];
  const line = (l: string): SseEvent | undefined => {
    if (l === "") {
      if (!data.length && !event) return undefined;
      const e = { event: event || "message", data: data.join("\n") };
      event = ""; data = [];
      return e;
    }
    if (l.startsWith(":")) return undefined;
    const i = l.indexOf(":");
    const field = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? "" : l.slice(i + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
    return undefined;
  };
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      if (nl === buf.length - 1 && buf.endsWith("\r")) break; // maybe half of a CRLF: wait for the next chunk
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
      const e = line(l);
      if (e) yield e;
    }
  }
  buf += decoder.decode();
  if (buf) { const e = line(buf); if (e) yield e; }
  const last = line("");
  if (last) yield last;
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

export interface ClientOptions {
  url: string;
  token?: string | undefined;
  /** Extra headers on every request (`--headers`). */
  headers?: Record<string, string> | undefined;
  /** Per-request timeout for non-streaming calls (ms, default 60 s). */
  timeoutMs?: number | undefined;
}

export interface ListOptions {
  limit?: number | undefined;
  detail?: boolean | undefined;
  filters?: StateFilter[] | undefined;
  /** Seconds the server may take. */
  timeout?: number | undefined;
}

export type LogQuery = {
  node_id?: string; node_ip?: string; filename?: string; actor_id?: string; task_id?: string; attempt_number?: number;
  pid?: number; submission_id?: string; lines?: number; suffix?: "out" | "err";
};

/** One item of a job log tail: text as the job printed it, then its final status. */
export type JobTailItem = { type: "log"; text: string } | { type: "end"; status: JobStatus };

type Query = Record<string, string | number | boolean | undefined | Array<string | number>>;
interface Call { params?: Record<string, string>; query?: Query; body?: unknown; raw?: Uint8Array; contentType?: string; timeoutMs?: number; signal?: AbortSignal }

/** `filter_keys`/`filter_predicates`/`filter_values` in step, as Ray's state API takes them. */
export function listQuery(o: ListOptions = {}): Query {
  const f = o.filters ?? [];
  return {
    limit: o.limit, detail: o.detail ? 1 : undefined, timeout: o.timeout,
    filter_keys: f.map((x) => x.key), filter_predicates: f.map((x) => x.predicate), filter_values: f.map((x) => x.value),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The payload of a state API reply, whether or not it comes in Ray's `{result, msg, data: {result}}` envelope. */
export function unwrapState<T>(body: unknown): T {
  if (isObject(body) && typeof body.result === "boolean" && isObject(body.data)) {
    if (!body.result) throw new ValueError(String(body.msg || "the state API reported a failure"));
    return body.data.result as T;
  }
  return body as T;
}

export class DashboardClient {
  readonly url: string;
  private readonly token: string | undefined;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(o: ClientOptions) {
    this.url = o.url.replace(/\/+$/, "");
    this.token = o.token;
    this.headers = o.headers ?? {};
    this.timeoutMs = o.timeoutMs ?? 60_000;
  }

  /** A client for the dashboard `resolveDashboard` finds, with its notes. */
  static resolve(o: ResolveOptions & { headers?: Record<string, string>; timeoutMs?: number } = {}): { client: DashboardClient; resolved: ResolvedDashboard } {
    const resolved = resolveDashboard(o);
    return { client: new DashboardClient({ url: resolved.url, token: resolved.token, headers: o.headers, timeoutMs: o.timeoutMs }), resolved };
  }

  // --- general --------------------------------------------------------------------------------
  version(): Promise<VersionResponse> { return this.json("version"); }
  /** Check a token and get the web UI's cookie (the CLI sends the token on every call instead). */
  async login(token: string): Promise<void> { await this.call("login", { body: { token } }); }
  async logout(): Promise<void> { await this.call("logout", {}); }
  clusterStatus(): Promise<ClusterStatus> { return this.json("clusterStatus"); }
  metricsHistory(): Promise<MetricsHistory> { return this.json("metricsHistory"); }

  // --- jobs -----------------------------------------------------------------------------------
  submitJob(req: JobSubmitRequest): Promise<JobSubmitResponse> { return this.json("submitJob", { body: req }); }
  listJobs(): Promise<JobDetails[]> { return this.json("listJobs"); }
  getJob(id: string): Promise<JobDetails> { return this.json("getJob", { params: { id } }); }
  jobLogs(id: string): Promise<JobLogsResponse> { return this.json("jobLogs", { params: { id } }); }
  stopJob(id: string): Promise<JobStopResponse> { return this.json("stopJob", { params: { id } }); }
  deleteJob(id: string): Promise<JobDeleteResponse> { return this.json("deleteJob", { params: { id } }); }

  /**
   * Follow a job's output: the text as it comes, then `{type: "end", status}`. If the stream ends
   * without its `end` event, the job's status is read instead (and it is an error if not final).
   */
  async *tailJobLogs(id: string, signal?: AbortSignal): AsyncGenerator<JobTailItem> {
    const res = await this.call("tailJobLogs", { params: { id }, signal, timeoutMs: 0 });
    let status: JobStatus | undefined;
    for await (const e of parseSse(res.body ?? emptyBody())) {
      if (e.event === "end") {
        try { status = (JSON.parse(e.data) as { status?: JobStatus }).status; } catch { /* read below */ }
        break;
      }
      if (e.event === "error") throw this.streamError(`the log stream of job '${id}'`, e.data);
      if (e.event === "message" && e.data) {
        let text: string;
        try { text = (JSON.parse(e.data) as { text: string }).text; } catch { text = e.data + "\n"; }
        if (text) yield { type: "log", text };
      }
    }
    if (!status) {
      const job = await this.getJob(id);
      if (!TERMINAL_JOB_STATUSES.includes(job.status)) {
        throw new ConnectionError(`the log stream of job '${id}' from ${this.url} closed while the job is still ${job.status}; ` +
          `follow it again with \`stingray job logs ${id} --follow\``);
      }
      status = job.status;
    }
    yield { type: "end", status };
  }

  async packageExists(name: string, protocol = "gcs"): Promise<boolean> {
    try {
      await this.call("packageExists", { params: { protocol, name } });
      return true;
    } catch (e) {
      if (e instanceof DashboardError && e.status === 404 && !/does not serve/.test(e.message)) return false;
      throw e;
    }
  }

  async uploadPackage(name: string, bytes: Uint8Array, protocol = "gcs"): Promise<void> {
    await this.call("uploadPackage", { params: { protocol, name }, raw: bytes, contentType: "application/zip", timeoutMs: 600_000 });
  }

  // --- state ----------------------------------------------------------------------------------
  listNodes(o?: ListOptions): Promise<ListResult<NodeState>> { return this.state("listNodes", listQuery(o)); }
  listActors(o?: ListOptions): Promise<ListResult<ActorState>> { return this.state("listActors", listQuery(o)); }
  listTasks(o?: ListOptions): Promise<ListResult<TaskState>> { return this.state("listTasks", listQuery(o)); }
  listObjects(o?: ListOptions): Promise<ListResult<ObjectState>> { return this.state("listObjects", listQuery(o)); }
  listWorkers(o?: ListOptions): Promise<ListResult<WorkerState>> { return this.state("listWorkers", listQuery(o)); }
  listStateJobs(o?: ListOptions): Promise<ListResult<JobState>> { return this.state("listStateJobs", listQuery(o)); }
  listPlacementGroups(o?: ListOptions): Promise<ListResult<PlacementGroupState>> { return this.state("listPlacementGroups", listQuery(o)); }
  summarizeTasks(o?: ListOptions): Promise<TaskSummary> { return this.summary("summarizeTasks", listQuery(o)); }
  summarizeActors(o?: ListOptions): Promise<ActorSummary> { return this.summary("summarizeActors", listQuery(o)); }
  summarizeObjects(o?: ListOptions): Promise<ObjectSummary> { return this.summary("summarizeObjects", listQuery(o)); }
  timeline(o: { job_id?: string } = {}): Promise<TraceEvent[]> { return this.state("timeline", { job_id: o.job_id }); }
  listLogs(o: { node_id?: string; node_ip?: string; glob?: string }): Promise<LogListing> { return this.state("listLogs", o); }

  /** A log file's last `lines` lines (text/plain). */
  async getLog(q: LogQuery): Promise<string> {
    const res = await this.call("getLog", { query: q });
    return res.text();
  }

  /** Follow a log file: its last `lines` lines, then whatever is appended, until `signal` aborts. */
  async *followLog(q: LogQuery, signal?: AbortSignal): AsyncGenerator<string> {
    const res = await this.call("getLog", { query: { ...q, follow: 1 }, signal, timeoutMs: 0 });
    for await (const e of parseSse(res.body ?? emptyBody())) {
      if (e.event === "end") break;
      if (e.event === "error") throw this.streamError("the log stream", e.data);
      if (e.event !== "message" || !e.data) continue;
      try { yield (JSON.parse(e.data) as { text: string }).text; } catch { yield e.data + "\n"; }
    }
  }

  // --- plumbing -------------------------------------------------------------------------------
  /** An `event: error` in a stream (its data is `{error}`). */
  private streamError(what: string, data: string): DashboardError {
    return new DashboardError(`${what} from ${this.url} failed: ${serverMessage(data) || "no message"}`, 500);
  }

  private async json<T>(route: RouteName, c: Call = {}): Promise<T> {
    const res = await this.call(route, c);
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new DashboardError(`the dashboard at ${this.url} answered ${API_ROUTES[route]} with something that is not JSON ` +
        `(${text.slice(0, 80)}…); is ${this.url} a Stingray dashboard?`, res.status);
    }
  }

  private async state<T>(route: RouteName, query: Query): Promise<T> {
    return unwrapState<T>(await this.json<unknown>(route, { query }));
  }

  /** Summaries come as Ray's `{node_id_to_summary: {cluster: …}}` inside the envelope (or bare). */
  private async summary<T>(route: RouteName, query: Query): Promise<T> {
    const r = await this.state<unknown>(route, query);
    const cluster = isObject(r) && isObject(r.node_id_to_summary) ? r.node_id_to_summary.cluster : undefined;
    return (cluster ?? r) as T;
  }

  /** Send one request; any status other than 2xx becomes the error that names its fix. */
  async call(route: RouteName, c: Call): Promise<Response> {
    const [method, template] = API_ROUTES[route].split(" ") as [string, string];
    const p = template.replace(/:(\w+)/g, (_m, k: string) => {
      const v = c.params?.[k];
      if (v === undefined || v === "") throw new ValueError(`${API_ROUTES[route]}: missing ${k}`);
      return encodeURIComponent(v);
    });
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(c.query ?? {})) {
      if (v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) qs.append(k, typeof x === "boolean" ? (x ? "1" : "0") : String(x));
    }
    const url = `${this.url}${p}${qs.size ? `?${qs}` : ""}`;
    const headers: Record<string, string> = { accept: "application/json, text/event-stream, text/plain", ...this.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let body: string | Uint8Array | undefined;
    if (c.raw) { body = c.raw; headers["content-type"] = c.contentType ?? "application/octet-stream"; }
    else if (c.body !== undefined) { body = JSON.stringify(c.body); headers["content-type"] = "application/json"; }
    const timeoutMs = c.timeoutMs ?? this.timeoutMs;
    const signals = [c.signal, timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined].filter((s): s is AbortSignal => !!s);
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: body as RequestInit["body"], signal: signals.length ? AbortSignal.any(signals) : null });
    } catch (e) {
      if (c.signal?.aborted) throw e;
      throw this.unreachable(e, timeoutMs);
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => "");
    throw this.failure(route, res.status, serverMessage(text), isJson(text), c.params);
  }

  private unreachable(e: unknown, timeoutMs: number): StingrayError {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === "TimeoutError" ? `no answer within ${timeoutMs / 1000} s`
      : err.cause?.code ?? err.cause?.message ?? err.message;
    return new ConnectionError(`could not reach the Stingray dashboard at ${this.url} (${why}). ` +
      "Is the head running with its dashboard on (`stingray start --head`, without --include-dashboard=false)? " +
      "Point at it with --address http://HEAD_IP:8265 or STINGRAY_ADDRESS; a dashboard reached from another machine " +
      "must listen on an outside address (`stingray start --head --dashboard-host=0.0.0.0`), or use `stingray dashboard HEAD_HOST` " +
      "to forward it over SSH.", { cause: e });
  }

  /** The error for a failed request; `json`: the body was a JSON error (so the server is a dashboard). */
  private failure(route: RouteName, status: number, msg: string, json: boolean, params?: Record<string, string>): StingrayError {
    const what = API_ROUTES[route];
    if (status === 401) {
      if (!this.token) {
        return new AuthError(`the dashboard at ${this.url} needs the cluster's auth token and none was given: on the head, run ` +
          "`export STINGRAY_AUTH_TOKEN=$(stingray get-auth-token)` (or copy the token it prints to STINGRAY_AUTH_TOKEN here)");
      }
      return new AuthError(`the dashboard at ${this.url} refused the auth token (${msg || "wrong token"}): set STINGRAY_AUTH_TOKEN to ` +
        "this cluster's token, printed on the head by `stingray get-auth-token`");
    }
    if (status === 403) {
      return new AuthError(`the dashboard at ${this.url} refused the request (403: ${msg || "forbidden"}). If you reach it by a ` +
        "host name, start the head with --dashboard-allowed-hosts=THAT_NAME, or use its IP address");
    }
    const id = params?.id;
    if (status === 404 && /^no such route/.test(msg)) {
      return new DashboardError(`the dashboard at ${this.url} does not serve ${what} (${msg}); is the head running an older Stingray?`, 404);
    }
    if (status === 404 && id && route !== "packageExists" && msg) {
      return new DashboardError(`job '${id}' not found on ${this.url}: ${/job list/.test(msg) ? msg : `${msg}; list the jobs with \`stingray job list\``}`, 404);
    }
    if (status === 404 && msg && json) return new DashboardError(msg, 404);
    if (status === 404) {
      return new DashboardError(`the server at ${this.url} answered 404 to ${what}${msg ? ` (${msg.slice(0, 200)})` : ""}; ` +
        "is it a Stingray dashboard? Check --address / STINGRAY_ADDRESS", 404);
    }
    if (status === 400 || status === 413) return Object.assign(new ValueError(`${what}: ${msg || `bad request (${status})`}`), { data: { status } });
    if (status >= 500) {
      return new DashboardError(`the dashboard at ${this.url} failed on ${what} (${status}: ${msg || "no message"}); ` +
        "its log is logs/dashboard.err in the head's session directory", status);
    }
    return new DashboardError(`${what} on ${this.url}: ${status}${msg ? ` ${msg}` : ""}`, status);
  }
}

/** The message of an error body: `{error}`, Ray's `{msg}` envelope, or plain text. */
export function serverMessage(text: string): string {
  try {
    const j = JSON.parse(text) as unknown;
    if (isObject(j)) {
      if (typeof j.error === "string") return j.error;
      if (typeof j.msg === "string") return j.msg;
    }
  } catch { /* plain text */ }
  return text.trim().slice(0, 2000);
}

function isJson(text: string): boolean {
  try { JSON.parse(text); return true; } catch { return false; }
}

async function* emptyBody(): AsyncGenerator<Uint8Array> { /* nothing */ }
