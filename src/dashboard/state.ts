/**
 * @module dashboard/state
 * The state API (`/api/v0/...`), the cluster overview and log access: turns what the GCS and the
 * raylets know (through `ClusterSource`) into the records of api_types.ts, then filters, counts
 * and truncates them the way Ray's state API does. A node that does not answer in time makes the
 * answer partial (`partial_failure_warning`), never an error.
 */
import type {
  ActorState, ActorStateName, ActorSummary, ClusterStatus, JobDetails, ListResult, LogListing, NodeState, NodeStats,
  ObjectState, ObjectSummary, StateEnvelope, StateFilter, TaskState, TaskStateName, TaskSummary, TaskType, TraceEvent,
  WorkerState,
} from "./api_types.ts";
import type { ClusterSource } from "./cluster.ts";
import type { ActorInfo, NodeInfo, TaskRecord } from "../protocol/messages.ts";
import { HttpError, sse, type DashboardServer, type Request, type Response } from "./server.ts";
import { serviceDiscovery } from "../metrics/config_files.ts";

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;
const NODE_TIMEOUT_MS = 3000;
/** Most bytes of a log one request reads (the raylet's cap per read). */
const MAX_LOG_READ = 4 << 20;
/** Internal jobs (the dashboard's own driver) are not listed. */
export const INTERNAL_NAMESPACE_PREFIX = "_stingray";

export interface StateContext {
  source: ClusterSource;
  sessionName: string;
  version: string;
  /** Jobs submitted through the job API (the job manager's view), by submission id. */
  submissions(): Promise<JobDetails[]>;
}

// ----------------------------------------------------------------------------- query parsing

export function parseFilters(q: URLSearchParams): StateFilter[] {
  const keys = q.getAll("filter_keys"), preds = q.getAll("filter_predicates"), vals = q.getAll("filter_values");
  if (keys.length !== vals.length || (preds.length && preds.length !== keys.length)) {
    throw new HttpError(400, "filter_keys, filter_predicates and filter_values must be given the same number of times");
  }
  return keys.map((key, i) => {
    const p = preds[i] ?? "=";
    if (p !== "=" && p !== "!=") throw new HttpError(400, `unknown filter predicate ${JSON.stringify(p)}: use = or !=`);
    return { key, predicate: p, value: vals[i]! };
  });
}

export function parseLimit(q: URLSearchParams): number {
  const raw = q.get("limit");
  if (raw === null) return DEFAULT_LIMIT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new HttpError(400, `limit must be a positive integer, got ${JSON.stringify(raw)}`);
  return Math.min(n, MAX_LIMIT);
}

function isDetail(q: URLSearchParams): boolean {
  const d = q.get("detail");
  return d !== null && d !== "0" && d.toLowerCase() !== "false";
}

const CASE_INSENSITIVE = new Set(["state", "status", "type", "worker_type"]);

/** Apply filters; an unknown key is a 400 that names the valid ones. */
export function applyFilters<T extends object>(rows: T[], filters: StateFilter[], validKeys: readonly string[]): T[] {
  for (const f of filters) {
    if (!validKeys.includes(f.key)) {
      throw new HttpError(400, `cannot filter on ${JSON.stringify(f.key)}: valid keys are ${validKeys.join(", ")}`);
    }
  }
  if (!filters.length) return rows;
  return rows.filter((r) => filters.every((f) => {
    const v = (r as Record<string, unknown>)[f.key];
    let a = v === null || v === undefined ? "" : String(v), b = f.value;
    if (CASE_INSENSITIVE.has(f.key)) { a = a.toUpperCase(); b = b.toUpperCase(); }
    return f.predicate === "=" ? a === b : a !== b;
  }));
}

