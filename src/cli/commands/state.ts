/**
 * @module cli/commands/state
 * Ray's state CLI against the dashboard's state API: `stingray list <kind>`, `get <kind> <id>`,
 * `summary tasks|actors|objects`, `logs …`, `timeline` and `memory`.
 */
import fs from "node:fs";
import { parse, help, num, UsageError, type FlagSpec } from "../args.ts";
import { CONNECT_FLAGS, HELP_FLAG, connectDashboard } from "./dashboard.ts";
import { banner, bytes, cell, parseFormat, resources, structured, table, time, yaml, type Format } from "../format.ts";
import type { DashboardClient, ListOptions, LogQuery } from "../../dashboard/client.ts";
import {
  TASK_STATES, type ActorState, type JobState, type ListResult, type NodeState, type ObjectState, type PlacementGroupState,
  type StateFilter, type TaskState, type WorkerState, type ActorStateName,
} from "../../dashboard/api_types.ts";

// ---------------------------------------------------------------------------------------------
// Kinds
// ---------------------------------------------------------------------------------------------

interface Kind<T> {
  fetch: (c: DashboardClient, o: ListOptions) => Promise<ListResult<T>>;
  /** Filter keys that identify one record, tried in order by `get`. */
  idKeys: string[];
  columns: Array<[string, (r: T) => string]>;
}
const kind = <T>(k: Kind<T>): Kind<unknown> => k as unknown as Kind<unknown>;

export const KINDS: Record<string, Kind<unknown>> = {
  nodes: kind<NodeState>({ fetch: (c, o) => c.listNodes(o), idKeys: ["node_id"], columns: [
    ["NODE_ID", (n) => n.node_id], ["NODE_IP", (n) => n.node_ip], ["IS_HEAD_NODE", (n) => String(n.is_head_node)],
    ["STATE", (n) => n.state], ["NODE_NAME", (n) => n.node_name], ["RESOURCES_TOTAL", (n) => resources(n.resources_total)],
    ["LABELS", (n) => cell(n.labels)], ["START_TIME", (n) => time(n.start_time_ms)],
  ] }),
  actors: kind<ActorState>({ fetch: (c, o) => c.listActors(o), idKeys: ["actor_id"], columns: [
    ["ACTOR_ID", (a) => a.actor_id], ["CLASS_NAME", (a) => a.class_name], ["STATE", (a) => a.state], ["JOB_ID", (a) => a.job_id],
    ["NAME", (a) => cell(a.name)], ["NODE_ID", (a) => cell(a.node_id)], ["PID", (a) => cell(a.pid)],
    ["NUM_RESTARTS", (a) => String(a.num_restarts)], ["DEATH_CAUSE", (a) => cell(a.death_cause)],
  ] }),
  tasks: kind<TaskState>({ fetch: (c, o) => c.listTasks(o), idKeys: ["task_id"], columns: [
    ["TASK_ID", (t) => t.task_id], ["ATTEMPT_NUMBER", (t) => String(t.attempt_number)], ["NAME", (t) => t.name],
    ["STATE", (t) => t.state], ["JOB_ID", (t) => t.job_id], ["ACTOR_ID", (t) => cell(t.actor_id)], ["TYPE", (t) => t.type],
    ["FUNC_OR_CLASS_NAME", (t) => t.func_or_class_name], ["NODE_ID", (t) => cell(t.node_id)],
    ["WORKER_PID", (t) => cell(t.worker_pid)], ["ERROR_TYPE", (t) => cell(t.error_type)],
  ] }),
  objects: kind<ObjectState>({ fetch: (c, o) => c.listObjects(o), idKeys: ["object_id"], columns: [
    ["OBJECT_ID", (x) => x.object_id], ["OBJECT_SIZE", (x) => bytes(x.object_size)], ["COPY_TYPE", (x) => x.copy_type],
    ["STATE", (x) => x.state], ["PINNED", (x) => String(x.pinned)], ["IP", (x) => x.ip], ["NODE_ID", (x) => x.node_id],
    ["OWNER_IP", (x) => x.owner_ip],
  ] }),
  workers: kind<WorkerState>({ fetch: (c, o) => c.listWorkers(o), idKeys: ["worker_id"], columns: [
    ["WORKER_ID", (w) => w.worker_id], ["IS_ALIVE", (w) => String(w.is_alive)], ["WORKER_TYPE", (w) => w.worker_type],
    ["STATE", (w) => w.state], ["PID", (w) => String(w.pid)], ["IP", (w) => w.ip], ["NODE_ID", (w) => w.node_id],
    ["JOB_ID", (w) => cell(w.job_id)], ["ACTOR_ID", (w) => cell(w.actor_id)],
  ] }),
  jobs: kind<JobState>({ fetch: (c, o) => c.listStateJobs(o), idKeys: ["submission_id", "job_id"], columns: [
    ["JOB_ID", (j) => cell(j.job_id)], ["SUBMISSION_ID", (j) => cell(j.submission_id)], ["TYPE", (j) => j.type],
    ["STATUS", (j) => j.status], ["ENTRYPOINT", (j) => (j.entrypoint.length > 50 ? `${j.entrypoint.slice(0, 47)}...` : j.entrypoint)],
    ["START_TIME", (j) => time(j.start_time)], ["END_TIME", (j) => time(j.end_time)],
  ] }),
  "placement-groups": kind<PlacementGroupState>({ fetch: (c, o) => c.listPlacementGroups(o), idKeys: ["placement_group_id"], columns: [
    ["PLACEMENT_GROUP_ID", (p) => p.placement_group_id], ["NAME", (p) => cell(p.name)], ["STATE", (p) => p.state],
  ] }),
};

