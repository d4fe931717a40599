/**
 * @module web_ui/data
 * The polled queries the pages share, each one route of the contract. Lists are bounded (the
 * server reports `total`), so a cluster with 100k tasks sends at most `limit` of them.
 */
import type {
  ActorState, ActorSummary, ClusterStatus, JobDetails, MetricsHistory, NodeState, StateFilter, TaskState, TaskSummary, WorkerState,
} from "../../dashboard/api_types.ts";
import { getJson, listState, summary, url } from "./api.ts";
import { usePoll, type Poll } from "./hooks.ts";
import type { ListResult } from "../../dashboard/api_types.ts";

export const TASK_LIMIT = 10_000;
export const ACTOR_LIMIT = 10_000;
export const NODE_LIMIT = 1_000;

export function useClusterStatus(): Poll<ClusterStatus> {
  return usePoll((s) => getJson<ClusterStatus>(url("clusterStatus"), s), "cluster");
}

export function useNodes(): Poll<ListResult<NodeState>> {
  return usePoll((s) => listState<NodeState>("listNodes", { limit: NODE_LIMIT, detail: true }, s), "nodes");
}

/** Jobs newest first. */
export function useJobs(): Poll<JobDetails[]> {
  return usePoll(async (s) => {
    const jobs = await getJson<JobDetails[]>(url("listJobs"), s);
    return [...jobs].sort((a, b) => (b.start_time ?? 0) - (a.start_time ?? 0));
  }, "jobs");
}

export function useMetrics(intervalMs = 5000): Poll<MetricsHistory> {
  return usePoll((s) => getJson<MetricsHistory>(url("metricsHistory"), s), "metrics", { intervalMs });
}

function filterKey(f: StateFilter[]): string { return f.map((x) => `${x.key}${x.predicate}${x.value}`).join("&"); }

export function useActors(filters: StateFilter[] = []): Poll<ListResult<ActorState>> {
  return usePoll((s) => listState<ActorState>("listActors", { limit: ACTOR_LIMIT, detail: true, filters }, s), `actors:${filterKey(filters)}`);
}

export function useActorSummary(): Poll<ActorSummary> {
  return usePoll((s) => summary<ActorSummary>("summarizeActors", [], s), "actor-summary");
}

export function useTasks(filters: StateFilter[], limit = TASK_LIMIT): Poll<ListResult<TaskState>> {
  // The biggest list: asked for every 3 s rather than 2 (and never while the last is in flight).
  return usePoll((s) => listState<TaskState>("listTasks", { limit, filters }, s), `tasks:${limit}:${filterKey(filters)}`, { intervalMs: 3000 });
}

export function useTaskSummary(filters: StateFilter[] = []): Poll<TaskSummary> {
  return usePoll((s) => summary<TaskSummary>("summarizeTasks", filters, s), `task-summary:${filterKey(filters)}`);
}

export function useWorkers(nodeId: string): Poll<ListResult<WorkerState>> {
  return usePoll((s) => listState<WorkerState>("listWorkers", { limit: 10_000, filters: [{ key: "node_id", predicate: "=", value: nodeId }] }, s), `workers:${nodeId}`);
}
