/**
 * `stingray job …` as a user runs it, against a real head started by `stingray start --head` in
 * its own temp dir: a working_dir job that imports a local module and runs remote tasks streams
 * its output and exits 0; a failing one exits 1 and is FAILED; --no-wait, status, stop, logs,
 * list and delete; a missing or wrong token is refused with the fix; the local cluster is found
 * without --address. No process of this cluster is left behind.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { waitFor, clusterPids } from "../helpers/procs.ts";
import type { JobDetails } from "../../src/dashboard/api_types.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(ROOT, "bin/stingray.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-cli-jobs-"));
const tempDir = path.join(tmp, "cluster");
const workDir = path.join(tmp, "app");
let url = "";
let token = "";

interface Run { code: number; stdout: string; stderr: string }

/** Run the CLI; never throws on a non-zero exit. */
function cli(args: string[], env: NodeJS.ProcessEnv = cliEnv()): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: tmp, env, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, STINGRAY_AUTH_TOKEN: token, STINGRAY_TEMP_DIR: tempDir, ...extra };
  delete env.STINGRAY_ADDRESS;
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  return env;
}


before(async () => {
  fs.mkdirSync(workDir);
  fs.writeFileSync(path.join(workDir, "helper.ts"), "export const greeting = (who: string): string => `hello from ${who}`;\n");
  fs.writeFileSync(path.join(workDir, "main.ts"), [
    'import * as ray from "stingray";',
    'import { greeting } from "./helper.ts";',
    "const square = ray.remote(function square(x: number): number { return x * x; });",
    'console.log(greeting("the job"));',
    "await ray.init();",
    "const xs = await ray.get([1, 2, 3, 4].map((i) => square.remote(i)));",
    'console.log(`squares ${xs.join(",")}`);',
    "await ray.shutdown();",
    'console.log("main done");',
  ].join("\n") + "\n");
  fs.writeFileSync(path.join(workDir, "fail.ts"), 'console.log("about to fail");\nprocess.exit(3);\n');
  fs.writeFileSync(path.join(workDir, "sleep.ts"), 'console.log("sleeping");\nsetInterval(() => {}, 1000);\n');
  fs.mkdirSync(path.join(workDir, ".git"));
  fs.writeFileSync(path.join(workDir, ".git", "HEAD"), "ref: refs/heads/main\n");
  const started = await cli(["start", "--head", "--port=0", "--dashboard-port=0", "--client-server-port=0", "--num-cpus=2", `--temp-dir=${tempDir}`],
    { ...process.env, STINGRAY_TEMP_DIR: tempDir });
  assert.equal(started.code, 0, started.stderr);
  url = /Dashboard: (http:\/\/\S+)/.exec(started.stdout)?.[1] ?? "";
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const t = await cli(["get-auth-token", `--temp-dir=${tempDir}`], { ...process.env });
  token = t.stdout.trim();
  assert.ok(token.length > 10);
});