function listResult<T>(rows: T[], totalBeforeFilter: number, limit: number, warning: string | null): ListResult<T> {
  const result = rows.slice(0, limit);
  return {
    total: totalBeforeFilter, num_after_truncation: result.length, num_filtered: rows.length, result,
    partial_failure_warning: warning, warnings: rows.length > limit
      ? [`${rows.length} records matched; showing the first ${limit} (raise --limit)`] : null,
  };
}

export function envelope<T>(result: T): StateEnvelope<T> { return { result: true, msg: "", data: { result } }; }

// ----------------------------------------------------------------------------- conversions

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e instanceof Error ? e : new Error(String(e))); });
  });
}

/** Ask every alive node; failures become a warning. */
async function perNode<T>(nodes: NodeInfo[], f: (n: NodeInfo) => Promise<T>): Promise<{ results: { node: NodeInfo; value: T }[]; warning: string | null }> {
  const alive = nodes.filter((n) => n.state === "ALIVE");
  const settled = await Promise.allSettled(alive.map((n) => withTimeout(f(n), NODE_TIMEOUT_MS, `node ${n.ip}`)));
  const results: { node: NodeInfo; value: T }[] = [];
  const failed: string[] = [];
  settled.forEach((s, i) => {
    if (s.status === "fulfilled") results.push({ node: alive[i]!, value: s.value });
    else failed.push(`${alive[i]!.ip} (${(s.reason as Error).message})`);
  });
  return { results, warning: failed.length ? `${failed.length} of ${alive.length} nodes did not answer: ${failed.join("; ")}` : null };
}

export async function nodeStates(source: ClusterSource): Promise<{ rows: NodeState[]; warning: string | null }> {
  const nodes = await source.nodes();
  const { results, warning } = await perNode(nodes, async (n) => {
    const [sys, st] = await Promise.all([source.node(n.nodeId, "raylet.GetNodeStats", {}), source.node(n.nodeId, "raylet.GetStats", {})]);
    const stats: NodeStats = {
      cpu_count: sys.cpuCount, cpu_utilization: sys.cpuUtilization, load_avg: [sys.loadAvg[0] ?? 0, sys.loadAvg[1] ?? 0, sys.loadAvg[2] ?? 0],
      mem_total_bytes: sys.memTotal, mem_used_bytes: sys.memUsed, object_store_used_bytes: st.storeUsed,
      object_store_capacity_bytes: st.storeCapacity, num_objects: st.objects, num_workers: st.workers,
      num_idle_workers: st.idleWorkers, disk_total_bytes: sys.diskTotal, disk_used_bytes: sys.diskUsed,
    };
    return stats;
  });
  const statsOf = new Map(results.map((r) => [r.node.nodeId, r.value]));
  const rows = nodes.map((n): NodeState => ({
    node_id: n.nodeId, node_ip: n.ip, node_name: n.hostname, is_head_node: n.isHead, state: n.state,
    state_message: n.deathReason ?? null, resources_total: n.resources, resources_available: n.available, labels: n.labels,
    start_time_ms: n.startTime, end_time_ms: null, stats: statsOf.get(n.nodeId) ?? null,
  }));
  return { rows, warning };
}

const ACTOR_STATE: Record<ActorInfo["state"], ActorStateName> = {
  PENDING: "PENDING_CREATION", ALIVE: "ALIVE", RESTARTING: "RESTARTING", DEAD: "DEAD",
};

export function actorState(a: ActorInfo): ActorState {
  return {
    actor_id: a.actorId, class_name: a.className, state: ACTOR_STATE[a.state], job_id: a.jobId, name: a.name ?? null,
    namespace: a.namespace, node_id: a.address?.nodeId ?? null, pid: a.pid ?? null, worker_id: a.address?.workerId ?? null,
    num_restarts: a.numRestarts, max_restarts: a.maxRestarts, is_detached: a.detached, required_resources: {},
    death_cause: a.deathCause ? a.deathCause.message : null,
  };
}

const TASK_TYPE: Record<string, TaskType> = { normal: "NORMAL_TASK", actor_create: "ACTOR_CREATION_TASK", actor_task: "ACTOR_TASK" };

