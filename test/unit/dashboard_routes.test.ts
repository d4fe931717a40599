/**
 * The dashboard's state routes over real HTTP, against the in-memory cluster source: Ray's
 * envelope, truncation and its warning, filters, summaries, partial answers when a node is
 * silent, the cluster overview, and log reads.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { DashboardServer } from "../../src/dashboard/server.ts";
import { registerStateRoutes } from "../../src/dashboard/state.ts";
import { FakeClusterSource } from "../../src/dashboard/fake_source.ts";
import type { ActorSummary, ClusterStatus, ListResult, NodeState, StateEnvelope, TaskState, TaskSummary } from "../../src/dashboard/api_types.ts";

const TOKEN = "test-token";
let server: DashboardServer;
const source = FakeClusterSource.synthetic({ nodes: 3, actors: 120, tasks: 2000 });

async function get<T>(p: string): Promise<{ status: number; body: T }> {
  const r = await fetch(`http://127.0.0.1:${server.port}${p}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await r.text();
  return { status: r.status, body: (r.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : text) as T };
}

before(async () => {
  server = new DashboardServer({ host: "127.0.0.1", port: 0, token: TOKEN, sessionName: "s", version: "0.0.0" });
  registerStateRoutes(server, { source, sessionName: "s", version: "0.0.0", submissions: async () => [] });
  source.logs.set("node0001", new Map([["worker-w1-10001.out", "a\nb\nc\n"], ["raylet.log", "started\n"]]));
  await server.start();
});
after(async () => { await server.stop(); });

test("lists use Ray's envelope; limit truncates and says so", async () => {
  const r = await get<StateEnvelope<ListResult<unknown>>>("/api/v0/actors?limit=7");
  assert.equal(r.status, 200);
  assert.equal(r.body.result, true);
  const res = r.body.data.result;
  assert.deepEqual({ total: res.total, n: res.num_after_truncation, filtered: res.num_filtered, rows: res.result.length }, { total: 120, n: 7, filtered: 120, rows: 7 });
  assert.match(res.warnings![0]!, /120 records matched; showing the first 7/);
});

test("task filters and summaries; failed tasks carry their error", async () => {
  const failed = await get<StateEnvelope<ListResult<TaskState>>>("/api/v0/tasks?detail=1&limit=1000&filter_keys=state&filter_predicates=%3D&filter_values=FAILED");
  const rows = failed.body.data.result.result;
  assert.equal(rows.length, Math.ceil(2000 / 97));
  assert.ok(rows.every((t) => t.state === "FAILED" && t.error_type === "TASK_EXECUTION_EXCEPTION" && /Error: bad batch/.test(t.error_stack!)));
  const notFinished = await get<StateEnvelope<ListResult<TaskState>>>("/api/v0/tasks?limit=10000&filter_keys=state&filter_predicates=!%3D&filter_values=finished");
  assert.equal(notFinished.body.data.result.num_filtered, rows.length + 50);
  const sum = await get<StateEnvelope<{ node_id_to_summary: { cluster: TaskSummary } }>>("/api/v0/tasks/summarize");
  const cluster = sum.body.data.result.node_id_to_summary.cluster;
  assert.equal(cluster.total_tasks, 2000);
  assert.equal(Object.values(cluster.summary).reduce((a, e) => a + Object.values(e.state_counts).reduce((x, y) => x + (y ?? 0), 0), 0), 2000);
  const actors = await get<StateEnvelope<{ node_id_to_summary: { cluster: ActorSummary } }>>("/api/v0/actors/summarize");
  assert.equal(actors.body.data.result.node_id_to_summary.cluster.total_actors, 120);
  assert.equal(actors.body.data.result.node_id_to_summary.cluster.summary.Counter!.state_counts.ALIVE! +
    (actors.body.data.result.node_id_to_summary.cluster.summary.Counter!.state_counts.DEAD ?? 0), 30);
});

test("a silent node makes the node list partial, not an error; the overview adds up the alive nodes", { timeout: 20_000 }, async () => {
  source.silent.add("node0002");
  try {
    const r = await get<StateEnvelope<ListResult<NodeState>>>("/api/v0/nodes");
    assert.equal(r.status, 200);
    const res = r.body.data.result;
    assert.equal(res.total, 3);
    assert.match(res.partial_failure_warning!, /1 of 3 nodes did not answer: 10\.0\.0\.3/);
    assert.equal(res.result.find((n) => n.node_id === "node0002")!.stats, null);
    assert.equal(res.result.find((n) => n.node_id === "node0001")!.stats!.cpu_count, 8);
  } finally {
    source.silent.delete("node0002");
  }
  const c = await get<ClusterStatus>("/api/cluster_status");
  assert.equal(c.body.nodes_alive, 3);
  assert.equal(c.body.resources_total.CPU, 24);
  assert.equal(c.body.tasks_by_state.RUNNING, 50);
});

test("logs: listing by node, reading a file, an unknown node is 404, a request naming no log is 400", async () => {
  const list = await get<StateEnvelope<{ categories: Record<string, string[]> }>>("/api/v0/logs?node_id=node0001");
  assert.deepEqual(list.body.data.result.categories, { daemon: ["raylet.log"], worker: ["worker-w1-10001.out"] });
  const tail = await get<string>("/api/v0/logs/file?node_id=node0001&filename=worker-w1-10001.out&lines=2");
  assert.equal(tail.status, 200);
  assert.equal(tail.body, "a\nb\nc\n", "the fake returns whole files for tails; the raylet's slicing is unit-tested on its own");
  const none = await get<{ error: string }>("/api/v0/logs/file");
  assert.equal(none.status, 400);
  assert.match(none.body.error, /say which log/);
  const unknownNode = await get<{ error: string }>("/api/v0/logs?node_id=nope");
  assert.equal(unknownNode.status, 404);
});

test("Prometheus HTTP service discovery lists every alive node's metrics endpoint", async () => {
  const r = await get<{ labels: Record<string, string>; targets: string[] }[]>("/api/prometheus/sd");
  assert.equal(r.status, 200);
  assert.deepEqual(r.body[0]!.targets, ["10.0.0.1:9100", "10.0.0.2:9101", "10.0.0.3:9102"]);
  assert.equal(r.body[0]!.labels.job, "stingray");
});