after(async () => {
  for (const pid of clusterPids(tempDir)) { try { process.kill(pid, "SIGTERM"); } catch { /* gone */ } }
  await waitFor(() => clusterPids(tempDir).length === 0, 30_000, "the cluster's processes to exit");
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function jobStatus(id: string): Promise<JobDetails> {
  const r = await cli(["job", "status", id, "--address", url, "--format", "json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as JobDetails;
}

test("submit with a working_dir: a local module, remote tasks, output streamed, exit 0; logs, list and delete", { timeout: 180_000 }, async () => {
  const r = await cli(["job", "submit", "--address", url, "--working-dir", workDir, "--submission-id", "cli_ok",
    "--metadata-json", '{"owner": "cli-test"}', "--", process.execPath, "main.ts"]);
  assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /Uploading package gcs:\/\/_stingray_pkg_[0-9a-f]{32}\.zip/);
  assert.match(r.stdout, /Job 'cli_ok' submitted successfully/);
  assert.match(r.stdout, /Tailing logs until the job exits \(disable with --no-wait\):/);
  const streamed = r.stdout.slice(r.stdout.indexOf("Tailing logs"));
  assert.match(streamed, /hello from the job\n[\s\S]*squares 1,4,9,16\n[\s\S]*main done\n/);
  assert.match(streamed, /Job 'cli_ok' succeeded/);

  const job = await jobStatus("cli_ok");
  assert.equal(job.status, "SUCCEEDED");
  assert.deepEqual(job.metadata, { owner: "cli-test" });
  assert.match(job.runtime_env.working_dir ?? "", /^gcs:\/\/_stingray_pkg_/);
  assert.equal(job.entrypoint, `${process.execPath} main.ts`);
  const text = await cli(["job", "status", "cli_ok", "--address", url]);
  assert.match(text.stdout, /Job 'cli_ok' succeeded/);

  const logs = await cli(["job", "logs", "cli_ok", "--address", url]);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /hello from the job[\s\S]*squares 1,4,9,16/);
  const followed = await cli(["job", "logs", "cli_ok", "-f", "--address", url]);
  assert.match(followed.stdout, /squares 1,4,9,16[\s\S]*Job 'cli_ok' succeeded/);

  // The same directory again: the package is already there.
  const again = await cli(["job", "submit", "--address", url, "--working-dir", workDir, "--no-wait", "--", process.execPath, "fail.ts"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /already exists on the cluster, skipping upload/);

  const list = await cli(["job", "list", "--address", url, "--format", "json"]);
  assert.equal(list.code, 0, list.stderr);
  const jobs = JSON.parse(list.stdout) as JobDetails[];
  assert.equal(jobs.find((j) => j.submission_id === "cli_ok")?.status, "SUCCEEDED");
  const table = await cli(["job", "list", "--address", url]);
  assert.match(table.stdout, /^SUBMISSION_ID\s+JOB_ID\s+TYPE\s+STATUS/);
  assert.match(table.stdout, /cli_ok\s+\S+\s+SUBMISSION\s+SUCCEEDED/);
  const yaml = await cli(["job", "list", "--address", url, "--format", "yaml"]);
  assert.match(yaml.stdout, /submission_id: cli_ok/);

  const del = await cli(["job", "delete", "cli_ok", "--address", url]);
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stdout, /Job 'cli_ok' deleted successfully/);
  const gone = await cli(["job", "status", "cli_ok", "--address", url]);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /job 'cli_ok' not found.*stingray job list/);
});

test("a failing entrypoint: its output, 'failed' with the status message, exit 1, FAILED", { timeout: 120_000 }, async () => {
  const r = await cli(["job", "submit", "--address", url, "--working-dir", workDir, "--submission-id", "cli_fail", "--", process.execPath, "fail.ts"]);
  assert.equal(r.code, 1, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /about to fail/);
  assert.match(r.stdout, /Job 'cli_fail' failed\n-+\nStatus message: .*exit code 3/);
  const job = await jobStatus("cli_fail");
  assert.equal(job.status, "FAILED");
  assert.equal(job.driver_exit_code, 3);
});

test("--no-wait, status, stop of a long sleeper: STOPPED; a running job cannot be deleted", { timeout: 120_000 }, async () => {
  const r = await cli(["job", "submit", "--address", url, "--working-dir", workDir, "--no-wait", "--runtime-env-json", '{"env_vars": {"A": "1"}}',
    "--", process.execPath, "sleep.ts"]);
  assert.equal(r.code, 0, r.stderr);
  const id = /Job '([^']+)' submitted successfully/.exec(r.stdout)?.[1];
  assert.ok(id?.startsWith("stingraysubmit_"), r.stdout);
  assert.match(r.stdout, new RegExp(`stingray job logs ${id}[\\s\\S]*stingray job status ${id}[\\s\\S]*stingray job stop ${id}`));
  assert.doesNotMatch(r.stdout, /Tailing logs/);
  await waitFor(async () => (await jobStatus(id!)).status === "RUNNING", 60_000, "the sleeper to run");
  await waitFor(async () => (await cli(["job", "logs", id!, "--address", url])).stdout.includes("sleeping"), 60_000, "the sleeper's output");
  const status = await cli(["job", "status", id!, "--address", url]);
  assert.match(status.stdout, new RegExp(`Status for job '${id}': RUNNING`));
  assert.deepEqual((await jobStatus(id!)).runtime_env.env_vars, { A: "1" });

  const del = await cli(["job", "delete", id!, "--address", url]);
  assert.notEqual(del.code, 0);
  assert.match(del.stderr, /RUNNING[\s\S]*stingray job stop/);

  const stop = await cli(["job", "stop", id!, "--address", url]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`Attempting to stop job '${id}'[\\s\\S]*Job '${id}' was stopped`));
  assert.equal((await jobStatus(id!)).status, "STOPPED");
  const again = await cli(["job", "stop", id!, "--address", url]);
  assert.match(again.stdout, /had already exited \(STOPPED\)/);
  const sleepers = (): number[] => clusterPids(tempDir).filter((p) => {
    try { return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes("sleep.ts"); } catch { return false; }
  });
  await waitFor(() => sleepers().length === 0, 30_000, "the stopped job's process to exit");
});

