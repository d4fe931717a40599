/**
 * @module dashboard/job_supervisor
 * The job supervisor: a built-in, detached actor (one per submitted job, Ray's JobSupervisor)
 * placed by the cluster's scheduler with the job's entrypoint resources — on the head when none
 * are asked for, as in Ray. It unpacks the job's working_dir package, runs the entrypoint in a
 * shell with the cluster's address and token in its environment (never in argv), writes its
 * output to `logs/job-driver-<submission id>.log` on its node, records the job's status in the
 * GCS, and stops it on request: SIGTERM to the entrypoint's process group, SIGKILL after
 * `job_stop_grace_ms`.
 */
import fs from "node:fs";
import path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { runtime } from "../worker/runtime.ts";
import type { CoreWorker } from "../worker/core_worker.ts";
import { config } from "../common/config.ts";
import { unpackPackage } from "./packages.ts";
import type { JobDetails, JobStatus } from "./api_types.ts";
import { STINGRAY_ROOT } from "../worker/code/source.ts";

import { JOBS_NS, PACKAGES_NS } from "../common/kv_namespaces.ts";
/**
 * Runs the entrypoint under a small shell that kills the whole job (its process group) when the
 * supervisor process disappears, even by SIGKILL: a job never outlives its supervisor (Ray sets
 * PR_SET_PDEATHSIG for the same reason; Node cannot, so a watcher polls the supervisor's pid).
 */
const WRAPPER = [
  '/bin/sh -c "$STINGRAY_JOB_ENTRYPOINT" &',
  "child=$!",
  '( while kill -0 "$STINGRAY_SUPERVISOR_PID" 2>/dev/null; do sleep 1; done; kill -KILL 0 ) &',
  "watcher=$!",
  'wait "$child"; code=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$code"',
].join("\n");
/** The last part of a failed job's log quoted in its status message. */
const LOG_TAIL_CHARS = 4000;

export interface SupervisorArgs {
  submissionId: string;
  entrypoint: string;
  workingDir: string | undefined;
  envVars: Record<string, string>;
}

export interface RunResult { status: JobStatus; exitCode: number | null; message: string }

function core(): CoreWorker { return runtime() as CoreWorker; }

export async function readJob(submissionId: string): Promise<JobDetails | undefined> {
  const { value } = await core().opts.gcs.request("gcs.KvGet", { ns: JOBS_NS, key: submissionId });
  return value ? JSON.parse(Buffer.from(value).toString("utf8")) as JobDetails : undefined;
}

async function updateJob(submissionId: string, patch: Partial<JobDetails>): Promise<void> {
  const cur = await readJob(submissionId);
  if (!cur) return; // deleted meanwhile
  const next = { ...cur, ...patch };
  await core().opts.gcs.request("gcs.KvPut", { ns: JOBS_NS, key: submissionId, value: Buffer.from(JSON.stringify(next)), overwrite: true });
}

export class JobSupervisor {
  private args: SupervisorArgs;
  private child: ChildProcess | undefined;
  private stopRequested = false;
  private exited: Promise<RunResult> | undefined;

  constructor(args: SupervisorArgs) { this.args = args; }

  /** Where the entrypoint's output goes on this node. */
  logPath(): string { return path.join(core().opts.sessionDir, "logs", `job-driver-${this.args.submissionId}.log`); }

  /** Run the entrypoint to its end; resolves with the final status (already recorded in the GCS). */
  run(): Promise<RunResult> {
    this.exited ??= this.runOnce().catch(async (e: unknown) => {
      const message = `the job could not start: ${(e as Error).message}`;
      await updateJob(this.args.submissionId, { status: "FAILED", message, error_type: "JOB_SETUP_FAILED", end_time: Date.now() }).catch(() => {});
      return { status: "FAILED" as const, exitCode: null, message };
    });
    return this.exited;
  }