export function taskState(r: TaskRecord, detail: boolean): TaskState {
  return {
    task_id: r.taskId, attempt_number: r.attempt, name: r.name, state: r.state as TaskStateName, job_id: r.jobId,
    actor_id: r.actorId ?? null, type: TASK_TYPE[r.kind] ?? "NORMAL_TASK", func_or_class_name: r.fn,
    node_id: r.nodeId ?? null, worker_id: r.workerId ?? null, worker_pid: r.pid ?? null, error_type: r.errType ?? null,
    error_message: r.errMsg ?? null, error_stack: detail ? r.errStack ?? null : null, required_resources: r.resources,
    creation_time_ms: r.created ?? null, start_time_ms: r.start ?? null, end_time_ms: r.end ?? null,
    events: detail ? r.events.map((e) => ({ state: e.state as TaskStateName, created_ms: e.t })) : [],
  };
}

async function objectStates(source: ClusterSource, limit: number): Promise<{ rows: ObjectState[]; warning: string | null }> {
  const nodes = await source.nodes();
  const { results, warning } = await perNode(nodes, (n) => source.node(n.nodeId, "raylet.ListObjects", { limit }));
  const rows: ObjectState[] = [];
  for (const { node, value } of results) {
    for (const o of value.objects) {
      rows.push({
        object_id: o.id, object_size: o.size, node_id: node.nodeId, ip: node.ip, owner_worker_id: o.owner, owner_ip: o.ownerIp,
        copy_type: o.secondary ? "COPY" : "PRIMARY", state: o.state.toUpperCase() as ObjectState["state"], pinned: o.mapped,
      });
    }
  }
  rows.sort((a, b) => b.object_size - a.object_size);
  return { rows, warning };
}

async function workerStates(source: ClusterSource): Promise<{ rows: WorkerState[]; warning: string | null }> {
  const nodes = await source.nodes();
  const { results, warning } = await perNode(nodes, (n) => source.node(n.nodeId, "raylet.ListWorkers", {}));
  const rows: WorkerState[] = [];
  for (const { node, value } of results) {
    for (const w of value.workers) {
      rows.push({
        worker_id: w.workerId, worker_type: "WORKER", is_alive: w.state !== "dead", node_id: node.nodeId, ip: node.ip, pid: w.pid,
        job_id: w.jobId || null, actor_id: w.actorId ?? null, state: w.state === "leased" ? "LEASED" : w.state === "idle" ? "IDLE" : "STARTING",
        start_time_ms: w.startTime,
      });
    }
  }
  const byIp = new Map(nodes.map((n) => [n.ip, n.nodeId]));
  for (const j of await source.jobs()) {
    if (j.state !== "RUNNING" || j.namespace.startsWith(INTERNAL_NAMESPACE_PREFIX)) continue;
    rows.push({
      worker_id: `driver-${j.jobId}`, worker_type: "DRIVER", is_alive: true, node_id: byIp.get(j.driverIp) ?? "", ip: j.driverIp,
      pid: j.driverPid, job_id: j.jobId, actor_id: null, state: "LEASED", start_time_ms: j.startTime,
    });
  }
  return { rows, warning };
}