function kindOf(command: string, name: string | undefined): [string, Kind<unknown>] {
  const k = name?.toLowerCase().replace(/_/g, "-");
  const found = k === undefined ? undefined : KINDS[k] ?? KINDS[`${k}s`];
  if (!found) {
    throw new UsageError(`stingray ${command}: ${name ? `unknown kind "${name}"` : "give a kind"}; one of ${Object.keys(KINDS).join(", ")}`);
  }
  return [KINDS[k!] ? k! : `${k}s`, found];
}

/** `key=value` or `key!=value` (the first `=` or `!=` splits); whitespace around key and value is dropped. */
export function parseFilter(s: string): StateFilter {
  const i = s.indexOf("=");
  if (i <= 0 || (i === 1 && s[0] === "!")) {
    throw new UsageError(`stingray list: --filter must be KEY=VALUE or KEY!=VALUE, e.g. -f state=ALIVE, got "${s}"`);
  }
  const ne = s[i - 1] === "!";
  const key = s.slice(0, ne ? i - 1 : i).trim();
  if (!key) throw new UsageError(`stingray list: --filter "${s}" has no key`);
  return { key, predicate: ne ? "!=" : "=", value: s.slice(i + 1).trim() };
}

/** The warnings Ray prints after a list: truncated at the source, cut by --limit, nodes that did not answer. */
export function listWarnings(kindName: string, r: ListResult<unknown>, limit: number): string[] {
  const w: string[] = [];
  if (r.total > r.num_after_truncation) {
    w.push(`the cluster holds ${r.total} ${kindName}, of which only ${r.num_after_truncation} were read; use --filter to narrow the query`);
  }
  if (r.num_filtered > r.result.length && !(r.warnings ?? []).some((x) => /limit/.test(x))) {
    w.push(`showing ${r.result.length} of ${r.num_filtered} ${kindName} (--limit ${limit}); use --filter to narrow the query, or raise --limit`);
  }
  if (r.partial_failure_warning) w.push(r.partial_failure_warning);
  for (const x of r.warnings ?? []) w.push(x);
  return w;
}

