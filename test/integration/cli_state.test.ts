/**
 * The state CLI (`stingray list|get|summary|logs|timeline|memory`) against a real head started by
 * `stingray start --head` in its own temp dir, while a driver holds an actor and an object and has
 * run tasks. Checks what each command prints in its formats, filters, limits and their warnings,
 * and that errors from the server come back with their message. No process is left behind.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { waitFor, clusterPids } from "../helpers/procs.ts";
import type { ActorState, NodeState, ObjectState, TaskState, TraceEvent, WorkerState } from "../../src/dashboard/api_types.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(ROOT, "bin/stingray.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-cli-state-"));
const tempDir = path.join(tmp, "cluster");
let url = "";
let token = "";
let driver: ChildProcess | undefined;
let actorId = "";
let objectId = "";

interface Run { code: number; stdout: string; stderr: string }

/** Run the CLI against this cluster; never throws on a non-zero exit. */
function cli(args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, STINGRAY_AUTH_TOKEN: token, STINGRAY_TEMP_DIR: tempDir };
  delete env.STINGRAY_ADDRESS;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args, ...(args[0] === "start" || args[0] === "get-auth-token" ? [] : ["--address", url])],
      { cwd: tmp, env, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
      });
  });
}

async function json<T>(args: string[]): Promise<T> {
  const r = await cli([...args, "--format", "json"]);
  assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}