  private async runOnce(): Promise<RunResult> {
    const cw = core();
    const id = this.args.submissionId;
    const logFile = this.logPath();
    const cwd = this.args.workingDir ? await this.prepareWorkingDir(this.args.workingDir) : process.cwd();
    const out = fs.openSync(logFile, "a", 0o600);
    const env: Record<string, string | undefined> = {
      ...process.env, ...this.args.envVars,
      STINGRAY_ADDRESS: process.env.STINGRAY_GCS_ADDRESS,
      STINGRAY_AUTH_TOKEN: cw.opts.token,
      STINGRAY_JOB_SUBMISSION_ID: id,
      STINGRAY_JOB_ID: undefined,
      STINGRAY_JOB_ENTRYPOINT: this.args.entrypoint,
      STINGRAY_SUPERVISOR_PID: String(process.pid),
    };
    for (const k of Object.keys(env)) if (k.startsWith("STINGRAY_WORKER_") || k === "STINGRAY_RAYLET_PORT") delete env[k];
    if (this.stopRequested) {
      fs.closeSync(out);
      return this.finish("STOPPED", null, "the job was stopped before its entrypoint started");
    }
    const child = spawn("/bin/sh", ["-c", WRAPPER], { cwd, env, stdio: ["ignore", out, out], detached: true });
    fs.closeSync(out);
    this.child = child;
    const started = await new Promise<Error | undefined>((resolve) => {
      child.once("spawn", () => resolve(undefined));
      child.once("error", (e) => resolve(e));
    });
    if (started) return this.finish("FAILED", null, `the entrypoint could not be started: ${started.message}`);
    await updateJob(id, {
      status: "RUNNING", message: "the job is running", driver_node_id: cw.opts.nodeId,
      driver_info: { id, node_ip_address: cw.opts.nodeIp, pid: String(child.pid) },
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once("exit", (c, s) => resolve([c, s])));
    this.child = undefined;
    if (this.stopRequested) return this.finish("STOPPED", code, "the job was stopped by a user request");
    if (code === 0) return this.finish("SUCCEEDED", 0, "the job finished successfully");
    const how = signal ? `was killed by ${signal}` : `failed with exit code ${code}`;
    return this.finish("FAILED", code, `the job entrypoint ${how}; last output:\n${this.tail(logFile)}`);
  }

  private tail(file: string): string {
    try {
      const size = fs.statSync(file).size;
      const fd = fs.openSync(file, "r");
      try {
        const n = Math.min(size, LOG_TAIL_CHARS);
        const b = Buffer.alloc(n);
        fs.readSync(fd, b, 0, n, size - n);
        return b.toString("utf8");
      } finally { fs.closeSync(fd); }
    } catch {
      return "(no output)";
    }
  }

  private async finish(status: JobStatus, exitCode: number | null, message: string): Promise<RunResult> {
    await updateJob(this.args.submissionId, {
      status, message, end_time: Date.now(), driver_exit_code: exitCode,
      error_type: status === "FAILED" ? "JOB_ENTRYPOINT_COMMAND_ERROR" : null,
    });
    return { status, exitCode, message };
  }

  /** Unpack a `gcs://` working_dir package once per node; the job runs in it. */
  private async prepareWorkingDir(uri: string): Promise<string> {
    const m = /^gcs:\/\/(_stingray_pkg_[0-9a-f]+\.zip)$/.exec(uri);
    if (!m) throw new Error(`working_dir ${uri} is not an uploaded package (gcs://_stingray_pkg_<hash>.zip); submit with --working-dir`);
    const name = m[1]!;
    const dir = path.join(core().opts.sessionDir, "runtime_resources", "working_dir", name.replace(/\.zip$/, ""));
    if (!fs.existsSync(path.join(dir, ".stingray-unpacked"))) {
      const { value } = await core().opts.gcs.request("gcs.KvGet", { ns: PACKAGES_NS, key: name });
      if (!value) throw new Error(`package ${name} is not in the cluster (was it uploaded to this cluster?)`);
      const tmp = `${dir}.tmp-${process.pid}`;
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.mkdirSync(tmp, { recursive: true });
      unpackPackage(value, tmp);
      // `import "stingray"` in the job resolves to this node's Stingray.
      const nm = path.join(tmp, "node_modules");
      fs.mkdirSync(nm, { recursive: true });
      if (!fs.existsSync(path.join(nm, "stingray"))) fs.symlinkSync(STINGRAY_ROOT, path.join(nm, "stingray"), "dir");
      fs.writeFileSync(path.join(tmp, ".stingray-unpacked"), "");
      fs.rmSync(dir, { recursive: true, force: true });
      fs.renameSync(tmp, dir);
    }
    return dir;
  }

  /** Stop the entrypoint: SIGTERM to its process group, SIGKILL after the grace time. */
  stop(): boolean {
    this.stopRequested = true;
    const child = this.child;
    if (!child?.pid) return false;
    const kill = (sig: NodeJS.Signals): void => {
      try { process.kill(-child.pid!, sig); } catch { try { child.kill(sig); } catch { /* gone */ } }
    };
    kill("SIGTERM");
    const t = setTimeout(() => kill("SIGKILL"), config("job_stop_grace_ms"));
    t.unref();
    child.once("exit", () => clearTimeout(t));
    return true;
  }

  ping(): boolean { return true; }

  /** The job is over: report this worker's last task events, then exit (the actor ends with it). */
  exit(): boolean {
    core().taskEvents.flushAll();
    setTimeout(() => process.exit(0), 100);
    return true;
  }
}