// ---------------------------------------------------------------------------------------------
// list / get
// ---------------------------------------------------------------------------------------------

const QUERY_FLAGS: FlagSpec = {
  timeout: { type: "string", help: "Seconds the cluster may take to answer (default 30)." },
  ...CONNECT_FLAGS,
};
const LIST_FLAGS: FlagSpec = {
  filter: { type: "string", short: "f", multiple: true, help: "KEY=VALUE or KEY!=VALUE; repeat to AND them." },
  limit: { type: "string", help: "Most records to print (default 100)." },
  detail: { type: "boolean", help: "Every field (YAML unless --format says otherwise)." },
  format: { type: "string", help: "table (default), json or yaml." },
  ...QUERY_FLAGS,
  ...HELP_FLAG,
};

function timeoutOf(command: string, v: Record<string, string | boolean | undefined>): number | undefined {
  return num(command, "timeout", v.timeout);
}

function renderTable(k: Kind<unknown>, rows: unknown[]): string {
  return table(k.columns.map((c) => c[0]), rows.map((r) => k.columns.map((c) => c[1](r))));
}

export async function listCommand(argv: string[]): Promise<number> {
  const { values: v, positionals, lists } = parse("list", argv, LIST_FLAGS);
  if (v.help) {
    process.stdout.write(help(`list <${Object.keys(KINDS).join("|")}> [-f KEY=VALUE]... [--limit N] [--detail] [--format table|json|yaml]`,
      "List the cluster's nodes, actors, tasks, objects, workers, jobs or placement groups.", LIST_FLAGS));
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`stingray list: unexpected argument ${positionals[1]}; filters go with -f KEY=VALUE`);
  const [name, k] = kindOf("list", positionals[0]);
  const filters = (lists.filter ?? []).map(parseFilter);
  const limit = num("list", "limit", v.limit) ?? 100;
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`stingray list: --limit must be a positive integer, got ${String(v.limit)}`);
  const format = parseFormat("list", v.format, v.detail ? "yaml" : "table");
  const client = connectDashboard("list", v);
  const r = await k.fetch(client, { limit, detail: v.detail === true, filters, timeout: timeoutOf("list", v) });
  if (format !== "table") process.stdout.write(structured(format, r.result));
  else {
    process.stdout.write(`${banner("List")}Stats:\n${"-".repeat(30)}\nTotal: ${r.result.length}\n\n`);
    process.stdout.write(r.result.length ? `Table:\n${"-".repeat(30)}\n${renderTable(k, r.result)}` : `No ${name} in the cluster${filters.length ? " match the filters" : ""}.\n`);
  }
  for (const w of listWarnings(name, r, limit)) process.stderr.write(`Warning: ${w}\n`);
  return 0;
}

const GET_FLAGS: FlagSpec = { format: { type: "string", help: "yaml (default) or json." }, ...QUERY_FLAGS, ...HELP_FLAG };

export async function getCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse("get", argv, GET_FLAGS);
  if (v.help) {
    process.stdout.write(help(`get <${Object.keys(KINDS).join("|")}> ID [--format yaml|json]`, "Show every field of one record.", GET_FLAGS));
    return 0;
  }
  const [, k] = kindOf("get", positionals[0]);
  const id = positionals[1];
  if (!id || positionals.length > 2) throw new UsageError(`stingray get: give a kind and one id, e.g. \`stingray get actors ACTOR_ID\` (\`stingray list ${positionals[0] ?? "actors"}\` shows ids)`);
  const format = parseFormat("get", v.format, "yaml");
  const client = connectDashboard("get", v);
  for (const key of k.idKeys) {
    const r = await k.fetch(client, { detail: true, filters: [{ key, predicate: "=", value: id }], timeout: timeoutOf("get", v), limit: 1000 });
    if (!r.result.length) continue;
    if (format === "json") process.stdout.write(structured("json", r.result.length === 1 ? r.result[0] : r.result));
    else process.stdout.write(r.result.map((x) => `---\n${yaml(x)}`).join(""));
    return 0;
  }
  process.stderr.write(`Resource with id=${id} not found in the cluster.\n`);
  return 1;
}