before(async () => {
  const started = await cli(["start", "--head", "--port=0", "--dashboard-port=0", "--client-server-port=0", "--num-cpus=2", `--temp-dir=${tempDir}`]);
  assert.equal(started.code, 0, started.stderr);
  url = /Dashboard: (http:\/\/\S+)/.exec(started.stdout)?.[1] ?? "";
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  token = (await cli(["get-auth-token", `--temp-dir=${tempDir}`])).stdout.trim();
  // A driver that runs tasks, keeps an actor and a 300 kB object alive, and waits for its stdin to close.
  const script = path.join(tmp, "driver.ts");
  fs.writeFileSync(script, [
    `import * as ray from ${JSON.stringify(path.join(ROOT, "src/api/index.ts"))};`,
    "const work = ray.remote(function work(x: number): number { return x * 2; });",
    "class Counter { n = 0; inc(): number { console.log(`counter at ${this.n + 1}`); return ++this.n; } }",
    "await ray.init({ address: \"auto\", logToDriver: false });",
    "await ray.get([1, 2, 3, 4, 5].map((i) => work.remote(i)));",
    "const c = ray.remote(Counter).options({ name: \"cli-counter\" }).remote();",
    "await ray.get(c.inc.remote());",
    "const big = await ray.put(new Uint8Array(300_000).fill(7));",
    "console.log(`READY ${big.id}`);",
    "process.stdin.resume();",
    "process.stdin.on(\"end\", () => { void ray.shutdown().then(() => process.exit(0)); });",
  ].join("\n") + "\n");
  driver = spawn(process.execPath, [script], { cwd: tmp, env: { ...process.env, STINGRAY_TEMP_DIR: tempDir }, stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  driver.stdout!.on("data", (d: Buffer) => { out += d.toString(); });
  await waitFor(() => /READY \S+/.test(out) || driver!.exitCode !== null, 90_000, "the driver to be ready");
  objectId = /READY (\S+)/.exec(out)?.[1] ?? "";
  assert.ok(objectId, `driver output: ${out}`);
});

after(async () => {
  driver?.stdin?.end();
  if (driver && driver.exitCode === null) await new Promise((r) => driver!.once("exit", r));
  for (const pid of clusterPids(tempDir)) { try { process.kill(pid, "SIGTERM"); } catch { /* gone */ } }
  await waitFor(() => clusterPids(tempDir).length === 0, 30_000, "the cluster's processes to exit");
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("list nodes, actors, workers in json, yaml and table; get one by id", { timeout: 60_000 }, async () => {
  const nodes = await json<NodeState[]>(["list", "nodes"]);
  assert.equal(nodes.length, 1);
  assert.equal(nodes[0]!.is_head_node, true);
  assert.equal(nodes[0]!.state, "ALIVE");
  const table = await cli(["list", "nodes"]);
  assert.match(table.stdout, /^======== List: .* ========\nStats:\n-+\nTotal: 1\n\nTable:\n-+\nNODE_ID\s+NODE_IP\s+IS_HEAD_NODE\s+STATE/);
  assert.match(table.stdout, new RegExp(`${nodes[0]!.node_id}\\s+${nodes[0]!.node_ip.replace(/\./g, "\\.")}\\s+true\\s+ALIVE`));

  await waitFor(async () => (await json<ActorState[]>(["list", "actors", "-f", "state=ALIVE"])).some((a) => a.class_name === "Counter"), 30_000, "the actor to be ALIVE");
  const actors = await json<ActorState[]>(["list", "actors", "-f", "class_name=Counter", "--filter", "state!=DEAD"]);
  assert.equal(actors.length, 1);
  assert.equal(actors[0]!.name, "cli-counter");
  actorId = actors[0]!.actor_id;
  const got = await cli(["get", "actors", actorId]);
  assert.equal(got.code, 0, got.stderr);
  const doc = YAML.parse(got.stdout.replace(/^---\n/, "")) as ActorState;
  assert.deepEqual([doc.actor_id, doc.class_name, doc.state], [actorId, "Counter", "ALIVE"]);
  const none = await cli(["get", "actors", "ffffffffffffffff"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /Resource with id=ffffffffffffffff not found in the cluster/);

  const workers = YAML.parse((await cli(["list", "workers", "--format", "yaml"])).stdout) as WorkerState[];
  assert.ok(workers.some((w) => w.worker_type === "DRIVER" && w.is_alive), "the driver is listed");
  assert.ok(workers.some((w) => w.actor_id === actorId), "the actor's worker is listed");
  const pgs = await cli(["list", "placement-groups"]);
  assert.equal(pgs.code, 0, pgs.stderr);
  assert.match(pgs.stdout, /No placement-groups in the cluster\./);
});

test("list tasks with filters and a limit (and its warning); summary tasks and actors", { timeout: 60_000 }, async () => {
  await waitFor(async () => (await json<TaskState[]>(["list", "tasks", "-f", "func_or_class_name=work", "-f", "state=FINISHED"])).length === 5,
    30_000, "the five tasks to be FINISHED in the task table");
  const limited = await cli(["list", "tasks", "-f", "func_or_class_name=work", "--limit", "2", "--format", "json"]);
  assert.equal((JSON.parse(limited.stdout) as TaskState[]).length, 2);
  assert.match(limited.stderr, /Warning: .*5.*2.*--limit/);
  const detail = YAML.parse((await cli(["list", "tasks", "-f", "func_or_class_name=work", "--limit", "1", "--detail"])).stdout) as TaskState[];
  assert.ok(detail[0]!.events.length > 0, "--detail brings the state history");

  const summary = await cli(["summary", "tasks"]);
  assert.equal(summary.code, 0, summary.stderr);
  assert.match(summary.stdout, /======== Tasks Summary: .*\nStats:[\s\S]*total_tasks: \d+[\s\S]*Table \(group by func_name\):\n-+\nFUNC_OR_CLASS_NAME\s+TYPE\s+TOTAL/);
  assert.match(summary.stdout, /\nwork\s+NORMAL_TASK\s+5\s/);
  const asJson = JSON.parse((await cli(["summary", "tasks", "--format", "json"])).stdout) as { summary: Record<string, { state_counts: Record<string, number> }> };
  assert.equal(asJson.summary.work?.state_counts.FINISHED, 5);
  const actors = await cli(["summary", "actors"]);
  assert.match(actors.stdout, /CLASS_NAME\s+TOTAL\s+ALIVE[\s\S]*\nCounter\s+1\s+1/);

  const badKey = await cli(["list", "tasks", "-f", "colour=blue"]);
  assert.notEqual(badKey.code, 0);
  assert.match(badKey.stderr, /cannot filter on "colour": valid keys are/);
  const badFilter = await cli(["list", "tasks", "-f", "colour"]);
  assert.equal(badFilter.code, 2);
  assert.match(badFilter.stderr, /KEY=VALUE or KEY!=VALUE/);
});

test("objects, summary objects and memory: the driver's 300 kB object on the head", { timeout: 60_000 }, async () => {
  const objects = await json<ObjectState[]>(["list", "objects"]);
  const mine = objects.find((o) => o.object_id === objectId);
  assert.ok(mine, `object ${objectId} listed among ${objects.map((o) => o.object_id).join(", ")}`);
  assert.ok(mine.object_size >= 300_000);
  const summary = await cli(["summary", "objects"]);
  assert.match(summary.stdout, /total_objects: [1-9][\s\S]*NODE_ID\s+NODE_IP\s+OBJECTS\s+SIZE\s+SPILLED/);
  const memory = await cli(["memory"]);
  assert.equal(memory.code, 0, memory.stderr);
  assert.match(memory.stdout, /======== Object store status: .*\n\nNode \S+ \(\S+, head\): .* used/);
  assert.match(memory.stdout, new RegExp(`${objectId}\\s+29\\d\\.\\d\\d KiB\\s+PRIMARY`));
  assert.match(memory.stdout, /\nTotal: \d+ objects, .* in the object store of 1 node\n$/);
  const stats = await cli(["memory", "--stats-only"]);
  assert.doesNotMatch(stats.stdout, /OBJECT_ID/);
});

test("logs: list a node's files, print one, an actor's output; timeline writes a Chrome trace", { timeout: 60_000 }, async () => {
  const listing = await cli(["logs"]);
  assert.equal(listing.code, 0, listing.stderr);
  assert.match(listing.stdout, /^Node ID: \S+\nNode IP: \S+\n/);
  const categories = YAML.parse(listing.stdout.split("\n").slice(2).join("\n")) as Record<string, string[]>;
  const files = Object.values(categories).flat();
  assert.ok(files.some((f) => f.startsWith("raylet")), `raylet log among ${files.join(", ")}`);
  const raylet = files.find((f) => f.startsWith("raylet"))!;
  const one = await cli(["logs", raylet, "--tail", "5"]);
  assert.equal(one.code, 0, one.stderr);
  assert.ok(one.stdout.split("\n").filter(Boolean).length <= 5);
  const noMatch = await cli(["logs", "cluster", "no-such-file-*.log"]);
  assert.equal(noMatch.code, 1);
  assert.match(noMatch.stderr, /No log file matches/);

  assert.ok(actorId, "the first test found the actor");
  const actorLog = await cli(["logs", "actor", "--id", actorId]);
  assert.equal(actorLog.code, 0, actorLog.stderr);
  assert.match(actorLog.stdout, /counter at 1/);
  // --follow prints what is there, keeps the stream open, and ends cleanly on Ctrl-C.
  const env: NodeJS.ProcessEnv = { ...process.env, STINGRAY_AUTH_TOKEN: token, STINGRAY_TEMP_DIR: tempDir };
  const follower = spawn(process.execPath, [CLI, "logs", "actor", "--id", actorId, "--follow", "--address", url], { cwd: tmp, env, stdio: ["ignore", "pipe", "pipe"] });
  let followed = "";
  follower.stdout.on("data", (d: Buffer) => { followed += d.toString(); });
  const exited = new Promise<number | null>((r) => follower.once("exit", (code) => r(code)));
  await waitFor(() => /counter at 1/.test(followed) || follower.exitCode !== null, 30_000, "the followed actor log");
  assert.equal(follower.exitCode, null, "still following");
  follower.kill("SIGINT");
  assert.equal(await exited, 0);
  const missingId = await cli(["logs", "actor"]);
  assert.equal(missingId.code, 2);
  assert.match(missingId.stderr, /give --id/);

  const out = path.join(tmp, "trace.json");
  const tl = await cli(["timeline", "--output", out]);
  assert.equal(tl.code, 0, tl.stderr);
  assert.match(tl.stdout, /Trace file written to .*trace\.json \(\d+ bytes, \d+ events\)[\s\S]*chrome:\/\/tracing[\s\S]*ui\.perfetto\.dev/);
  const events = JSON.parse(fs.readFileSync(out, "utf8")) as TraceEvent[];
  assert.ok(events.some((e) => e.ph === "X" && /work/.test(e.name)), "the work tasks are in the trace");
  const dflt = await cli(["timeline"]);
  const file = /written to (\S+)/.exec(dflt.stdout)?.[1] ?? "";
  assert.match(path.basename(file), /^stingray-timeline-\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\.json$/);
  assert.ok(fs.existsSync(path.join(tmp, file)));
});
