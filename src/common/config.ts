/**
 * @module common/config
 * The one registry of Stingray's tunables. Each entry has a default, a description, and can be
 * overridden by the environment variable `STINGRAY_<NAME>` (upper snake case). Daemons read it at
 * start; child processes inherit overrides through the environment.
 */

type Kind = "number" | "string" | "boolean";
interface Def<T> { kind: Kind; default: T; doc: string }

function num(d: number, doc: string): Def<number> { return { kind: "number", default: d, doc }; }
function str(d: string, doc: string): Def<string> { return { kind: "string", default: d, doc }; }
function bool(d: boolean, doc: string): Def<boolean> { return { kind: "boolean", default: d, doc }; }

export const TUNABLES = {
  max_frame_bytes: num(512 * 1024 * 1024, "Largest protocol frame accepted after authentication."),
  max_unauthenticated_frame_bytes: num(64 * 1024, "Largest frame accepted before the handshake completes."),
  rpc_flush_bytes: num(16 * 1024, "Queued outgoing bytes on a connection that are written at once instead of at the end of the event-loop turn (bursts go out in slices the peer can start on)."),
  local_sockets: bool(true, "Processes of one node also talk over abstract Unix sockets (Linux; the same token handshake), which cost less per message than TCP loopback. Not used when TLS is configured."),
  handshake_timeout_ms: num(10_000, "Time a new connection has to authenticate before it is closed."),
  connect_timeout_ms: num(10_000, "Time to keep retrying a connection to a daemon that is starting."),
  max_direct_call_object_size: num(100 * 1024, "Task results and puts up to this size travel inline; larger go to the node's object store."),
  inline_binary_threshold: num(64 * 1024, "Binary values this large or larger are stored out of band (zero-copy reads)."),
  max_tasks_in_flight_per_worker: num(64, "Tasks pipelined to one leased worker before waiting for replies."),
  worker_lease_idle_ms: num(0, "How long a submitter keeps an idle lease before returning it to the raylet."),
  max_pending_lease_requests_per_class: num(8, "Concurrent worker lease requests per scheduling class."),
  num_prestart_workers: num(-1, "Workers each raylet starts ahead of demand (-1: one per CPU)."),
  worker_register_timeout_ms: num(30_000, "Time a starting worker has to register with its raylet."),
  maximum_startup_concurrency: num(0, "Workers that may be starting at once (0: one per CPU, at least 2)."),
  idle_worker_kill_ms: num(60_000, "Idle workers beyond the prestart count are stopped after this long."),
  task_max_retries: num(3, "Default maxRetries for tasks (system failures)."),
  dashboard_sample_interval_s: num(5, "How often the dashboard samples cluster figures for its charts."),
  dashboard_history_window_s: num(3600, "How much sampled history the dashboard keeps for its charts."),
  user_metrics_report_interval_ms: num(2000, "How often a process sends its application metrics (ray.metrics) to its node for export."),
  job_stop_grace_ms: num(3000, "Time a stopped job's entrypoint gets after SIGTERM before SIGKILL."),
  task_events_report_interval_ms: num(1000, "How often each process sends its task state events to the GCS (for the state API and dashboard); 0 turns task events off."),
  task_events_max_buffer: num(100_000, "Pending tasks an owner keeps track of for task events (beyond it they are not reported)."),
  task_events_max_per_report: num(2_000, "Most task records a process reports per report interval (task_events_report_interval_ms; the budget refills over time, however often reports go out); beyond it they are dropped and counted (per-function finished/failed counts stay exact). Bounds the cost of task events under floods of tiny tasks."),
  task_events_max_tasks_in_gcs: num(100_000, "Tasks whose state the GCS keeps; the oldest are evicted first."),
  object_store_memory_fraction: num(0.3, "Default object store capacity as a fraction of system memory."),
  object_store_recycle_fraction: num(0.5, "Share of the object store that freed large objects' files may keep for reuse (fresh shared-memory pages are slow to write)."),
  object_write_map_cache_bytes: num(2 ** 31, "Bytes of writable mappings a process keeps for rewriting recycled object files at memcpy speed (enough for the three files a loop of 400 MB puts rotates through when frees arrive late)."),
  object_write_map_check_ms: num(1000, "How often a process drops its cached writable mappings of object files the store has deleted (a mapping would keep their memory)."),
  object_store_dir: str("", "Directory holding the node's shared-memory objects (default /dev/shm/stingray-<node>)."),
  object_spill_dir: str("", "Directory objects spill to when the store is full (default <session>/spill)."),
  object_spill_threshold: num(0.8, "Fraction of store capacity above which objects are spilled."),
  object_transfer_chunk_bytes: num(8 * 1024 * 1024, "Chunk size of object transfers between nodes."),
  object_transfer_inflight_chunks: num(4, "Chunks of one transfer requested at once."),
  health_check_period_ms: num(1_000, "How often the GCS pings each node."),
  health_check_failure_threshold: num(15, "Missed health checks before a node is marked dead."),
  gcs_reconnect_timeout_ms: num(60_000, "How long a raylet keeps retrying a lost GCS before it exits."),
  gcs_storage: str("memory", "GCS storage backend: memory or sqlite."),
  log_to_driver: bool(true, "Forward worker stdout/stderr to the driver."),
  log_batch_ms: num(50, "Worker output is batched for this long before it is forwarded."),
  kill_grace_ms: num(2_000, "Grace period between SIGTERM and SIGKILL when stopping processes."),
  tls_cert: str("", "PEM certificate file: when set (with tls_key and tls_ca), every Stingray link uses TLS."),
  tls_key: str("", "PEM private key file for tls_cert."),
  tls_ca: str("", "PEM CA file that peers' certificates must chain to."),
  // Autoscaler (src/autoscaler/): Ray's AUTOSCALER_* constants.
  launcher_ssh_wait_s: num(300, "How long the node updater waits for a new node to answer over SSH before the node's setup fails (Ray's NODE_START_WAIT_S)."),
  autoscaler_update_interval_s: num(5, "Seconds between autoscaler updates on the head (the monitor loop)."),
  autoscaler_max_launch_batch: num(5, "Most nodes the autoscaler asks the provider for in one create call."),
  autoscaler_max_concurrent_launches: num(10, "Most nodes being created at once; with autoscaler_max_launch_batch it sets how many create calls run in parallel."),
  autoscaler_heartbeat_timeout_s: num(30, "A worker whose setup succeeded but whose raylet has not been registered with the GCS for this long is terminated as unhealthy."),
  autoscaler_upscaling_initial_num_nodes: num(5, "Nodes of a type that may be pending at once however small the cluster is (upscaling_speed scales the limit above this)."),
  autoscaler_max_resource_demand_vector_size: num(1000, "Queued resource demands (single bundles, counts expanded) the autoscaler bin-packs per update; more are ignored that round, which bounds its cost."),
} as const;