/** Every driver the GCS knows, merged with the job API's submissions (a submission's driver shares its record). */
export async function jobStates(ctx: StateContext): Promise<JobDetails[]> {
  const [jobs, subs] = await Promise.all([ctx.source.jobs(), ctx.submissions()]);
  const byJobId = new Map(subs.filter((s) => s.job_id).map((s) => [s.job_id!, s]));
  const out: JobDetails[] = [...subs];
  for (const j of jobs) {
    if (j.namespace.startsWith(INTERNAL_NAMESPACE_PREFIX) || byJobId.has(j.jobId) || j.submissionId) continue;
    out.push({
      type: "DRIVER", job_id: j.jobId, submission_id: null,
      driver_info: { id: j.jobId, node_ip_address: j.driverIp, pid: String(j.driverPid) },
      status: j.state === "RUNNING" ? "RUNNING" : "SUCCEEDED", entrypoint: j.entrypoint, message: null, error_type: null,
      start_time: j.startTime, end_time: j.endTime ?? null, metadata: {}, runtime_env: {}, driver_node_id: null,
      driver_exit_code: null, entrypoint_num_cpus: null, entrypoint_num_gpus: null, entrypoint_memory: null, entrypoint_resources: null,
    });
  }
  return out.sort((a, b) => (b.start_time ?? 0) - (a.start_time ?? 0));
}

// ----------------------------------------------------------------------------- summaries, timeline

export interface TaskTotal { jobId: string; fn: string; kind: string; finished: number; failed: number }

/**
 * Counts by function and state. Current states (pending, running) come from the task records;
 * FINISHED and FAILED come from the exact per-function totals when given (records are sampled
 * under floods of tiny tasks, see worker/task_events.ts), else from the records.
 */
export function summarizeTasks(records: TaskRecord[], dropped: number, totals?: TaskTotal[]): TaskSummary {
  const summary: TaskSummary["summary"] = {};
  const entry = (fn: string, kind: string): TaskSummary["summary"][string] =>
    (summary[fn] ??= { func_or_class_name: fn, type: TASK_TYPE[kind] ?? "NORMAL_TASK", state_counts: {} });
  for (const r of records) {
    const st = r.state as TaskStateName;
    if (totals && (st === "FINISHED" || st === "FAILED")) { entry(r.fn, r.kind); continue; }
    const e = entry(r.fn, r.kind);
    e.state_counts[st] = (e.state_counts[st] ?? 0) + 1;
  }
  for (const t of totals ?? []) {
    const e = entry(t.fn, t.kind);
    if (t.finished) e.state_counts.FINISHED = (e.state_counts.FINISHED ?? 0) + t.finished;
    if (t.failed) e.state_counts.FAILED = (e.state_counts.FAILED ?? 0) + t.failed;
  }
  let total = 0, actorTasks = 0, actorScheduled = 0;
  for (const e of Object.values(summary)) {
    const n = Object.values(e.state_counts).reduce((a, b) => a + (b ?? 0), 0);
    total += n;
    if (e.type === "ACTOR_TASK") actorTasks += n;
    if (e.type === "ACTOR_CREATION_TASK") actorScheduled += n;
  }
  return { summary, total_tasks: total, total_actor_tasks: actorTasks, total_actor_scheduled: actorScheduled,
    summary_by: "func_name", num_dropped_events: dropped };
}

/** Cluster-wide tasks by state: current states from the records, ended ones from the exact totals. */
export function tasksByState(stateCounts: Record<string, number>, totals: TaskTotal[]): Partial<Record<TaskStateName, number>> {
  const out: Partial<Record<TaskStateName, number>> = {};
  for (const [k, v] of Object.entries(stateCounts)) if (k !== "FINISHED" && k !== "FAILED") out[k as TaskStateName] = v;
  let finished = 0, failed = 0;
  for (const t of totals) { finished += t.finished; failed += t.failed; }
  if (finished) out.FINISHED = finished;
  if (failed) out.FAILED = failed;
  return out;
}

export function summarizeActors(actors: ActorState[]): ActorSummary {
  const summary: ActorSummary["summary"] = {};
  for (const a of actors) {
    const e = (summary[a.class_name] ??= { class_name: a.class_name, state_counts: {} });
    e.state_counts[a.state] = (e.state_counts[a.state] ?? 0) + 1;
  }
  return { summary, total_actors: actors.length };
}