// ---------------------------------------------------------------------------------------------
// summary
// ---------------------------------------------------------------------------------------------

const SUMMARY_FLAGS: FlagSpec = { format: { type: "string", help: "table (default), json or yaml." }, ...QUERY_FLAGS, ...HELP_FLAG };

function countsTable(first: string[], rows: Array<{ key: string[]; counts: Partial<Record<string, number>> }>, order: readonly string[]): string {
  const present = order.filter((s) => rows.some((r) => r.counts[s]));
  const extra = [...new Set(rows.flatMap((r) => Object.keys(r.counts)))].filter((s) => !order.includes(s)).sort();
  const states = [...present, ...extra];
  return table([...first, "TOTAL", ...states], rows.map((r) => [
    ...r.key, String(Object.values(r.counts).reduce<number>((a, b) => a + (b ?? 0), 0)), ...states.map((s) => String(r.counts[s] ?? 0)),
  ]));
}

const ACTOR_STATES: readonly ActorStateName[] = ["DEPENDENCIES_UNREADY", "PENDING_CREATION", "ALIVE", "RESTARTING", "DEAD"];

export async function summaryCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse("summary", argv, SUMMARY_FLAGS);
  if (v.help) { process.stdout.write(help("summary <tasks|actors|objects> [--format table|json|yaml]", "Counts by function, class or node.", SUMMARY_FLAGS)); return 0; }
  const what = positionals[0];
  if (!what || !["tasks", "actors", "objects"].includes(what) || positionals.length > 1) {
    throw new UsageError("stingray summary: give one of tasks, actors, objects, e.g. `stingray summary tasks`");
  }
  const format = parseFormat("summary", v.format);
  const client = connectDashboard("summary", v);
  const o = { timeout: timeoutOf("summary", v) };
  const line = "-".repeat(36);
  if (what === "tasks") {
    const s = await client.summarizeTasks(o);
    if (format !== "table") { process.stdout.write(structured(format, s)); return 0; }
    const entries = Object.values(s.summary).sort((a, b) => a.func_or_class_name.localeCompare(b.func_or_class_name));
    process.stdout.write(`${banner("Tasks Summary")}Stats:\n${line}\ntotal_actor_scheduled: ${s.total_actor_scheduled}\n` +
      `total_actor_tasks: ${s.total_actor_tasks}\ntotal_tasks: ${s.total_tasks}\n\nTable (group by func_name):\n${line}\n` +
      (entries.length ? countsTable(["FUNC_OR_CLASS_NAME", "TYPE"], entries.map((e) => ({ key: [e.func_or_class_name, e.type], counts: e.state_counts })), TASK_STATES) : "No tasks in the cluster.\n"));
    if (s.num_dropped_events) process.stderr.write(`Warning: ${s.num_dropped_events} task events were dropped (buffers full); counts are lower bounds\n`);
  } else if (what === "actors") {
    const s = await client.summarizeActors(o);
    if (format !== "table") { process.stdout.write(structured(format, s)); return 0; }
    const entries = Object.values(s.summary).sort((a, b) => a.class_name.localeCompare(b.class_name));
    process.stdout.write(`${banner("Actors Summary")}Stats:\n${line}\ntotal_actors: ${s.total_actors}\n\nTable (group by class):\n${line}\n` +
      (entries.length ? countsTable(["CLASS_NAME"], entries.map((e) => ({ key: [e.class_name], counts: e.state_counts })), ACTOR_STATES) : "No actors in the cluster.\n"));
  } else {
    const s = await client.summarizeObjects(o);
    if (format !== "table") { process.stdout.write(structured(format, s)); return 0; }
    const nodes = Object.entries(s.by_node).sort((a, b) => b[1].size_bytes - a[1].size_bytes);
    process.stdout.write(`${banner("Objects Summary")}Stats:\n${line}\ntotal_objects: ${s.total_objects}\ntotal_size: ${bytes(s.total_size_bytes)}\n\n` +
      `Table (group by node):\n${line}\n` + (nodes.length
      ? table(["NODE_ID", "NODE_IP", "OBJECTS", "SIZE", "SPILLED"], nodes.map(([id, n]) => [id, n.node_ip, String(n.objects), bytes(n.size_bytes), String(n.spilled)]))
      : "No objects in the cluster.\n"));
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// logs
// ---------------------------------------------------------------------------------------------

const LOG_FLAGS: FlagSpec = {
  "node-id": { type: "string", help: "Node whose logs to read (default: the head)." },
  "node-ip": { type: "string", help: "Node by IP address (instead of --node-id)." },
  id: { type: "string", help: "actor/task/job: the actor id, task id or submission id." },
  pid: { type: "string", help: "worker (or actor): the worker's process id." },
  "attempt-number": { type: "string", help: "task: which attempt (default 0)." },
  tail: { type: "string", help: "Last N lines (default 1000; --tail=-1 for the whole file)." },
  follow: { type: "boolean", short: "f", help: "Keep printing what is appended (Ctrl-C to stop)." },
  err: { type: "boolean", help: "The worker's stderr instead of stdout (actor, task, worker)." },
  ...QUERY_FLAGS,
  ...HELP_FLAG,
};
const LOG_SUBCOMMANDS = ["cluster", "actor", "task", "worker", "job"];
/** `--tail=-1`: as many lines as the node reads at once (the server's lines must be positive). */
const WHOLE_FILE = 2 ** 31 - 1;

/** fnmatch-style glob over file names (`*` and `?` also match '/'), as `ray logs` takes it. */
export function fileGlob(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
}

async function printLog(client: DashboardClient, q: LogQuery, followIt: boolean): Promise<number> {
  if (!followIt) {
    const text = await client.getLog(q);
    process.stdout.write(text);
    if (q.lines !== undefined && q.lines < WHOLE_FILE && text.split("\n").filter((l, i, a) => l || i < a.length - 1).length >= q.lines) {
      process.stderr.write(`--- Log has been truncated to last ${q.lines} lines. Use --tail to change that; --tail=-1 for the whole file. ---\n`);
    }
    return 0;
  }
  const abort = new AbortController();
  const onInt = (): void => abort.abort();
  process.once("SIGINT", onInt);
  try {
    for await (const chunk of client.followLog(q, abort.signal)) process.stdout.write(chunk);
  } catch (e) {
    if (!abort.signal.aborted) throw e;
  } finally {
    process.off("SIGINT", onInt);
  }
  return 0;
}

export async function logsCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse("logs", argv, LOG_FLAGS);
  if (v.help) {
    process.stdout.write(help("logs [cluster] [GLOB | FILENAME] [--node-id ID | --node-ip IP] [--tail N] [-f]\n" +
      "       stingray logs actor --id ACTOR_ID | task --id TASK_ID | worker --pid PID | job --id SUBMISSION_ID",
    "List a node's log files, or print one (a file name, or an actor's, task's, worker's or job's output).", LOG_FLAGS));
    return 0;
  }
  const sub = LOG_SUBCOMMANDS.includes(positionals[0] ?? "") ? positionals.shift()! : "cluster";
  if (positionals.length > 1) throw new UsageError(`stingray logs: unexpected argument ${positionals[1]} (see --help)`);
  if (v["node-id"] && v["node-ip"]) throw new UsageError("stingray logs: give --node-id or --node-ip, not both");
  let tail = v.tail === undefined ? 1000 : Number(v.tail);
  if (!Number.isInteger(tail) || (tail < 1 && tail !== -1)) throw new UsageError(`stingray logs: --tail must be a positive number of lines, or -1 for the whole file; got ${String(v.tail)}`);
  if (tail === -1) tail = WHOLE_FILE;
  const suffix = v.err ? "err" as const : "out" as const;
  const client = connectDashboard("logs", v);
  const node: LogQuery = v["node-id"] ? { node_id: v["node-id"] as string } : v["node-ip"] ? { node_ip: v["node-ip"] as string } : {};
  const need = (flag: string, example: string): string => {
    const x = v[flag];
    if (typeof x !== "string" || !x) throw new UsageError(`stingray logs ${sub}: give --${flag}, e.g. \`stingray logs ${sub} --${flag} ${example}\``);
    return x;
  };
  const followIt = v.follow === true;
  switch (sub) {
    case "actor":
      if (v.pid !== undefined && v.id === undefined) return printLog(client, { ...node, pid: Number(need("pid", "12345")), suffix, lines: tail }, followIt);
      return printLog(client, { actor_id: need("id", "ACTOR_ID"), suffix, lines: tail }, followIt);
    case "task":
      return printLog(client, { task_id: need("id", "TASK_ID"), attempt_number: num("logs", "attempt-number", v["attempt-number"]) ?? 0, suffix, lines: tail }, followIt);
    case "job":
      return printLog(client, { submission_id: need("id", "SUBMISSION_ID"), lines: tail }, followIt);
    case "worker": {
      const pid = Number(need("pid", "12345"));
      if (!Number.isInteger(pid) || pid <= 0) throw new UsageError(`stingray logs worker: --pid must be a process id, got ${String(v.pid)}`);
      return printLog(client, { ...node, pid, suffix, lines: tail }, followIt); // no node: the head
    }
  }
  const glob = positionals[0];
  const listing = await client.listLogs({ ...node, ...(glob ? { glob } : {}) }); // no node: the head
  const re = fileGlob(glob ?? "*");
  const categories = Object.fromEntries(Object.entries(listing.categories)
    .map(([c, files]) => [c, files.filter((f) => re.test(f))] as const).filter(([, files]) => files.length));
  const files = Object.values(categories).flat();
  if (glob && files.length === 1) return printLog(client, { node_id: listing.node_id, filename: files[0]!, lines: tail }, followIt);
  if (glob && !files.length) {
    process.stderr.write(`No log file matches ${glob} on node ${listing.node_id} (${listing.node_ip}); \`stingray logs\` lists them.\n`);
    return 1;
  }
  process.stdout.write(`Node ID: ${listing.node_id}\nNode IP: ${listing.node_ip}\n${yaml(categories)}`);
  if (glob) process.stderr.write(`${files.length} files match ${glob}; give one file name to print it.\n`);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// timeline
// ---------------------------------------------------------------------------------------------

const TIMELINE_FLAGS: FlagSpec = {
  output: { type: "string", short: "o", help: "File to write (default stingray-timeline-<date>.json in this directory)." },
  "job-id": { type: "string", help: "Only this job's tasks." },
  ...CONNECT_FLAGS,
  ...HELP_FLAG,
};

export function timelineFileName(d = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, "0");
  return `stingray-timeline-${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}_${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}.json`;
}

