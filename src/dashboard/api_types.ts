/**
 * @module dashboard/api_types
 * The dashboard's HTTP API: every route's request and response payload, declared once and shared
 * by the server (src/dashboard), the CLI (src/cli via dashboard/client.ts) and the web UI
 * (src/web_ui). Types and constants only, no imports, so the browser bundle can use it as is.
 *
 * Field names follow Ray's job and state APIs (snake_case) so that clients written for Ray port
 * with few changes. Times are milliseconds since the epoch unless a name says otherwise.
 */

// ---------------------------------------------------------------------------------------------
// Routes (method and path) — the single list the server registers and the clients call.
// ---------------------------------------------------------------------------------------------

export const API_ROUTES = {
  version: "GET /api/version",
  login: "POST /api/login",
  logout: "POST /api/logout",
  // Jobs (Ray's job submission API).
  submitJob: "POST /api/jobs/",
  listJobs: "GET /api/jobs/",
  getJob: "GET /api/jobs/:id",
  jobLogs: "GET /api/jobs/:id/logs",
  /** Server-sent events: `data:` is a JobLogChunk (JSON); the last event is `event: end` (or `event: error` with `{error}`). */
  tailJobLogs: "GET /api/jobs/:id/logs/tail",
  stopJob: "POST /api/jobs/:id/stop",
  deleteJob: "DELETE /api/jobs/:id",
  /** Package upload for runtime_env.working_dir: `:protocol` is `gcs`, `:name` `_stingray_pkg_<hash>.zip`. */
  packageExists: "GET /api/packages/:protocol/:name",
  uploadPackage: "PUT /api/packages/:protocol/:name",
  // State API.
  listNodes: "GET /api/v0/nodes",
  listActors: "GET /api/v0/actors",
  listTasks: "GET /api/v0/tasks",
  listObjects: "GET /api/v0/objects",
  listWorkers: "GET /api/v0/workers",
  listStateJobs: "GET /api/v0/jobs",
  listPlacementGroups: "GET /api/v0/placement_groups",
  summarizeTasks: "GET /api/v0/tasks/summarize",
  summarizeActors: "GET /api/v0/actors/summarize",
  summarizeObjects: "GET /api/v0/objects/summarize",
  /** Chrome trace events (open in chrome://tracing or Perfetto). */
  timeline: "GET /api/v0/tasks/timeline",
  listLogs: "GET /api/v0/logs",
  /** text/plain; `?follow=1` streams (server-sent events of LogChunk; `event: error` with `{error}` if it breaks). */
  getLog: "GET /api/v0/logs/file",
  // Cluster overview and charts.
  clusterStatus: "GET /api/cluster_status",
  metricsHistory: "GET /api/metrics/history",
  /** Prometheus HTTP service discovery: `[{labels, targets: ["ip:port", …]}]`. */
  prometheusSd: "GET /api/prometheus/sd",
} as const;
export type RouteName = keyof typeof API_ROUTES;

// ---------------------------------------------------------------------------------------------
// Common
// ---------------------------------------------------------------------------------------------

/** Body of every error response (4xx/5xx). */
export interface ApiError { error: string }

export interface VersionResponse {
  /** API version of this dashboard. */
  version: string;
  stingray_version: string;
  session_name: string;
}

export type Resources = Record<string, number>;

// ---------------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------------

export type JobStatus = "PENDING" | "RUNNING" | "STOPPED" | "SUCCEEDED" | "FAILED";
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ["STOPPED", "SUCCEEDED", "FAILED"];

export interface RuntimeEnv {
  /** A package URI (`gcs://_stingray_pkg_<hash>.zip`) after upload; a local dir only on the client side. */
  working_dir?: string;
  env_vars?: Record<string, string>;
  /** Client side: globs of files left out of the working_dir package. */
  excludes?: string[];
}

export interface JobSubmitRequest {
  entrypoint: string;
  /** Unique per cluster; generated (`stingraysubmit_<16 chars>`) when absent. */
  submission_id?: string;
  runtime_env?: RuntimeEnv;
  metadata?: Record<string, string>;
  entrypoint_num_cpus?: number;
  entrypoint_num_gpus?: number;
  entrypoint_memory?: number;
  entrypoint_resources?: Resources;
}

export interface JobSubmitResponse { job_id: string; submission_id: string }

export interface DriverInfo { id: string; node_ip_address: string; pid: string }