test("tokens: missing and wrong ones are refused with the fix; the local cluster and its token are found without flags", { timeout: 60_000 }, async () => {
  const empty = path.join(tmp, "no-cluster");
  const missing = await cli(["job", "list", "--address", url], cliEnv({ STINGRAY_AUTH_TOKEN: undefined, STINGRAY_TEMP_DIR: empty }));
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /needs the cluster's auth token and none was given.*export STINGRAY_AUTH_TOKEN=\$\(stingray get-auth-token\)/);
  const wrong = await cli(["job", "submit", "--address", url, "--", "echo", "hi"], cliEnv({ STINGRAY_AUTH_TOKEN: "not-the-token" }));
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /refused the auth token.*stingray get-auth-token/);
  assert.doesNotMatch(wrong.stdout, /submitted/);
  // No --address, no token in the environment: the session in STINGRAY_TEMP_DIR gives both.
  const local = await cli(["job", "list", "--format", "json"], cliEnv({ STINGRAY_AUTH_TOKEN: undefined }));
  assert.equal(local.code, 0, local.stderr);
  assert.ok(Array.isArray(JSON.parse(local.stdout)));
  // A GCS address is mapped to that cluster's dashboard, with a note.
  const cluster = JSON.parse(fs.readFileSync(path.join(tempDir, "session_latest", "cluster.json"), "utf8")) as { gcsHost: string; gcsPort: number };
  const gcs = await cli(["job", "list", "--format", "json", "--address", `${cluster.gcsHost}:${cluster.gcsPort}`]);
  assert.equal(gcs.code, 0, gcs.stderr);
  assert.match(gcs.stderr, /local cluster's GCS address; using its dashboard/);
  const unreachable = await cli(["job", "list", "--address", "http://127.0.0.1:1"]);
  assert.notEqual(unreachable.code, 0);
  assert.match(unreachable.stderr, /could not reach the Stingray dashboard at http:\/\/127\.0\.0\.1:1/);
});

test("usage errors name the valid flags and the fix", async () => {
  const bad = await cli(["job", "submit", "--bogus", "--", "echo"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Unknown option '--bogus'[\s\S]*Valid flags: --submission-id, --working-dir/);
  const noEntry = await cli(["job", "submit", "--address", url]);
  assert.match(noEntry.stderr, /give the entrypoint after --/);
  const help = await cli(["job", "submit", "--help"]);
  assert.equal(help.code, 0);
  for (const f of ["--working-dir", "--runtime-env-json", "--entrypoint-num-cpus", "--no-wait", "--address"]) assert.ok(help.stdout.includes(f), f);
  const missingDir = await cli(["job", "submit", "--address", url, "--working-dir", path.join(tmp, "nope"), "--", "echo"]);
  assert.notEqual(missingDir.code, 0);
  assert.match(missingDir.stderr, /working_dir .*nope does not exist/);
});
