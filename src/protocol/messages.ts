/**
 * @module protocol/messages
 * Every message that crosses a process boundary, in one place: the shared structures (addresses,
 * task specs, return values) and one entry per RPC method with its request and reply schema.
 * Method names are `<service>.<Method>`: `gcs.*` served by the GCS, `raylet.*` by a raylet,
 * `worker.*` by every core worker (drivers included). Bump PROTOCOL_VERSION on any incompatible
 * change; peers of another version are refused at the handshake.
 */
import {
  arr, bin, bool, int, num, obj, oneOf, opt, record, str, unknownValue,
  type Infer, type Schema,
} from "./schema.ts";

export const PROTOCOL_VERSION = 4;

// ---------- shared structures ----------
export const Address = obj({ nodeId: str, host: str, port: int, workerId: str });
export type Address = Infer<typeof Address>;

export const WireErr = obj({ code: str, message: str, data: opt(record(unknownValue)), stack: opt(str) });

/** An object reference as it travels: the id and the address of its owner. */
export const RefWire = obj({ id: str, owner: Address });
export type RefWire = Infer<typeof RefWire>;

export const Resources = record(num);
export type Resources = Infer<typeof Resources>;

export const FunctionDescriptor = obj({
  id: str, name: str, kind: oneOf(["function", "class"] as const), pkgHash: str, entry: str,
});
export type FunctionDescriptorWire = Infer<typeof FunctionDescriptor>;

/** A task argument: an inline serialized value, or a reference resolved by the executor. */
export const ArgSpec = obj({ v: opt(bin), ref: opt(RefWire) });
export type ArgSpec = Infer<typeof ArgSpec>;

export const SchedulingStrategy = obj({
  type: oneOf(["DEFAULT", "SPREAD", "NODE_AFFINITY"] as const),
  nodeId: opt(str), soft: opt(bool),
  /** Node labels the node must have: "value" to match, "!value" to exclude. */
  labels: opt(record(str)),
});
export type SchedulingStrategy = Infer<typeof SchedulingStrategy>;

export const TaskSpec = obj({
  taskId: str,
  jobId: str,
  kind: oneOf(["normal", "actor_create", "actor_task"] as const),
  fn: FunctionDescriptor,
  name: str,
  method: opt(str),
  actorId: opt(str),
  args: arr(ArgSpec),
  /** Number of return objects; 0 for fire-and-forget, -1 for a streaming generator. */
  numReturns: int,
  resources: Resources,
  maxRetries: int,
  retryExceptions: bool,
  owner: Address,
  envVars: opt(record(str)),
  maxConcurrency: opt(int),
  maxCalls: opt(int),
  strategy: opt(SchedulingStrategy),
  /** Attempt number, 0 for the first try. */
  attempt: int,
  /** GPU instance ids of the lease the task runs under (sets CUDA_VISIBLE_DEVICES). */
  gpuIds: opt(arr(int)),
});
export type TaskSpec = Infer<typeof TaskSpec>;

/**
 * A task pushed as a reference to a template the same connection defined earlier (see
 * worker/task_wire.ts): only what differs between calls of one function travels per call.
 */
export const TaskCall = obj({ t: int, taskId: str, args: arr(ArgSpec), attempt: int, gpuIds: opt(arr(int)) });
export type TaskCall = Infer<typeof TaskCall>;

/** One return of a task: inline value, or stored in the object store of `node`, or an error. */
export const ReturnValue = obj({ id: str, v: opt(bin), node: opt(str), size: opt(int), err: opt(WireErr) });
export type ReturnValue = Infer<typeof ReturnValue>;
/**
 * A return in a `worker.PushTask` reply: a ReturnValue without its id. Return i of task T is
 * always object `${T}r${i}`, and the caller already holds those id strings (hashed, in its
 * tables), so the reply carries neither the 22 bytes nor a fresh string to decode and hash.
 */
export const TaskReturn = obj({ v: opt(bin), node: opt(str), size: opt(int), err: opt(WireErr) });
export type TaskReturn = Infer<typeof TaskReturn>;