export interface JobDetails {
  /** SUBMISSION: submitted through the job API; DRIVER: a driver that called init() itself. */
  type: "SUBMISSION" | "DRIVER";
  /** The cluster job id of the driver, once its entrypoint has called init(). */
  job_id: string | null;
  submission_id: string | null;
  driver_info: DriverInfo | null;
  status: JobStatus;
  entrypoint: string;
  message: string | null;
  error_type: string | null;
  start_time: number | null;
  end_time: number | null;
  metadata: Record<string, string>;
  runtime_env: RuntimeEnv;
  /** Node the entrypoint runs on. */
  driver_node_id: string | null;
  driver_exit_code: number | null;
  entrypoint_num_cpus: number | null;
  entrypoint_num_gpus: number | null;
  entrypoint_memory: number | null;
  entrypoint_resources: Resources | null;
}

export interface JobLogsResponse { logs: string }
/** One SSE `data:` payload of a log tail. */
export interface JobLogChunk { text: string }
/** The final SSE event (`event: end`) of a job log tail. */
export interface JobLogEnd { status: JobStatus }
export interface JobStopResponse { stopped: boolean }
export interface JobDeleteResponse { deleted: boolean }

// ---------------------------------------------------------------------------------------------
// State API: envelopes, filters
// ---------------------------------------------------------------------------------------------

/**
 * Query parameters of every list route: `limit` (default 100), `detail` (1: every field),
 * `filter_keys`, `filter_predicates` (`=` or `!=`) and `filter_values`, repeated in step, as Ray's
 * state API takes them; `timeout` in seconds.
 */
export type FilterPredicate = "=" | "!=";
export interface StateFilter { key: string; predicate: FilterPredicate; value: string }

export interface ListResult<T> {
  /** Matching records before `limit`. */
  total: number;
  num_after_truncation: number;
  num_filtered: number;
  result: T[];
  /** Set when some nodes did not answer (the rest is still listed). */
  partial_failure_warning: string | null;
  warnings: string[] | null;
}

/** Ray's state API envelope: `{result, msg, data: {result}}`. */
export interface StateEnvelope<T> { result: boolean; msg: string; data: { result: T } }
/** The summarize routes answer, as Ray's: the cluster-wide summary under `node_id_to_summary.cluster`. */
export type SummaryEnvelope<T> = StateEnvelope<{ node_id_to_summary: { cluster: T } }>;

export type NodeStateName = "ALIVE" | "DEAD";
export interface NodeState {
  node_id: string;
  node_ip: string;
  node_name: string;
  is_head_node: boolean;
  state: NodeStateName;
  state_message: string | null;
  resources_total: Resources;
  resources_available: Resources;
  labels: Record<string, string>;
  start_time_ms: number;
  end_time_ms: number | null;
  /** Live figures (absent for dead nodes or a node that did not answer). */
  stats: NodeStats | null;
}

export interface NodeStats {
  cpu_count: number;
  /** Busy fraction of all CPUs over the last sample interval, 0..1. */
  cpu_utilization: number;
  load_avg: [number, number, number];
  mem_total_bytes: number;
  mem_used_bytes: number;
  object_store_used_bytes: number;
  object_store_capacity_bytes: number;
  num_objects: number;
  num_workers: number;
  num_idle_workers: number;
  disk_total_bytes: number;
  disk_used_bytes: number;
}

export type ActorStateName = "DEPENDENCIES_UNREADY" | "PENDING_CREATION" | "ALIVE" | "RESTARTING" | "DEAD";
export interface ActorState {
  actor_id: string;
  class_name: string;
  state: ActorStateName;
  job_id: string;
  name: string | null;
  namespace: string;
  node_id: string | null;
  pid: number | null;
  worker_id: string | null;
  num_restarts: number;
  max_restarts: number;
  is_detached: boolean;
  required_resources: Resources;
  death_cause: string | null;
}

export type TaskStateName =
  | "PENDING_ARGS_AVAIL" | "PENDING_NODE_ASSIGNMENT" | "SUBMITTED_TO_WORKER" | "RUNNING"
  | "FINISHED" | "FAILED";
export const TASK_STATES: readonly TaskStateName[] = [
  "PENDING_ARGS_AVAIL", "PENDING_NODE_ASSIGNMENT", "SUBMITTED_TO_WORKER", "RUNNING", "FINISHED", "FAILED",
];
export type TaskType = "NORMAL_TASK" | "ACTOR_CREATION_TASK" | "ACTOR_TASK" | "DRIVER_TASK";
export interface TaskStateEvent { state: TaskStateName; created_ms: number }
export interface TaskState {
  task_id: string;
  attempt_number: number;
  name: string;
  state: TaskStateName;
  job_id: string;
  actor_id: string | null;
  type: TaskType;
  func_or_class_name: string;
  node_id: string | null;
  worker_id: string | null;
  worker_pid: number | null;
  error_type: string | null;
  error_message: string | null;
  /** Remote stack of a failed task (detail only). */
  error_stack: string | null;
  required_resources: Resources;
  creation_time_ms: number | null;
  start_time_ms: number | null;
  end_time_ms: number | null;
  /** State history, oldest first (detail only; empty otherwise). */
  events: TaskStateEvent[];
}