export type TunableName = keyof typeof TUNABLES;
type ValueOf<N extends TunableName> = (typeof TUNABLES)[N]["default"] extends number ? number
  : (typeof TUNABLES)[N]["default"] extends boolean ? boolean : string;

const overrides = new Map<string, number | string | boolean>();

export function envName(name: TunableName): string {
  return `STINGRAY_${name.toUpperCase()}`;
}

/** Read a tunable: explicit override, then environment, then default. */
export function config<N extends TunableName>(name: N): ValueOf<N> {
  const o = overrides.get(name);
  if (o !== undefined) return o as ValueOf<N>;
  const def = TUNABLES[name] as Def<unknown>;
  const raw = process.env[envName(name)];
  if (raw === undefined || raw === "") return def.default as ValueOf<N>;
  if (def.kind === "number") {
    const n = Number(raw);
    if (!Number.isFinite(n)) {
      throw new Error(`${envName(name)}=${JSON.stringify(raw)} is not a number; unset it or give a number`);
    }
    return n as ValueOf<N>;
  }
  if (def.kind === "boolean") return (raw === "1" || raw.toLowerCase() === "true") as ValueOf<N>;
  return raw as ValueOf<N>;
}

/** Set a tunable for this process (tests, init options). */
export function setConfig<N extends TunableName>(name: N, value: ValueOf<N>): void {
  overrides.set(name, value);
  stable.delete(name);
}

const stable = new Map<string, unknown>();
/**
 * A tunable read once per process and then remembered (for per-task hot paths, where reading
 * the environment each time costs more than the work): later environment changes in this
 * process are not seen, `setConfig` still is.
 */
export function configOnce<N extends TunableName>(name: N): ValueOf<N> {
  let v = stable.get(name);
  if (v === undefined) stable.set(name, (v = config(name)));
  return v as ValueOf<N>;
}