export const NodeInfo = obj({
  nodeId: str, ip: str, hostname: str, port: int, state: oneOf(["ALIVE", "DEAD"] as const),
  resources: Resources, available: Resources, labels: record(str), isHead: bool,
  startTime: num, deathReason: opt(str), objectStoreDir: opt(str), sessionDir: str,
  /** Where the node's Prometheus endpoint listens (none when metrics export is off). */
  metricsPort: opt(int),
  /** Ports that processes on this node (workers, drivers) may listen on; any when absent. */
  workerPorts: opt(arr(int)),
});
export type NodeInfo = Infer<typeof NodeInfo>;

export const ActorState = oneOf(["PENDING", "ALIVE", "RESTARTING", "DEAD"] as const);
export const ActorInfo = obj({
  actorId: str, jobId: str, className: str, name: opt(str), namespace: str, state: ActorState,
  address: opt(Address), numRestarts: int, maxRestarts: int, detached: bool,
  deathCause: opt(WireErr), pid: opt(int), ownerId: str,
});
export type ActorInfo = Infer<typeof ActorInfo>;

export const JobInfo = obj({
  jobId: str, namespace: str, driverPid: int, driverIp: str, startTime: num, endTime: opt(num),
  state: oneOf(["RUNNING", "FINISHED"] as const), entrypoint: str,
  /** Set when the driver is a job API submission's entrypoint. */
  submissionId: opt(str),
});
export type JobInfo = Infer<typeof JobInfo>;

/** Task states, in order (events carry their index). */
export const TASK_EVENT_STATES = [
  "PENDING_ARGS_AVAIL", "PENDING_NODE_ASSIGNMENT", "SUBMITTED_TO_WORKER", "RUNNING", "FINISHED", "FAILED",
] as const;

/** What a batch's events say about their tasks (one entry per function, method or actor in the batch). */
export const TaskDesc = obj({ jobId: str, name: str, kind: str, fn: str, actorId: opt(str), resources: Resources });
export type TaskDesc = Infer<typeof TaskDesc>;

/**
 * Task state changes, sent in batches by the processes that saw them (worker/task_events.ts) and
 * merged by task id in the GCS (gcs/task_manager.ts). Compact, because a busy process sends
 * thousands per second: each event is a tuple
 * `[taskId, attempt, state index, time, start or -1, created or -1, desc index]`; events of the
 * executing worker (RUNNING, or an end with a start time) happened at `where`; failures carry
 * their error in `errs`, by event index.
 */
export const TaskEventBatch = obj({
  descs: arr(TaskDesc),
  where: opt(obj({ nodeId: str, workerId: str, pid: int })),
  events: arr(unknownValue),
  errs: arr(obj({ i: int, type: str, msg: str, stack: opt(str) })),
  /** Tasks that ended since the last batch, per description: exact even when records were dropped. */
  counts: arr(obj({ d: int, finished: int, failed: int })),
  dropped: int,
});
export type TaskEventBatch = Infer<typeof TaskEventBatch>;

/** What the GCS knows of one task (merged events); the dashboard's state API reads these. */
export const TaskRecord = obj({
  taskId: str, attempt: int, jobId: str, state: str, name: str, kind: str, fn: str, actorId: opt(str),
  resources: Resources, nodeId: opt(str), workerId: opt(str), pid: opt(int),
  errType: opt(str), errMsg: opt(str), errStack: opt(str),
  created: opt(num), start: opt(num), end: opt(num),
  events: arr(obj({ state: str, t: num })),
});
export type TaskRecord = Infer<typeof TaskRecord>;

export const LogBatch = obj({
  jobId: str, pid: int, ip: str, workerId: str, stream: oneOf(["out", "err"] as const), lines: arr(str),
  actorName: opt(str),
});
export type LogBatch = Infer<typeof LogBatch>;

const Empty = obj({});
const Ok = obj({ ok: opt(bool) });

function m<Q, R>(req: Schema<Q>, res: Schema<R>): { req: Schema<Q>; res: Schema<R> } {
  return { req, res };
}

