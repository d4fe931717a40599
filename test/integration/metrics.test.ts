/**
 * Seed 003's monitoring flow with Stingray's paths: a two-host cluster; Prometheus (Debian's) is
 * started exactly as the seed starts it, with the config the head generated; its HTTP API then
 * shows both nodes' targets up and task counts equal to a workload the test ran; a node that
 * stops disappears from the service discovery file. Metrics endpoints refuse scrapes without the
 * cluster token.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { TestHosts, type Host } from "../helpers/hosts.ts";
import { waitFor } from "../helpers/procs.ts";
import { PROMQL } from "../../src/dashboard/metrics_history.ts";
import type { MetricsHistory } from "../../src/dashboard/api_types.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(ROOT, "bin/stingray.js");
const node = process.execPath;
const prometheusBin = ((): string | undefined => {
  try { return execFileSync("sh", ["-c", "command -v prometheus"], { encoding: "utf8" }).trim() || undefined; } catch { return undefined; }
})();
const skip = TestHosts.supported() ?? (prometheusBin ? undefined : "needs prometheus (apt-get install prometheus; .ci/run installs it)");
let hosts: TestHosts | undefined;
let token = "";
const SESSION = "/tmp/stingray/session_latest";

interface SdGroup { labels: Record<string, string>; targets: string[] }
async function sd(h: Host): Promise<SdGroup[]> {
  return JSON.parse((await hosts!.exec(h, ["cat", `${SESSION}/prom_metrics_service_discovery.json`])).stdout) as SdGroup[];
}

async function promQuery(h0: Host, q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`http://${h0.ip}:9090/api/v1/query?query=${encodeURIComponent(q)}`);
  const j = await r.json() as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  assert.equal(j.status, "success", JSON.stringify(j));
  return j.data.result;
}

before(async () => {
  if (skip) return;
  hosts = await TestHosts.create(2);
  const [h0, h1] = hosts.hosts as [Host, Host];
  // The dashboard's charts read Prometheus (started later in the test) instead of its own samples.
  await hosts.exec(h0, [node, CLI, "start", "--head", "--port=6379", `--node-ip-address=${h0.ip}`, "--num-cpus=2", "--metrics-export-port=8080",
    "--dashboard-host=0.0.0.0"], { env: { ...process.env, STINGRAY_PROMETHEUS_HOST: "http://127.0.0.1:9090" } });
  token = (await hosts.exec(h0, [node, CLI, "get-auth-token"])).stdout.trim();
  await hosts.exec(h1, [node, CLI, "start", `--address=${h0.ip}:6379`, `--node-ip-address=${h1.ip}`, "--num-cpus=2", "--metrics-export-port=8080"],
    { env: { ...process.env, STINGRAY_AUTH_TOKEN: token } });
});
after(async () => { await hosts?.destroy(); });

test("each node's /metrics needs the cluster token; the head lists both nodes for Prometheus", { skip }, async () => {
  const [h0, h1] = hosts!.hosts as [Host, Host];
  await waitFor(async () => (await sd(h0))[0]!.targets.length === 2, 10_000, "two targets in the discovery file");
  assert.deepEqual((await sd(h0))[0]!.targets, [`${h0.ip}:8080`, `${h1.ip}:8080`].sort());
  const none = await fetch(`http://${h1.ip}:8080/metrics`);
  assert.equal(none.status, 401);
  assert.match(await none.text(), /missing auth token/);
  const wrong = await fetch(`http://${h1.ip}:8080/metrics`, { headers: { authorization: "Bearer nope" } });
  assert.equal(wrong.status, 401);
  const ok = await fetch(`http://${h1.ip}:8080/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(ok.status, 200);
  const text = await ok.text();
  assert.match(text, new RegExp(`stingray_node_cpu_count\\{[^}]*NodeAddress="${h1.ip.replace(/\./g, "\\.")}"[^}]*\\} 2`));
  assert.match(text, /stingray_resources_total\{[^}]*Name="CPU"\} 2/);
  const head = await (await fetch(`http://${h0.ip}:8080/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  assert.match(head, /stingray_grpc_server_req_handled_total\{[^}]*Component="gcs",Method="gcs\.RegisterNode"\} 2\n/, "the GCS counted both registrations");
  assert.match(head, /stingray_grpc_server_req_process_time_ms_count\{[^}]*Component="raylet",Method="raylet\.RegisterWorker"\} \d+/);
  assert.match(head, /stingray_cluster_nodes\{[^}]*State="ALIVE"\} 2/);
  const cfg = (await hosts!.exec(h0, ["cat", `${SESSION}/metrics/prometheus/prometheus.yml`])).stdout;
  assert.match(cfg, /credentials_file: ".*\/auth_token"/);
  assert.doesNotMatch(cfg, new RegExp(token), "the token is not inline in prometheus.yml");
});

test("Prometheus started as in seed 003 scrapes both nodes and counts the workload's tasks", { skip, timeout: 180_000 }, async () => {
  const [h0, h1] = hosts!.hosts as [Host, Host];
  const { stdout } = await hosts!.exec(h0, [node, path.join(ROOT, "test/fixtures/drivers/metrics_workload.ts")], { cwd: ROOT });
  assert.deepEqual(JSON.parse(stdout.trim().split("\n").pop()!), { squares: 40, failed: 3 });
  // Seed 003: ./prometheus --config.file=/tmp/ray/session_latest/metrics/prometheus/prometheus.yml
  // Debian's build keeps its data in /var/lib/prometheus: give the host its own (a tmpfs in its
  // private mount namespace), so the command stays exactly the seed's and runs share nothing.
  // (In the same command: every command on a test host gets its own copy of the host's mount namespace.)
  hosts!.spawn(h0, ["sh", "-c", "mkdir -p /var/lib/prometheus && mount -t tmpfs none /var/lib/prometheus && mkdir -p /tmp/prom && cd /tmp/prom && " +
    `exec ${prometheusBin} --config.file=${SESSION}/metrics/prometheus/prometheus.yml`]);
  await waitFor(async () => {
    try {
      const r = await fetch(`http://${h0.ip}:9090/api/v1/targets`);
      const j = await r.json() as { data: { activeTargets: { health: string; scrapeUrl: string }[] } };
      return j.data.activeTargets.length === 2 && j.data.activeTargets.every((t) => t.health === "up");
    } catch { return false; }
  }, 90_000, "both targets up in Prometheus");
  const perNode = await promQuery(h0, "stingray_node_cpu_count");
  assert.deepEqual(perNode.map((r) => r.metric.NodeAddress).sort(), [h0.ip, h1.ip].sort(),
    `series: ${JSON.stringify(perNode.map((r) => r.metric))}; targets: ${await (await fetch(`http://${h0.ip}:9090/api/v1/targets`)).text()}`);
  let finished = 0, failed = 0;
  await waitFor(async () => {
    const sq = await promQuery(h0, 'sum(stingray_tasks{State="FINISHED",Name="square"})');
    const bo = await promQuery(h0, 'sum(stingray_tasks{State="FAILED",Name="boom"})');
    finished = Number(sq[0]?.value[1] ?? 0);
    failed = Number(bo[0]?.value[1] ?? 0);
    return finished === 40 && failed === 3;
  }, 60_000, `task counts in Prometheus (last seen finished=${finished}, failed=${failed})`);
});

test("application metrics (ray.metrics) recorded in tasks and an actor reach Prometheus, summed over the node's processes", { skip, timeout: 90_000 }, async () => {
  const [h0] = hosts!.hosts as [Host, Host];
  let seen = "";
  await waitFor(async () => {
    const even = await promQuery(h0, 'sum(app_squares{parity="even"})');
    const odd = await promQuery(h0, 'sum(app_squares{parity="odd"})');
    const count = await promQuery(h0, "sum(app_square_size_count)");
    const small = await promQuery(h0, 'sum(app_square_size_bucket{le="10"})');
    const gauge = await promQuery(h0, "max(app_counter_value)");
    const v = (r: { value: [number, string] }[]): number => Number(r[0]?.value[1] ?? -1);
    seen = JSON.stringify({ even: v(even), odd: v(odd), count: v(count), small: v(small), gauge: v(gauge) });
    // squares of 0..39: 20 even, 20 odd; 4 of them (0, 1, 4, 9) are at most 10; the actor's gauge is 7.
    return seen === JSON.stringify({ even: 20, odd: 20, count: 40, small: 4, gauge: 7 });
  }, 60_000, "the application metrics in Prometheus").catch((e: Error) => { throw new Error(`${e.message}; last seen ${seen}`); });
});

test("with STINGRAY_PROMETHEUS_HOST set, the dashboard's charts come from Prometheus, with the same series", { skip, timeout: 90_000 }, async () => {
  const [h0] = hosts!.hosts as [Host, Host];
  for (const [name, expr] of Object.entries(PROMQL)) {
    assert.ok((await promQuery(h0, expr)).length > 0, `${name}: ${expr} returns a series`);
  }
  let last: MetricsHistory | undefined;
  await waitFor(async () => {
    const r = await fetch(`http://${h0.ip}:8265/api/metrics/history`, { headers: { authorization: `Bearer ${token}` } });
    last = await r.json() as MetricsHistory;
    // Both nodes scraped: 2 alive, 2 + 2 CPUs.
    return last.source === "prometheus" && last.series.nodes_alive.at(-1) === 2 && last.series.cpu_total.at(-1) === 4;
  }, 60_000, "chart history from Prometheus");
  assert.ok(last!.series.memory_total_bytes.at(-1)! > 0);
  assert.equal(last!.times.length, last!.series.memory_used_bytes.length);
});

test("the generated Grafana dashboards: every panel's query runs in Prometheus and returns series", { skip, timeout: 120_000 }, async () => {
  const [h0] = hosts!.hosts as [Host, Host];
  const dir = `${SESSION}/metrics/grafana`;
  const ini = (await hosts!.exec(h0, ["cat", `${dir}/grafana.ini`])).stdout;
  assert.match(ini, /provisioning = .*\/metrics\/grafana\/provisioning/);
  assert.match(ini, /http_addr = 127\.0\.0\.1/);
  assert.match((await hosts!.exec(h0, ["cat", `${dir}/provisioning/datasources/stingray.yml`])).stdout, /type: prometheus/);
  const files = (await hosts!.exec(h0, ["sh", "-c", `ls ${dir}/dashboards`])).stdout.trim().split("\n").sort();
  assert.deepEqual(files, ["cluster_overview.json", "jobs.json", "nodes.json", "object_store.json", "tasks_and_actors.json"]);
  const queries: { file: string; panel: string; expr: string }[] = [];
  for (const f of files) {
    const d = JSON.parse((await hosts!.exec(h0, ["cat", `${dir}/dashboards/${f}`])).stdout) as { panels: { title: string; targets: { expr: string }[] }[] };
    for (const p of d.panels) for (const x of p.targets) queries.push({ file: f, panel: p.title, expr: x.expr.replace(/\$__rate_interval/g, "1m") });
  }
  assert.ok(queries.length >= 20);
  const empty: string[] = [];
  await waitFor(async () => {
    empty.length = 0;
    for (const q of queries) if ((await promQuery(h0, q.expr)).length === 0) empty.push(`${q.file} / ${q.panel}: ${q.expr}`);
    return empty.length === 0;
  }, 90_000, `every panel to return series (still empty: ${empty.join("; ")})`);
});

test("stingray metrics launch-prometheus runs the local Prometheus on the session's config; shutdown-prometheus stops it", { skip, timeout: 90_000 }, async () => {
  const [h0] = hosts!.hosts as [Host, Host];
  const up = await hosts!.exec(h0, [node, CLI, "metrics", "launch-prometheus", "--port=9091"]);
  assert.match(up.stdout, /Prometheus is running at http:\/\/127\.0\.0\.1:9091/);
  const again = await hosts!.exec(h0, [node, CLI, "metrics", "launch-prometheus", "--port=9091"]).then(() => "", (e: { stderr: string }) => e.stderr);
  assert.match(again, /already running/);
  const pid = (await hosts!.exec(h0, ["cat", `${SESSION}/metrics/prometheus/prometheus.pid`])).stdout.trim();
  const down = await hosts!.exec(h0, [node, CLI, "metrics", "shutdown-prometheus"]);
  assert.match(down.stdout, new RegExp(`Stopped Prometheus \\(pid ${pid}\\)`));
  // Gone, or a zombie waiting for init to reap it (its parent, the launching CLI, has exited).
  const state = await hosts!.exec(h0, ["sh", "-c", `grep '^State:' /proc/${pid}/status 2>/dev/null || echo gone`]);
  assert.match(state.stdout.trim(), /^(gone|State:\s+Z)/);
  const missing = await hosts!.exec(h0, [node, CLI, "metrics", "launch-prometheus", "--prometheus=/nonexistent/prometheus"])
    .then(() => "", (e: { stderr: string }) => e.stderr);
  assert.match(missing, /apt-get install prometheus/);
});

test("a node that stops disappears from the service discovery file", { skip, timeout: 60_000 }, async () => {
  const [h0, h1] = hosts!.hosts as [Host, Host];
  await hosts!.exec(h1, [node, CLI, "stop"]);
  await waitFor(async () => (await sd(h0))[0]!.targets.length === 1, 30_000, "the stopped node to leave the discovery file");
  assert.deepEqual((await sd(h0))[0]!.targets, [`${h0.ip}:8080`]);
});