export function summarizeObjects(objects: ObjectState[]): ObjectSummary {
  const by: ObjectSummary["by_node"] = {};
  let size = 0;
  for (const o of objects) {
    size += o.object_size;
    const e = (by[o.node_id] ??= { node_ip: o.ip, objects: 0, size_bytes: 0, spilled: 0 });
    e.objects++;
    e.size_bytes += o.object_size;
    if (o.state === "SPILLED") e.spilled++;
  }
  return { total_objects: objects.length, total_size_bytes: size, by_node: by };
}

/** Chrome trace: one complete event per task that ran, on its node (pid) and worker (tid). */
export function timeline(records: TaskRecord[], nodeIps: Map<string, string>): TraceEvent[] {
  const out: TraceEvent[] = [];
  for (const r of records) {
    if (r.start === undefined) continue;
    const end = r.end ?? Date.now();
    out.push({
      name: r.fn, cat: r.kind === "actor_task" ? "actor_task" : r.kind === "actor_create" ? "actor_creation" : "task",
      ph: "X", ts: r.start * 1000, dur: Math.max(1, (end - r.start) * 1000),
      pid: `Node ${nodeIps.get(r.nodeId ?? "") ?? r.nodeId ?? "?"}`, tid: `Worker ${r.workerId ?? "?"} (pid ${r.pid ?? "?"})`,
      args: { task_id: r.taskId, job_id: r.jobId, state: r.state, attempt: r.attempt, ...(r.errType ? { error_type: r.errType } : {}) },
    });
  }
  return out.sort((a, b) => a.ts - b.ts);
}

// ----------------------------------------------------------------------------- logs

function categoryOf(name: string): string {
  if (name.startsWith("job-driver-")) return "job_driver";
  if (name.startsWith("worker-")) return "worker";
  if (/^(gcs_server|raylet|dashboard|client_server|monitor|autoscaler)/.test(name)) return "daemon";
  return "other";
}

async function nodeFor(source: ClusterSource, q: URLSearchParams): Promise<NodeInfo> {
  const id = q.get("node_id"), ip = q.get("node_ip");
  const nodes = await source.nodes();
  const alive = nodes.filter((n) => n.state === "ALIVE");
  const n = id ? nodes.find((x) => x.nodeId === id) : ip ? alive.find((x) => x.ip === ip) ?? nodes.find((x) => x.ip === ip)
    : alive.find((x) => x.isHead);
  if (!n) throw new HttpError(404, `no node ${id ?? ip ?? "(head)"} in the cluster: list them with \`stingray list nodes\``);
  return n;
}

interface LogTarget { node: NodeInfo; filename: string }

async function findWorkerLog(source: ClusterSource, node: NodeInfo, match: (name: string) => boolean, suffix: string, what: string): Promise<LogTarget> {
  const { files } = await source.node(node.nodeId, "raylet.ListLogs", {});
  const f = files.filter((x) => match(x.name) && x.name.endsWith(`.${suffix}`)).sort((a, b) => b.mtime - a.mtime)[0];
  if (!f) throw new HttpError(404, `no log file for ${what} on node ${node.ip}`);
  return { node, filename: f.name };
}