export async function timelineCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse("timeline", argv, TIMELINE_FLAGS);
  if (v.help) { process.stdout.write(help("timeline [--output FILE] [--job-id ID]", "Write the tasks' timeline as a Chrome trace.", TIMELINE_FLAGS)); return 0; }
  if (positionals.length) throw new UsageError(`stingray timeline: unexpected argument ${positionals[0]}; the file goes with --output`);
  const events = await connectDashboard("timeline", v).timeline(v["job-id"] ? { job_id: v["job-id"] as string } : {});
  const file = (v.output as string | undefined) ?? timelineFileName();
  const text = JSON.stringify(events);
  fs.writeFileSync(file, text);
  process.stdout.write(`Trace file written to ${file} (${Buffer.byteLength(text)} bytes, ${events.length} events).\n` +
    "Open it in Chrome at chrome://tracing (Load), or at https://ui.perfetto.dev (Open trace file).\n");
  return 0;
}

// ---------------------------------------------------------------------------------------------
// memory
// ---------------------------------------------------------------------------------------------

const MEMORY_FLAGS: FlagSpec = {
  limit: { type: "string", help: "Most objects to list (default 100)." },
  "stats-only": { type: "boolean", help: "Only the per-node object store usage." },
  format: { type: "string", help: "table (default), json or yaml." },
  ...QUERY_FLAGS,
  ...HELP_FLAG,
};