// ---------- methods ----------
export const METHODS = {
  // GCS: cluster metadata
  "gcs.RegisterNode": m(obj({ node: NodeInfo }), obj({ clusterId: str })),
  "gcs.UnregisterNode": m(obj({ nodeId: str, reason: str }), Ok),
  "gcs.GetAllNodes": m(Empty, obj({ nodes: arr(NodeInfo) })),
  "gcs.ReportResources": m(obj({ nodeId: str, available: Resources, total: Resources,
    pending: arr(Resources), infeasible: arr(Resources) }), Ok),
  "gcs.RegisterJob": m(obj({ namespace: str, driverPid: int, driverIp: str, entrypoint: str, submissionId: opt(str) }),
    obj({ jobId: str })),
  "gcs.FinishJob": m(obj({ jobId: str }), Ok),
  "gcs.GetAllJobs": m(Empty, obj({ jobs: arr(JobInfo) })),
  /** Nodes plus the cluster's resource demands, for `stingray status` and (later) the autoscaler. */
  "gcs.GetClusterStatus": m(Empty, obj({ nodes: arr(NodeInfo),
    demands: arr(obj({ shape: Resources, count: int, infeasible: bool })) })),
  "gcs.KvPut": m(obj({ ns: str, key: str, value: bin, overwrite: bool }), obj({ added: bool })),
  "gcs.KvGet": m(obj({ ns: str, key: str }), obj({ value: opt(bin) })),
  "gcs.KvDel": m(obj({ ns: str, key: str }), obj({ deleted: bool })),
  "gcs.KvKeys": m(obj({ ns: str, prefix: str }), obj({ keys: arr(str) })),
  "gcs.KvExists": m(obj({ ns: str, key: str }), obj({ exists: bool })),
  "gcs.CreateActor": m(obj({ actorId: str, spec: TaskSpec, className: str, name: opt(str), namespace: str,
    detached: bool, maxRestarts: int }), obj({ actor: ActorInfo })),
  "gcs.GetActor": m(obj({ actorId: opt(str), name: opt(str), namespace: opt(str) }), obj({ actor: opt(ActorInfo) })),
  "gcs.ListActors": m(Empty, obj({ actors: arr(ActorInfo) })),
  "gcs.KillActor": m(obj({ actorId: str, noRestart: bool }), Ok),
  "gcs.ReportWorkerDeath": m(obj({ nodeId: str, workerId: str, pid: int, actorId: opt(str),
    reason: str, intentional: bool }), Ok),
  "gcs.Subscribe": m(obj({ channel: oneOf(["actor", "node", "logs", "job", "warning", "worker"] as const), key: opt(str) }), Ok),
  "gcs.PublishLogs": m(LogBatch, Ok),
  "gcs.PublishWarning": m(obj({ jobId: str, message: str }), Ok),
  /** Sent by the GCS to subscribers. */
  "gcs.Published": m(obj({ channel: str, key: str, data: unknownValue }), Ok),
  "gcs.AddTaskEvents": m(TaskEventBatch, Ok),
  "gcs.GetTaskEvents": m(obj({ jobId: opt(str), taskId: opt(str), limit: int, byFunction: opt(bool) }),
    obj({ tasks: arr(TaskRecord), total: int, dropped: int, stateCounts: record(int),
      /** Every task that ever ended, per job and function (exact; records are sampled under floods). */
      totals: arr(obj({ jobId: str, fn: str, kind: str, finished: int, failed: int })),
      /** With byFunction: tasks in the table per job, function and state. */
      byFunction: opt(arr(obj({ jobId: str, fn: str, state: str, n: int }))) })),
  "gcs.GetRpcStats": m(Empty, obj({ methods: arr(obj({ method: str, calls: int, errors: int, buckets: arr(int), sumMs: num })) })),
  "gcs.Ping": m(Empty, obj({ time: num })),

  // Raylet: leases, workers, objects
  "raylet.RegisterWorker": m(obj({ workerId: str, pid: int, port: int }),
    obj({ nodeId: str, ip: str, sessionDir: str, gcsHost: str, gcsPort: int })),
  "raylet.RequestWorkerLease": m(obj({ jobId: str, resources: Resources, actorId: opt(str),
    strategy: opt(SchedulingStrategy), envHash: str, envVars: opt(record(str)), maxCalls: opt(int),
    /** How many raylets redirected this request already; a redirected request is not redirected again if it fits. */
    hops: opt(int),
    /** Tasks of this scheduling class queued at the requester (Ray's backlog size): demand the autoscaler sees. */
    backlog: opt(int),
    /** The node was chosen by the GCS, not the user: while queued, the request may move to a node with room (the raylet answers retryAt). */
    movable: opt(bool) }),
  obj({ leaseId: opt(str), worker: opt(Address), infeasible: opt(str), retryAt: opt(Address), gpuIds: opt(arr(int)), pid: opt(int) })),
  "raylet.ReturnWorker": m(obj({ leaseId: str, kill: opt(bool) }), Ok),
  "raylet.CancelLeaseRequests": m(obj({ jobId: str }), Ok),
  "raylet.KillWorker": m(obj({ workerId: str, force: bool, reason: str }), Ok),
  "raylet.ObjectCreate": m(obj({ id: str, size: int, owner: Address }), obj({ path: str })),
  "raylet.ObjectSeal": m(obj({ id: str }), Ok),
  "raylet.ObjectGet": m(obj({ ids: arr(str) }), obj({ paths: arr(opt(str)) })),
  "raylet.ObjectFree": m(obj({ ids: arr(str) }), Ok),
  /** Make an object stored on another node local (pulled in chunks); replies the local path. */
  "raylet.ObjectPull": m(obj({ id: str, fromNode: str, owner: Address }), obj({ path: str })),
  /** Read a chunk of a locally stored object (raylet to raylet). */
  "raylet.ObjectRead": m(obj({ id: str, offset: int, length: int }), obj({ data: bin, size: int })),
  "raylet.GetStats": m(Empty, obj({ nodeId: str, workers: int, idleWorkers: int, leases: int,
    pendingLeases: int, objects: int, storeUsed: int, storeCapacity: int, spilledBytes: int,
    spilledObjects: int, restoredObjects: int, available: Resources, total: Resources })),
  /** The host's live figures (CPU, memory, disk) for the dashboard. */
  "raylet.GetNodeStats": m(Empty, obj({ cpuCount: int, cpuUtilization: num, loadAvg: arr(num), memTotal: num,
    memUsed: num, diskTotal: num, diskUsed: num, netSent: num, netReceived: num })),
  "raylet.ListWorkers": m(Empty, obj({ workers: arr(obj({ workerId: str, pid: int, state: str, jobId: str,
    actorId: opt(str), startTime: num })) })),
  "raylet.ListObjects": m(obj({ limit: int }), obj({ total: int, objects: arr(obj({ id: str, size: int, owner: str,
    ownerIp: str, state: str, secondary: bool, mapped: bool })) })),
  /** Files in the node's session logs directory. */
  "raylet.ListLogs": m(Empty, obj({ files: arr(obj({ name: str, size: int, mtime: num })) })),
  /** A slice of one log file: from `offset` (negative: from the end), or its last `tailLines` lines. */
  "raylet.ReadLog": m(obj({ name: str, offset: int, length: int, tailLines: opt(int) }),
    obj({ data: bin, offset: int, size: int })),
  /** A process's application metrics (ray.metrics): everything it recorded so far (cumulative). */
  "raylet.ReportMetrics": m(obj({ workerId: str, metrics: arr(obj({
    name: str, kind: oneOf(["counter", "gauge", "histogram"] as const), description: str, tagKeys: arr(str), boundaries: opt(arr(num)),
    series: arr(obj({ tags: record(str), value: num, buckets: opt(arr(num)), sum: num, count: num, t: num })),
  })) }), Ok),
  "raylet.Ping": m(Empty, obj({ time: num })),
  "raylet.Shutdown": m(obj({ reason: str }), Ok),

  // Core worker (drivers and workers)
  // Either a whole `spec`, or a `call` of a template (defined by `tmpl` in the same or an earlier message).
  "worker.PushTask": m(obj({ spec: opt(TaskSpec), tmpl: opt(obj({ id: int, spec: TaskSpec })), call: opt(TaskCall) }),
    obj({ returns: arr(TaskReturn), retryable: opt(bool) })),
  "worker.GeneratorItem": m(obj({ taskId: str, index: int, ret: ReturnValue }), Ok),
  "worker.CancelTask": m(obj({ taskId: str, force: bool }), obj({ found: bool })),
  "worker.GetObject": m(obj({ id: str }), ReturnValue),
  "worker.Exit": m(obj({ reason: str }), Ok),
  "worker.AddBorrower": m(obj({ ids: arr(str) }), Ok),
  "worker.RemoveBorrower": m(obj({ ids: arr(str) }), Ok),

  // Remote client (a driver with no node; Ray Client's role), served by a proxy driver on the head
  "client.Connect": m(obj({ namespace: str, envVars: opt(record(str)) }),
    obj({ jobId: str, nodeId: str, nodeIp: str, namespace: str, proxy: Address })),
  "client.UploadCode": m(obj({ hash: str, pkg: bin }), Ok),
  "client.SubmitTask": m(obj({ taskId: str, fn: FunctionDescriptor, args: bin, options: record(unknownValue) }), Ok),
  "client.CreateActor": m(obj({ actorId: str, fn: FunctionDescriptor, args: bin, options: record(unknownValue) }), Ok),
  "client.SubmitActorTask": m(obj({ taskId: str, actorId: str, fn: FunctionDescriptor, method: str, args: bin,
    numReturns: int, name: str }), Ok),
  "client.Get": m(obj({ ids: arr(str), timeoutMs: opt(num) }),
    obj({ values: arr(obj({ inline: opt(bin), handle: opt(str), size: int })) })),
  "client.ReadChunk": m(obj({ handle: str, offset: int, length: int }), obj({ data: bin })),
  "client.ReleaseHandle": m(obj({ handle: str }), Ok),
  "client.Put": m(obj({ data: bin }), obj({ id: str })),
  "client.PutBegin": m(obj({ size: int }), obj({ handle: str })),
  "client.PutChunk": m(obj({ handle: str, offset: int, data: bin }), Ok),
  "client.PutEnd": m(obj({ handle: str }), obj({ id: str })),
  "client.Wait": m(obj({ ids: arr(str), numReturns: int, timeoutMs: opt(num) }), obj({ ready: arr(str) })),
  "client.Cancel": m(obj({ id: str, force: bool }), Ok),
  "client.KillActor": m(obj({ actorId: str, noRestart: bool }), Ok),
  "client.GetActor": m(obj({ name: str, namespace: opt(str) }), obj({ actor: opt(ActorInfo) })),
  "client.Nodes": m(Empty, obj({ nodes: arr(NodeInfo) })),
  "client.RequestResources": m(obj({ bundles: arr(Resources) }), Ok),
  "client.NextStreamItem": m(obj({ taskId: str, index: int }), obj({ id: opt(str) })),
  "client.Release": m(obj({ ids: arr(str) }), Ok),
} as const;

export type Methods = typeof METHODS;
export type MethodName = keyof Methods;
export type Req<M extends MethodName> = Infer<Methods[M]["req"]>;
export type Res<M extends MethodName> = Infer<Methods[M]["res"]>;

/**
 * On the wire a method travels as its number: its place in METHODS (the same on both ends, since
 * peers of another PROTOCOL_VERSION are refused). A number costs no string to decode, hash and
 * look up on every message.
 */
export const METHOD_NAMES = Object.freeze(Object.keys(METHODS)) as readonly MethodName[];
const METHOD_CODES = new Map<string, number>(METHOD_NAMES.map((n, i) => [n, i]));
/** The wire number of a method (-1 for a name that is not one, which any peer refuses). */
export function methodCode(m: MethodName): number { return METHOD_CODES.get(m) ?? -1; }
