/**
 * @module metrics/definitions
 * Every metric Stingray exports: name, help, labels and kind, declared once (the Prometheus
 * exposition format is prom-client's; nothing here hand-writes it). Names follow Ray's
 * (`ray_node_cpu_utilization` → `stingray_node_cpu_utilization`, `ray_tasks` → `stingray_tasks`),
 * so Ray's queries port by replacing the prefix. Every node's raylet exports the node metrics;
 * the head's also exports the cluster metrics read from the GCS.
 */
import { Counter, Gauge, Registry } from "prom-client";

export const PREFIX = "stingray_";

/** Labels every series of a node carries. */
export const NODE_LABELS = ["SessionName", "NodeAddress", "NodeId"] as const;

export function nodeMetrics(registry: Registry) {
  const g = (name: string, help: string, labels: string[] = []): Gauge<string> =>
    new Gauge({ name: PREFIX + name, help, labelNames: [...NODE_LABELS, ...labels], registers: [registry] });
  const c = (name: string, help: string, labels: string[] = []): Counter<string> =>
    new Counter({ name: PREFIX + name, help, labelNames: [...NODE_LABELS, ...labels], registers: [registry] });
  return {
    cpuUtilization: g("node_cpu_utilization", "Busy share of the node's CPUs over the last scrape interval, 0..100."),
    cpuCount: g("node_cpu_count", "CPUs of the host."),
    memUsed: g("node_mem_used", "Memory in use on the host, bytes (total minus MemAvailable)."),
    memTotal: g("node_mem_total", "Memory of the host, bytes."),
    diskUsed: g("node_disk_usage", "Bytes used on the disk holding the session directory."),
    diskTotal: g("node_disk_total", "Size of the disk holding the session directory, bytes."),
    netSent: g("node_network_sent", "Bytes sent by the host's network interfaces since boot."),
    netReceived: g("node_network_received", "Bytes received by the host's network interfaces since boot."),
    loadAvg1: g("node_load1", "The host's 1-minute load average."),
    resourcesTotal: g("resources_total", "Logical resources of the node.", ["Name"]),
    resourcesAvailable: g("resources_available", "Logical resources of the node not leased.", ["Name"]),
    objectStoreUsed: g("object_store_memory", "Object store bytes by location.", ["Location"]),
    objectStoreCapacity: g("object_store_available_memory", "Object store capacity not in use, bytes."),
    objectStoreObjects: g("object_store_num_local_objects", "Objects in the node's store."),
    spilledBytes: g("spill_manager_spilled_bytes", "Bytes of objects spilled to disk and not yet restored or freed."),
    spilledObjects: c("spill_manager_spilled_objects_total", "Objects spilled to disk since the node started."),
    restoredObjects: c("spill_manager_restored_objects_total", "Spilled objects restored since the node started."),
    workers: g("workers", "Worker processes of the node by state.", ["State"]),
    leases: g("scheduler_leases", "Worker leases granted and held."),
    pendingLeases: g("scheduler_pending_leases", "Lease requests queued on this node (pending demand)."),
    infeasible: g("scheduler_infeasible_demands", "Distinct resource shapes no node of the cluster can host."),
  };
}
export type NodeMetrics = ReturnType<typeof nodeMetrics>;

/** Exported by the head only: what the GCS knows of the whole cluster. */
export function clusterMetrics(registry: Registry) {
  const g = (name: string, help: string, labels: string[]): Gauge<string> =>
    new Gauge({ name: PREFIX + name, help, labelNames: ["SessionName", ...labels], registers: [registry] });
  return {
    tasks: g("tasks", "Tasks by state and function. FINISHED and FAILED count every task that ended (exact); " +
      "the other states count tasks in the GCS task table.", ["State", "Name", "JobId"]),
    actors: g("actors", "Actors by state and class.", ["State", "Name"]),
    jobs: g("jobs", "Drivers by state.", ["State"]),
    submittedJobs: g("submitted_jobs", "Jobs submitted through the job API, by status.", ["Status"]),
    nodes: g("cluster_nodes", "Nodes by state.", ["State"]),
    gcsTable: g("gcs_table_size", "Entries of the GCS's tables.", ["Table"]),
    droppedTaskEvents: g("gcs_task_events_dropped", "Task records dropped (budgets, eviction) since the GCS started.", []),
  };
}
export type ClusterMetrics = ReturnType<typeof clusterMetrics>;

/** RPC servers (the raylet's, and on the head the GCS's): requests, errors and handling time per method. */
export const RPC_METRICS = {
  handled: { name: PREFIX + "grpc_server_req_handled_total", help: "RPC requests handled, per component and method." },
  failed: { name: PREFIX + "grpc_server_req_failed_total", help: "RPC requests answered with an error, per component and method." },
  latency: { name: PREFIX + "grpc_server_req_process_time_ms", help: "Time to handle an RPC request (ms), per component and method." },
} as const;