/** Which file a log request means: by name, actor, task, worker pid, or job submission. */
export async function resolveLog(ctx: StateContext, q: URLSearchParams): Promise<LogTarget> {
  const source = ctx.source;
  const suffix = q.get("suffix") === "err" ? "err" : "out";
  const filename = q.get("filename");
  if (filename) return { node: await nodeFor(source, q), filename };
  const nodes = await source.nodes();
  const nodeById = (id: string | null | undefined): NodeInfo => {
    const n = nodes.find((x) => x.nodeId === id);
    if (!n) throw new HttpError(404, `the node ${id ?? "?"} is not in the cluster any more`);
    return n;
  };
  const actorId = q.get("actor_id");
  if (actorId) {
    const a = (await source.actors()).find((x) => x.actorId === actorId);
    if (!a) throw new HttpError(404, `no actor ${actorId}: list them with \`stingray list actors\``);
    if (!a.address) throw new HttpError(404, `actor ${actorId} has not been placed on a worker yet`);
    const wid = a.address.workerId;
    return findWorkerLog(source, nodeById(a.address.nodeId), (n) => n.startsWith(`worker-${wid}-`), suffix, `actor ${actorId}`);
  }
  const taskId = q.get("task_id");
  if (taskId) {
    const t = (await source.tasks({ taskId, limit: 1 })).tasks[0];
    if (!t) throw new HttpError(404, `no task ${taskId} in the task table: list them with \`stingray list tasks\``);
    if (!t.workerId) throw new HttpError(404, `task ${taskId} has not started on a worker`);
    const wid = t.workerId;
    return findWorkerLog(source, nodeById(t.nodeId), (n) => n.startsWith(`worker-${wid}-`), suffix, `task ${taskId}`);
  }
  const pid = q.get("pid");
  if (pid) {
    const node = await nodeFor(source, q);
    return findWorkerLog(source, node, (n) => n.startsWith("worker-") && n.endsWith(`-${pid}.${suffix}`), suffix, `pid ${pid}`);
  }
  const sub = q.get("submission_id");
  if (sub) {
    const job = (await ctx.submissions()).find((j) => j.submission_id === sub);
    if (!job) throw new HttpError(404, `no job ${sub}: list them with \`stingray job list\``);
    if (!job.driver_node_id) throw new HttpError(404, `job ${sub} has not started on a node yet`);
    return { node: nodeById(job.driver_node_id), filename: `job-driver-${sub}.log` };
  }
  throw new HttpError(400, "say which log: filename (with node_id or node_ip), actor_id, task_id, pid (with a node) or submission_id");
}

/** Stream a log file as SSE: its last `lines` lines, then what is appended, until the client goes away. */
export function followLog(source: ClusterSource, t: LogTarget, lines: number, until?: () => Promise<boolean>): Response {
  return {
    status: 200, stream: (res) => {
      const out = sse(res);
      let offset = -1;
      let closed = false;
      res.on("close", () => { closed = true; });
      const tick = async (): Promise<void> => {
        while (!closed) {
          try {
            const r = offset < 0
              ? await source.node(t.node.nodeId, "raylet.ReadLog", { name: t.filename, offset: 0, length: 0, tailLines: lines })
              : await source.node(t.node.nodeId, "raylet.ReadLog", { name: t.filename, offset, length: 1 << 20 });
            if (r.data.length) out.event({ text: Buffer.from(r.data).toString("utf8") });
            offset = r.offset + r.data.length;
            if (r.data.length >= 1 << 20) continue;
          } catch (e) {
            if (offset >= 0 || !(e instanceof Error && /no log file/.test(e.message))) { out.event({ error: (e as Error).message }, "error"); break; }
          }
          if (until && await until()) {
            // One more read so nothing written just before the end is lost.
            try {
              const r = await source.node(t.node.nodeId, "raylet.ReadLog", { name: t.filename, offset: Math.max(0, offset), length: 1 << 20 });
              if (r.data.length) out.event({ text: Buffer.from(r.data).toString("utf8") });
            } catch { /* file gone */ }
            break;
          }
          await new Promise((r) => setTimeout(r, 250));
        }
        out.end();
      };
      void tick();
    },
  };
}

// ----------------------------------------------------------------------------- routes

const NODE_KEYS = ["node_id", "node_ip", "node_name", "is_head_node", "state"] as const;
const ACTOR_KEYS = ["actor_id", "class_name", "state", "job_id", "name", "namespace", "node_id", "pid", "worker_id", "is_detached"] as const;
const TASK_KEYS = ["task_id", "name", "state", "job_id", "actor_id", "type", "func_or_class_name", "node_id", "worker_id", "worker_pid", "error_type", "attempt_number"] as const;
const OBJECT_KEYS = ["object_id", "node_id", "ip", "owner_worker_id", "owner_ip", "copy_type", "state", "pinned"] as const;
const WORKER_KEYS = ["worker_id", "worker_type", "is_alive", "node_id", "ip", "pid", "job_id", "actor_id", "state"] as const;
const JOB_KEYS = ["job_id", "submission_id", "status", "type", "entrypoint", "driver_node_id"] as const;