/** `stingray memory` as text: per node, its store usage, then its objects largest first. */
export function renderMemory(nodes: NodeState[], objects: ObjectState[], total: { objects: number; bytes: number }, statsOnly: boolean): string {
  const byNode = new Map<string, ObjectState[]>();
  for (const o of objects) byNode.set(o.node_id, [...(byNode.get(o.node_id) ?? []), o]);
  const alive = nodes.filter((n) => n.state === "ALIVE");
  const ids = [...new Set([...alive.map((n) => n.node_id), ...byNode.keys()])];
  let out = banner("Object store status");
  for (const id of ids) {
    const n = nodes.find((x) => x.node_id === id);
    const objs = (byNode.get(id) ?? []).sort((a, b) => b.object_size - a.object_size);
    const s = n?.stats;
    const usage = s ? `${bytes(s.object_store_used_bytes)} of ${bytes(s.object_store_capacity_bytes)} used` +
      (s.object_store_capacity_bytes ? ` (${(100 * s.object_store_used_bytes / s.object_store_capacity_bytes).toFixed(1)}%)` : "") +
      `, ${s.num_objects} objects` : "usage unknown";
    out += `\nNode ${id} (${n?.node_ip ?? objs[0]?.ip ?? "?"}${n?.is_head_node ? ", head" : ""}): ${usage}\n`;
    if (statsOnly) continue;
    out += objs.length
      ? table(["OBJECT_ID", "SIZE", "COPY_TYPE", "STATE", "PINNED", "OWNER_IP", "OWNER_WORKER_ID"],
        objs.map((o) => [o.object_id, bytes(o.object_size), o.copy_type, o.state, String(o.pinned), o.owner_ip, o.owner_worker_id]))
      : "  (no objects listed)\n";
  }
  return out + `\nTotal: ${total.objects} objects, ${bytes(total.bytes)} in the object store of ${ids.length} node${ids.length === 1 ? "" : "s"}\n`;
}