export interface ObjectState {
  object_id: string;
  object_size: number;
  /** Node whose store holds this copy. */
  node_id: string;
  ip: string;
  owner_worker_id: string;
  owner_ip: string;
  /** PRIMARY: the copy created by the owner's task or put; COPY: pulled by another node. */
  copy_type: "PRIMARY" | "COPY";
  state: "CREATING" | "SEALED" | "SPILLED";
  /** Readers holding a mapping of it right now. */
  pinned: boolean;
}

export interface WorkerState {
  worker_id: string;
  worker_type: "WORKER" | "DRIVER";
  is_alive: boolean;
  node_id: string;
  ip: string;
  pid: number;
  job_id: string | null;
  actor_id: string | null;
  /** IDLE: in the pool; LEASED: running tasks or an actor; STARTING: not registered yet. */
  state: "STARTING" | "IDLE" | "LEASED";
  start_time_ms: number;
}

/** GET /api/v0/jobs: every driver the GCS knows, with its submission when there is one. */
export type JobState = JobDetails;

export interface PlacementGroupState { placement_group_id: string; name: string; state: string }

// ---------------------------------------------------------------------------------------------
// Summaries
// ---------------------------------------------------------------------------------------------

export interface TaskSummaryEntry { func_or_class_name: string; type: TaskType; state_counts: Partial<Record<TaskStateName, number>> }
export interface TaskSummary {
  summary: Record<string, TaskSummaryEntry>;
  total_tasks: number;
  total_actor_tasks: number;
  total_actor_scheduled: number;
  summary_by: "func_name";
  /** Tasks whose events were dropped (buffers full); counts are then lower bounds. */
  num_dropped_events: number;
}
export interface ActorSummaryEntry { class_name: string; state_counts: Partial<Record<ActorStateName, number>> }
export interface ActorSummary { summary: Record<string, ActorSummaryEntry>; total_actors: number }
export interface ObjectSummary {
  total_objects: number;
  total_size_bytes: number;
  by_node: Record<string, { node_ip: string; objects: number; size_bytes: number; spilled: number }>;
}

// ---------------------------------------------------------------------------------------------
// Logs and timeline
// ---------------------------------------------------------------------------------------------

/** GET /api/v0/logs?node_id=…|node_ip=…[&glob=PATTERN]: file names by category (in a StateEnvelope). */
export interface LogListing {
  node_id: string;
  node_ip: string;
  categories: Record<string, string[]>;
}
/**
 * GET /api/v0/logs/file: one of `filename` (with node_id or node_ip), `actor_id`, `task_id`,
 * `pid` (with node), or `submission_id`; `lines` = last N lines (default 1000; -1: the whole file, up to its
 * last 4 MiB); `suffix` out|err; `follow=1` streams it.
 */
export interface LogChunk { text: string }

/** One Chrome trace event ("X": a complete event with a duration). */
export interface TraceEvent {
  name: string; cat: string; ph: "X" | "M"; ts: number; dur?: number; pid: string; tid: string;
  args?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Cluster overview and metrics history
// ---------------------------------------------------------------------------------------------

export interface ResourceDemand { shape: Resources; count: number; infeasible: boolean }
export interface ClusterStatus {
  session_name: string;
  stingray_version: string;
  head_ip: string;
  nodes_alive: number;
  nodes_dead: number;
  resources_total: Resources;
  resources_available: Resources;
  demands: ResourceDemand[];
  jobs_by_status: Partial<Record<JobStatus, number>>;
  actors_by_state: Partial<Record<ActorStateName, number>>;
  tasks_by_state: Partial<Record<TaskStateName, number>>;
}

/** The series the dashboard samples (every `interval_s`) and keeps for `window_s`. */
export type MetricName =
  | "cpu_used" | "cpu_total" | "gpu_used" | "gpu_total" | "memory_used_bytes" | "memory_total_bytes"
  | "object_store_used_bytes" | "object_store_capacity_bytes" | "tasks_running" | "tasks_pending"
  | "tasks_finished_per_s" | "tasks_failed_per_s" | "actors_alive" | "nodes_alive";
export interface MetricsHistory {
  /** dashboard: the dashboard's own samples; prometheus: range queries (STINGRAY_PROMETHEUS_HOST is set). */
  source: "dashboard" | "prometheus";
  interval_s: number;
  window_s: number;
  /** Sample times (ms), shared by every series. */
  times: number[];
  series: Record<MetricName, number[]>;
}