function ok(json: unknown): Response { return { status: 200, json }; }

async function taskRecords(ctx: StateContext, q: URLSearchParams, filters: StateFilter[], limit: number):
  Promise<{ records: TaskRecord[]; total: number; dropped: number; totals: TaskTotal[] }> {
  const jobFilter = filters.find((f) => f.key === "job_id" && f.predicate === "=");
  const fetchAll = filters.length > 0 || q.get("all") !== null;
  const r = await ctx.source.tasks({ jobId: jobFilter?.value, limit: fetchAll ? Number.MAX_SAFE_INTEGER : limit });
  return { records: r.tasks, total: r.total, dropped: r.dropped, totals: r.totals };
}

export function registerStateRoutes(server: DashboardServer, ctx: StateContext): void {
  const { source } = ctx;
  const list = <T extends object>(path: string, keys: readonly string[], rows: (req: Request, limit: number, filters: StateFilter[]) =>
    Promise<{ rows: T[]; total?: number; warning: string | null }>): void => {
    server.route("GET", path, async (req) => {
      const filters = parseFilters(req.query);
      const limit = parseLimit(req.query);
      const r = await rows(req, limit, filters);
      const filtered = applyFilters(r.rows, filters, keys);
      return ok(envelope(listResult(filtered, r.total ?? r.rows.length, limit, r.warning)));
    });
  };

  list("/api/v0/nodes", NODE_KEYS, async () => nodeStates(source));
  list("/api/v0/actors", ACTOR_KEYS, async () => ({ rows: (await source.actors()).map(actorState), warning: null }));
  list("/api/v0/tasks", TASK_KEYS, async (req, limit, filters) => {
    const { records, total } = await taskRecords(ctx, req.query, filters, limit);
    const detail = isDetail(req.query);
    return { rows: records.map((r) => taskState(r, detail)), total, warning: null };
  });
  list("/api/v0/objects", OBJECT_KEYS, async (_req, limit) => objectStates(source, limit));
  list("/api/v0/workers", WORKER_KEYS, async () => workerStates(source));
  list("/api/v0/jobs", JOB_KEYS, async () => ({ rows: await jobStates(ctx), warning: null }));
  list("/api/v0/placement_groups", ["placement_group_id", "name", "state"], async () => ({ rows: [], warning: null }));

  server.route("GET", "/api/v0/tasks/summarize", async (req) => {
    const filters = parseFilters(req.query);
    const { records, dropped, totals } = await taskRecords(ctx, req.query, filters, Number.MAX_SAFE_INTEGER);
    const rows = applyFilters(records.map((r) => ({ ...taskState(r, false), _r: r })), filters, TASK_KEYS);
    // Exact totals apply when the filter is at most one job; other filters count the records only.
    const exact = filters.every((f) => f.key === "job_id" && f.predicate === "=");
    return ok(envelope({ node_id_to_summary: { cluster: summarizeTasks(rows.map((x) => x._r), dropped, exact ? totals : undefined) } }));
  });
  server.route("GET", "/api/v0/actors/summarize", async () =>
    ok(envelope({ node_id_to_summary: { cluster: summarizeActors((await source.actors()).map(actorState)) } })));
  server.route("GET", "/api/v0/objects/summarize", async () => {
    const { rows, warning } = await objectStates(source, MAX_LIMIT);
    return ok({ ...envelope({ node_id_to_summary: { cluster: summarizeObjects(rows) } }), msg: warning ?? "" });
  });
  server.route("GET", "/api/v0/tasks/timeline", async (req) => {
    const jobId = req.query.get("job_id") ?? undefined;
    const [{ tasks }, nodes] = await Promise.all([source.tasks({ jobId, limit: Number.MAX_SAFE_INTEGER }), source.nodes()]);
    const ips = new Map(nodes.map((n) => [n.nodeId, n.ip]));
    const headers: Record<string, string> = req.query.get("download") ? { "content-disposition": 'attachment; filename="stingray-timeline.json"' } : {};
    return { status: 200, json: timeline(tasks, ips), headers };
  });

  server.route("GET", "/api/v0/logs", async (req) => {
    const node = await nodeFor(source, req.query);
    const { files } = await source.node(node.nodeId, "raylet.ListLogs", {});
    const glob = req.query.get("glob");
    const re = glob ? new RegExp("^" + glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$") : undefined;
    const categories: Record<string, string[]> = {};
    for (const f of files.sort((a, b) => a.name.localeCompare(b.name))) {
      if (re && !re.test(f.name)) continue;
      (categories[categoryOf(f.name)] ??= []).push(f.name);
    }
    const listing: LogListing = { node_id: node.nodeId, node_ip: node.ip, categories };
    return ok(envelope(listing));
  });
  server.route("GET", "/api/v0/logs/file", async (req) => {
    const target = await resolveLog(ctx, req.query);
    const linesRaw = req.query.get("lines");
    const lines = linesRaw === null ? 1000 : Number(linesRaw);
    if (!Number.isInteger(lines) || lines < -1) throw new HttpError(400, `lines must be a non-negative integer or -1 (the whole file), got ${JSON.stringify(linesRaw)}`);
    const follow = req.query.get("follow");
    if (follow && follow !== "0" && follow !== "false") return followLog(source, target, lines < 0 ? Number.MAX_SAFE_INTEGER : lines);
    const r = lines < 0
      ? await source.node(target.node.nodeId, "raylet.ReadLog", { name: target.filename, offset: -MAX_LOG_READ, length: MAX_LOG_READ })
      : await source.node(target.node.nodeId, "raylet.ReadLog", { name: target.filename, offset: 0, length: 0, tailLines: lines });
    return { status: 200, text: r.data };
  });

  // Prometheus HTTP service discovery (an alternative to the head's discovery file).
  server.route("GET", "/api/prometheus/sd", async () => ({ status: 200, json: serviceDiscovery(await source.nodes()) }));

  server.route("GET", "/api/cluster_status", async () => {
    const [status, actors, jobs, tasks] = await Promise.all([
      source.clusterStatus(), source.actors(), jobStates(ctx), source.tasks({ limit: 0 }),
    ]);
    const total: Record<string, number> = {}, avail: Record<string, number> = {};
    let alive = 0, dead = 0;
    for (const n of status.nodes) {
      if (n.state !== "ALIVE") { dead++; continue; }
      alive++;
      for (const [k, v] of Object.entries(n.resources)) total[k] = (total[k] ?? 0) + v;
      for (const [k, v] of Object.entries(n.available)) avail[k] = (avail[k] ?? 0) + v;
    }
    const count = <K extends string>(xs: K[]): Partial<Record<K, number>> => {
      const o: Partial<Record<K, number>> = {};
      for (const x of xs) o[x] = (o[x] ?? 0) + 1;
      return o;
    };
    const head = status.nodes.find((n) => n.isHead && n.state === "ALIVE");
    const body: ClusterStatus = {
      session_name: ctx.sessionName, stingray_version: ctx.version, head_ip: head?.ip ?? "", nodes_alive: alive, nodes_dead: dead,
      resources_total: total, resources_available: avail, demands: status.demands,
      jobs_by_status: count(jobs.map((j) => j.status)), actors_by_state: count(actors.map((a) => ACTOR_STATE[a.state])),
      tasks_by_state: tasksByState(tasks.stateCounts, tasks.totals),
    };
    return ok(body);
  });
}