export async function memoryCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse("memory", argv, MEMORY_FLAGS);
  if (v.help) { process.stdout.write(help("memory [--limit N] [--stats-only]", "Object store usage per node and the objects in it, largest first.", MEMORY_FLAGS)); return 0; }
  if (positionals.length) throw new UsageError(`stingray memory: unexpected argument ${positionals[0]} (see --help)`);
  const limit = num("memory", "limit", v.limit) ?? 100;
  const format: Format = parseFormat("memory", v.format);
  const client = connectDashboard("memory", v);
  const timeout = timeoutOf("memory", v);
  const [nodes, objects, summary] = await Promise.all([
    client.listNodes({ detail: true, limit: 10_000, timeout }),
    v["stats-only"] ? undefined : client.listObjects({ limit, timeout }),
    client.summarizeObjects({ timeout }),
  ]);
  if (format !== "table") {
    process.stdout.write(structured(format, { nodes: nodes.result.map((n) => ({ node_id: n.node_id, node_ip: n.node_ip, stats: n.stats })),
      summary, objects: objects?.result ?? [] }));
    return 0;
  }
  process.stdout.write(renderMemory(nodes.result, objects?.result ?? [], { objects: summary.total_objects, bytes: summary.total_size_bytes }, v["stats-only"] === true));
  if (objects) for (const w of listWarnings("objects", objects, limit)) process.stderr.write(`Warning: ${w}\n`);
  return 0;
}
