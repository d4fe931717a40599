/**
 * The job and state APIs against a real two-host cluster (head on one network-namespace host, a
 * worker node on another), called over HTTP the way Ray's job clients call them: a TypeScript
 * script with a working_dir runs on the worker host (placed there by its entrypoint resources),
 * its output is in the job's log and live tail, its tasks are in the state API with their
 * history; a failing job is FAILED with its output; a stopped job is STOPPED and its process is
 * gone; bad requests are 400s that say why.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TestHosts, type Host } from "../helpers/hosts.ts";
import { waitFor } from "../helpers/procs.ts";
import { packDirectory } from "../../src/dashboard/packages.ts";
import type {
  ActorState, JobDetails, JobLogsResponse, JobSubmitResponse, ListResult, LogListing, NodeState, StateEnvelope, TaskState, TraceEvent,
} from "../../src/dashboard/api_types.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(ROOT, "bin/stingray.js");
const node = process.execPath;
const skip = TestHosts.supported();
let hosts: TestHosts | undefined;
let token = "";
let base = "";
let workDir = "";

async function api<T>(method: string, p: string, body?: unknown, raw?: Uint8Array): Promise<{ status: number; json: T }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(`${base}${p}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await r.text();
  return { status: r.status, json: (text ? JSON.parse(text) : undefined) as T };
}

async function waitJob(id: string, want: (j: JobDetails) => boolean): Promise<JobDetails> {
  let last: JobDetails | undefined;
  await waitFor(async () => {
    last = (await api<JobDetails>("GET", `/api/jobs/${id}`)).json;
    return want(last);
  }, 90_000, `job ${id} (last status ${last?.status})`);
  return last!;
}

before(async () => {
  if (skip) return;
  hosts = await TestHosts.create(2);
  const [h0, h1] = hosts.hosts as [Host, Host];
  await hosts.exec(h0, [node, CLI, "start", "--head", `--node-ip-address=${h0.ip}`, "--num-cpus=1", "--dashboard-host=0.0.0.0"]);
  token = (await hosts.exec(h0, [node, CLI, "get-auth-token"])).stdout.trim();
  await hosts.exec(h1, [node, CLI, "start", `--address=${h0.ip}:6379`, `--node-ip-address=${h1.ip}`, "--num-cpus=2",
    '--resources={"worker_host": 1}'], { env: { ...process.env, STINGRAY_AUTH_TOKEN: token } });
  base = `http://${h0.ip}:8265`;
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-job-"));
  fs.writeFileSync(path.join(workDir, "helper.ts"), "export const greeting = (who: string): string => `hello from ${who}`;\n");
  fs.writeFileSync(path.join(workDir, "main.ts"), [
    'import * as ray from "stingray";',
    'import os from "node:os";',
    'import { greeting } from "./helper.ts";',
    "const square = ray.remote(function square(x: number): number { return x * x; });",
    "await ray.init();",
    "console.log(greeting(process.env.WHO ?? \"?\"));",
    "const xs = await ray.get([1, 2, 3, 4].map((i) => square.remote(i)));",
    "console.log(`squares ${xs.join(\",\")} on ${os.hostname()} ${process.env.STINGRAY_JOB_SUBMISSION_ID}`);",
    "await ray.shutdown();",
  ].join("\n"));
  fs.writeFileSync(path.join(workDir, "fail.ts"), 'console.log("about to fail"); process.exit(3);\n');
  fs.writeFileSync(path.join(workDir, "sleep.ts"), 'console.log("sleeping"); setInterval(() => {}, 1000);\n');
  await waitFor(async () => (await api<StateEnvelope<ListResult<NodeState>>>("GET", "/api/v0/nodes")).json.data.result.total === 2,
    30_000, "both nodes in the state API");
});
after(async () => {
  await hosts?.destroy();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

test("a TypeScript job with a working_dir runs on the node its entrypoint resources pick; logs, tail and task states", { skip, timeout: 180_000 }, async () => {
  const [, h1] = hosts!.hosts as [Host, Host];
  const pkg = packDirectory(workDir);
  assert.equal((await api("GET", `/api/packages/gcs/${pkg.name}`)).status, 404);
  assert.equal((await api("PUT", `/api/packages/gcs/${pkg.name}`, undefined, pkg.bytes)).status, 200);
  assert.equal((await api("GET", `/api/packages/gcs/${pkg.name}`)).status, 200);

  const sub = await api<JobSubmitResponse>("POST", "/api/jobs/", {
    entrypoint: "node main.ts", submission_id: "ts-job-1", entrypoint_resources: { worker_host: 1 },
    runtime_env: { working_dir: `gcs://${pkg.name}`, env_vars: { WHO: "the job" } }, metadata: { owner: "test" },
  });
  assert.equal(sub.status, 200, JSON.stringify(sub.json));
  assert.equal(sub.json.submission_id, "ts-job-1");

  // The live tail (SSE) from submission to the end.
  const tail = await fetch(`${base}/api/jobs/ts-job-1/logs/tail`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(tail.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const streamed = await tail.text();
  assert.match(streamed, /hello from the job/);
  assert.match(streamed, /event: end\ndata: \{"status":"SUCCEEDED"\}/);

  const job = await waitJob("ts-job-1", (j) => j.status === "SUCCEEDED");
  const nodes = (await api<StateEnvelope<ListResult<NodeState>>>("GET", "/api/v0/nodes")).json.data.result.result;
  const workerNode = nodes.find((n) => n.node_ip === h1.ip)!;
  assert.equal(job.driver_node_id, workerNode.node_id, "the entrypoint ran on the worker host");
  assert.equal(job.driver_info?.node_ip_address, h1.ip);
  assert.equal(job.driver_exit_code, 0);
  assert.deepEqual(job.metadata, { owner: "test" });
  assert.match(job.job_id ?? "", /^[0-9a-f]{8}$/, "the driver's cluster job id is linked");

  const logs = await api<JobLogsResponse>("GET", "/api/jobs/ts-job-1/logs");
  assert.match(logs.json.logs, /hello from the job/);
  assert.match(logs.json.logs, new RegExp(`squares 1,4,9,16 on \\S+ ts-job-1`));

  // Its tasks, with their history; the RUNNING event comes from the worker that ran it.
  let tasks: TaskState[] = [];
  await waitFor(async () => {
    const r = await api<StateEnvelope<ListResult<TaskState>>>("GET",
      `/api/v0/tasks?detail=1&filter_keys=job_id&filter_predicates=%3D&filter_values=${job.job_id}&filter_keys=name&filter_predicates=%3D&filter_values=square`);
    tasks = r.json.data.result.result;
    return tasks.length === 4 && tasks.every((t) => t.state === "FINISHED" && t.node_id !== null);
  }, 20_000, "the job's four square tasks, finished, with their nodes").catch(async (e: Error) => {
    const all = await api<StateEnvelope<ListResult<TaskState>>>("GET", "/api/v0/tasks?detail=1&limit=100");
    throw new Error(`${e.message}; tasks: ${JSON.stringify(all.json.data.result.result.map((t) => [t.name, t.state, t.job_id, t.node_id, t.events.map((x) => x.state)]))}`);
  });
  for (const t of tasks) {
    // PENDING appears only for tasks still waiting when their owner reported (see worker/task_events.ts).
    assert.deepEqual(t.events.map((e) => e.state).filter((x) => x !== "PENDING_NODE_ASSIGNMENT"), ["RUNNING", "FINISHED"]);
    assert.ok(t.start_time_ms! <= t.end_time_ms!);
    assert.deepEqual(t.required_resources, { CPU: 1 });
  }
  const timeline = await api<TraceEvent[]>("GET", `/api/v0/tasks/timeline?job_id=${job.job_id}`);
  assert.equal(timeline.json.filter((e) => e.name === "square").length, 4);

  // The driver's log file is listed on its node and readable through the log API.
  const listing = await api<StateEnvelope<LogListing>>("GET", `/api/v0/logs?node_ip=${h1.ip}`);
  assert.ok(listing.json.data.result.categories.job_driver?.includes("job-driver-ts-job-1.log"));
  const file = await fetch(`${base}/api/v0/logs/file?submission_id=ts-job-1&lines=1`, { headers: { authorization: `Bearer ${token}` } });
  assert.match(await file.text(), /^squares 1,4,9,16/);

  // Deleting a finished job removes it.
  assert.deepEqual((await api("DELETE", "/api/jobs/ts-job-1")).json, { deleted: true });
  assert.equal((await api("GET", "/api/jobs/ts-job-1")).status, 404);
});

test("a failing job is FAILED with its exit code and output; a stopped job is STOPPED and its process is gone", { skip, timeout: 180_000 }, async () => {
  const [h0] = hosts!.hosts as [Host, Host];
  const pkg = packDirectory(workDir);
  await api("PUT", `/api/packages/gcs/${pkg.name}`, undefined, pkg.bytes);
  const env = { working_dir: `gcs://${pkg.name}` };
  await api("POST", "/api/jobs/", { entrypoint: "node fail.ts", submission_id: "fails", runtime_env: env });
  const failed = await waitJob("fails", (j) => j.status === "FAILED");
  assert.equal(failed.driver_exit_code, 3);
  assert.match(failed.message ?? "", /exit code 3[\s\S]*about to fail/);

  await api("POST", "/api/jobs/", { entrypoint: "node sleep.ts", submission_id: "sleeper", runtime_env: env });
  const running = await waitJob("sleeper", (j) => j.status === "RUNNING");
  assert.equal(running.driver_info?.node_ip_address, h0.ip, "with no entrypoint resources the job runs on the head");
  const pid = Number(running.driver_info!.pid);
  await waitFor(async () => /sleeping/.test((await api<JobLogsResponse>("GET", "/api/jobs/sleeper/logs")).json.logs), 30_000, "the sleeper's output");
  const del = await api<{ error: string }>("DELETE", "/api/jobs/sleeper");
  assert.equal(del.status, 400);
  assert.match(del.json.error, /RUNNING.*stop it first/);
  assert.deepEqual((await api("POST", "/api/jobs/sleeper/stop")).json, { stopped: true });
  await waitJob("sleeper", (j) => j.status === "STOPPED");
  const alive = await hosts!.exec(h0, ["sh", "-c", `kill -0 ${pid} 2>/dev/null && echo alive || echo gone`]);
  assert.equal(alive.stdout.trim(), "gone");
  assert.deepEqual((await api("POST", "/api/jobs/sleeper/stop")).json, { stopped: false }, "stopping a stopped job is a no-op");

  await waitFor(async () => (await hosts!.exec(h0, ["sh", "-c", "pgrep -f '[n]ode sleep.ts' || true"])).stdout.trim() === "",
    15_000, "the entrypoint's own process to be gone too");

  // A job never outlives its supervisor: SIGKILL the supervisor's worker, the entrypoint goes too.
  await api("POST", "/api/jobs/", { entrypoint: "node sleep.ts", submission_id: "orphan", runtime_env: env });
  const orphan = await waitJob("orphan", (j) => j.status === "RUNNING");
  const actors = await api<StateEnvelope<ListResult<ActorState>>>("GET",
    "/api/v0/actors?filter_keys=name&filter_predicates=%3D&filter_values=_stingray_job_supervisor_orphan&filter_keys=state&filter_predicates=%3D&filter_values=ALIVE");
  const sup = actors.json.data.result.result;
  assert.equal(sup.length, 1);
  await hosts!.exec(h0, ["kill", "-KILL", String(sup[0]!.pid)]);
  const died = await waitJob("orphan", (j) => j.status === "FAILED");
  assert.match(died.message ?? "", /supervisor died/);
  await waitFor(async () => (await hosts!.exec(h0, ["sh", "-c", `kill -0 ${orphan.driver_info!.pid} 2>/dev/null && echo alive || echo gone`])).stdout.trim() === "gone",
    15_000, "the orphaned entrypoint to be killed");

  const list = await api<JobDetails[]>("GET", "/api/jobs/");
  const byId = new Map(list.json.map((j) => [j.submission_id, j.status]));
  assert.equal(byId.get("fails"), "FAILED");
  assert.equal(byId.get("sleeper"), "STOPPED");
});

test("bad job requests are 400s that say what is wrong", { skip }, async () => {
  const cases: [unknown, RegExp][] = [
    [{}, /entrypoint must be a non-empty/],
    [{ entrypoint: "true", runtime_env: { pip: ["x"] } }, /runtime_env\.pip is not supported/],
    [{ entrypoint: "true", runtime_env: { working_dir: "/home/me/project" } }, /uploaded package URI/],
    [{ entrypoint: "true", runtime_env: { working_dir: "gcs://_stingray_pkg_0123456789abcdef.zip" } }, /was not uploaded/],
    [{ entrypoint: "true", entrypoint_num_cpus: -1 }, /entrypoint_num_cpus must be a non-negative number/],
    [{ entrypoint: "true", submission_id: "../x" }, /submission_id must be/],
    [{ entrypoint: "true", bogus: 1 }, /unknown field "bogus"/],
  ];
  for (const [body, msg] of cases) {
    const r = await api<{ error: string }>("POST", "/api/jobs/", body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(r.json.error, msg);
  }
  assert.equal((await api("POST", "/api/jobs/", { entrypoint: "true", submission_id: "dup" })).status, 200);
  const dup = await api<{ error: string }>("POST", "/api/jobs/", { entrypoint: "true", submission_id: "dup" });
  assert.equal(dup.status, 400);
  assert.match(dup.json.error, /already exists/);
  const notZip = await api<{ error: string }>("PUT", "/api/packages/gcs/_stingray_pkg_0123456789abcdef.zip", undefined, Buffer.from("not a zip"));
  assert.equal(notZip.status, 400);
  const badFilter = await api<{ error: string }>("GET", "/api/v0/tasks?filter_keys=colour&filter_values=red");
  assert.equal(badFilter.status, 400);
  assert.match(badFilter.json.error, /cannot filter on "colour": valid keys are/);
  assert.equal((await api("GET", "/api/jobs/no-such-job")).status, 404);
});
