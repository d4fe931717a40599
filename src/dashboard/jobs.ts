/**
 * @module dashboard/jobs
 * The job API (Ray's routes and JSON): submit, list, get, logs (whole and live), stop, delete,
 * and working_dir package upload. Job records live in the GCS KV store (namespace "jobs", one
 * JSON record per submission id), so they outlive the dashboard process. Each job runs under a
 * JobSupervisor actor (job_supervisor.ts), created by the dashboard's own driver: the cluster's
 * scheduler places it with the job's entrypoint resources, and it records RUNNING and the final
 * status itself; the manager records PENDING and, when the supervisor dies, FAILED.
 */
import { randomBytes } from "node:crypto";
import { unzipSync } from "fflate";
import type {
  JobDeleteResponse, JobDetails, JobLogsResponse, JobStatus, JobStopResponse, JobSubmitRequest, JobSubmitResponse, RuntimeEnv,
} from "./api_types.ts";
import { TERMINAL_JOB_STATUSES } from "./api_types.ts";
import type { ClusterSource } from "./cluster.ts";
import { HttpError, sse, type DashboardServer } from "./server.ts";
import { MAX_PACKAGE_BYTES, PACKAGE_NAME_RE } from "./packages.ts";
import { JOBS_NS, PACKAGES_NS } from "../common/kv_namespaces.ts";
import type { JobSupervisor, RunResult } from "./job_supervisor.ts";
import type { CoreWorker } from "../worker/core_worker.ts";
import type { ActorHandle } from "../api/remote.ts";
import { logger } from "../common/log.ts";

/** The worker runtime, loaded on the first job request (the dashboard starts faster without it). */
const jobDriver = (): Promise<typeof import("./job_driver.ts")> => import("./job_driver.ts");

const log = logger("jobs");
export const SUPERVISOR_NAMESPACE = "_stingray_jobs";
const SUBMISSION_ID_RE = /^[A-Za-z0-9_.-]{1,128}$/;
const MAX_LOG_BYTES = 64 << 20;

function isTerminal(s: JobStatus): boolean { return TERMINAL_JOB_STATUSES.includes(s); }

function supervisorName(id: string): string { return `_stingray_job_supervisor_${id}`; }

export class JobManager {
  private source: ClusterSource;
  private driver: () => Promise<CoreWorker>;
  private supervisors = new Map<string, ActorHandle<JobSupervisor>>();

  /** `driver` resolves when the dashboard's own driver is connected (jobs wait for it). */
  constructor(source: ClusterSource, driver: () => Promise<CoreWorker>) {
    this.source = source;
    this.driver = driver;
  }

  async read(id: string): Promise<JobDetails | undefined> {
    const v = await this.source.kvGet(JOBS_NS, id);
    return v ? JSON.parse(Buffer.from(v).toString("utf8")) as JobDetails : undefined;
  }

  private async write(job: JobDetails, overwrite: boolean): Promise<boolean> {
    return this.source.kvPut(JOBS_NS, job.submission_id!, Buffer.from(JSON.stringify(job)), overwrite);
  }

  private async patch(id: string, p: Partial<JobDetails>, onlyIfRunning: boolean): Promise<void> {
    const cur = await this.read(id);
    if (!cur || (onlyIfRunning && isTerminal(cur.status))) return;
    await this.write({ ...cur, ...p }, true);
  }

  /** Every submitted job, with the cluster job id of its driver once that has connected. */
  async list(): Promise<JobDetails[]> {
    const keys = await this.source.kvKeys(JOBS_NS, "");
    const [records, drivers] = await Promise.all([Promise.all(keys.map((k) => this.read(k))), this.source.jobs()]);
    const bySub = new Map(drivers.filter((d) => d.submissionId).map((d) => [d.submissionId!, d.jobId]));
    return records.filter((r): r is JobDetails => r !== undefined)
      .map((r) => ({ ...r, job_id: r.job_id ?? bySub.get(r.submission_id!) ?? null }))
      .sort((a, b) => (b.start_time ?? 0) - (a.start_time ?? 0));
  }

  async get(id: string): Promise<JobDetails> {
    const r = await this.read(id);
    if (r) {
      if (!r.job_id) r.job_id = (await this.source.jobs()).find((d) => d.submissionId === id)?.jobId ?? null;
      return r;
    }
    // Ray also accepts the driver's job id.
    const byJob = (await this.list()).find((j) => j.job_id === id);
    if (byJob) return byJob;
    throw new HttpError(404, `no job ${id}: list jobs with \`stingray job list\``);
  }

  async submit(req: JobSubmitRequest): Promise<JobSubmitResponse> {
    const v = validateSubmit(req);
    if (v.runtime_env.working_dir) {
      const name = v.runtime_env.working_dir.replace(/^gcs:\/\//, "");
      if (!await this.source.kvExists(PACKAGES_NS, name)) {
        throw new HttpError(400, `working_dir package ${v.runtime_env.working_dir} was not uploaded to this cluster; ` +
          "`stingray job submit --working-dir DIR` uploads it first");
      }
    }
    const id = v.submission_id ?? `stingraysubmit_${randomBytes(12).toString("base64url").replace(/[^A-Za-z0-9]/g, "x").slice(0, 16)}`;
    const job: JobDetails = {
      type: "SUBMISSION", job_id: null, submission_id: id, driver_info: null, status: "PENDING", entrypoint: v.entrypoint,
      message: "the job is waiting for its supervisor to be placed on a node", error_type: null, start_time: Date.now(), end_time: null,
      metadata: v.metadata ?? {}, runtime_env: v.runtime_env, driver_node_id: null, driver_exit_code: null,
      entrypoint_num_cpus: v.entrypoint_num_cpus ?? null, entrypoint_num_gpus: v.entrypoint_num_gpus ?? null,
      entrypoint_memory: v.entrypoint_memory ?? null, entrypoint_resources: v.entrypoint_resources ?? null,
    };
    if (!await this.write(job, false)) {
      throw new HttpError(400, `a job with submission_id ${id} already exists: pick another id, or delete the old job with \`stingray job delete ${id}\``);
    }
    try {
      await this.startSupervisor(job);
    } catch (e) {
      await this.patch(id, { status: "FAILED", message: `the job could not be started: ${(e as Error).message}`, error_type: "JOB_SUPERVISOR_FAILED", end_time: Date.now() }, true);
    }
    return { job_id: id, submission_id: id };
  }

  private async startSupervisor(job: JobDetails): Promise<void> {
    const cw = await this.driver();
    const id = job.submission_id!;
    const resources: Record<string, number> = { ...job.entrypoint_resources ?? {} };
    if (job.entrypoint_num_cpus) resources.CPU = job.entrypoint_num_cpus;
    if (job.entrypoint_num_gpus) resources.GPU = job.entrypoint_num_gpus;
    if (job.entrypoint_memory) resources.memory = job.entrypoint_memory;
    // As in Ray: with no entrypoint resources the entrypoint runs on the head node.
    let strategy: { type: "NODE_AFFINITY"; nodeId: string; soft: boolean } | undefined;
    if (Object.keys(resources).length === 0) {
      const head = (await this.source.nodes()).find((n) => n.isHead && n.state === "ALIVE");
      if (head) strategy = { type: "NODE_AFFINITY", nodeId: head.nodeId, soft: true };
    }
    const { createSupervisor, get, kill } = await jobDriver();
    const handle = createSupervisor(cw, {
      submissionId: id, entrypoint: job.entrypoint, workingDir: job.runtime_env.working_dir, envVars: job.runtime_env.env_vars ?? {},
    }, { name: supervisorName(id), namespace: SUPERVISOR_NAMESPACE, resources, strategy });
    this.supervisors.set(id, handle);
    const done = handle.run.remote();
    void (get(done) as Promise<RunResult>).then(
      (r) => { log.info(`job ${id} ended: ${r.status}`); },
      async (e: unknown) => {
        log.warn(`job ${id}: supervisor failed: ${(e as Error).message}`);
        await this.patch(id, { status: "FAILED", message: `the job's supervisor died: ${(e as Error).message}`, error_type: "JOB_SUPERVISOR_ACTOR_DIED", end_time: Date.now() }, true).catch(() => {});
      },
    ).finally(() => {
      this.supervisors.delete(id);
      // Let the supervisor exit by itself (it reports its task events first); kill it if it does not.
      void get(handle.exit.remote()).catch(() => {}).finally(() => {
        setTimeout(() => { void kill(handle as ActorHandle<unknown>, { noRestart: true }).catch(() => {}); }, 2000).unref();
      });
    });
  }

  async stop(id: string): Promise<JobStopResponse> {
    const job = await this.get(id);
    const sid = job.submission_id;
    if (!sid || isTerminal(job.status)) return { stopped: false };
    const handle = this.supervisors.get(sid) ?? await this.findSupervisor(sid);
    if (!handle) {
      // Its supervisor is gone (the dashboard restarted and lost it): record the stop.
      await this.patch(sid, { status: "STOPPED", message: "stopped (its supervisor was no longer reachable)", end_time: Date.now() }, true);
      return { stopped: true };
    }
    await (await jobDriver()).get(handle.stop.remote());
    return { stopped: true };
  }

  /** A supervisor this process did not start (the dashboard restarted): found by its name. */
  private async findSupervisor(id: string): Promise<ActorHandle<JobSupervisor> | undefined> {
    const cw = await this.driver();
    return (await jobDriver()).findSupervisor(cw, supervisorName(id), SUPERVISOR_NAMESPACE);
  }

  async delete(id: string): Promise<JobDeleteResponse> {
    const job = await this.get(id);
    if (!isTerminal(job.status)) {
      throw new HttpError(400, `job ${id} is ${job.status}: only finished jobs can be deleted; stop it first with \`stingray job stop ${id}\``);
    }
    return { deleted: await this.source.kvDel(JOBS_NS, job.submission_id!) };
  }

  /** The whole driver log (up to MAX_LOG_BYTES, the end kept). */
  async logs(id: string): Promise<JobLogsResponse> {
    const job = await this.get(id);
    if (!job.driver_node_id) return { logs: "" };
    const name = `job-driver-${job.submission_id}.log`;
    const chunks: Buffer[] = [];
    let offset = 0;
    try {
      const first = await this.source.node(job.driver_node_id, "raylet.ReadLog", { name, offset: -MAX_LOG_BYTES, length: 4 << 20 });
      chunks.push(Buffer.from(first.data));
      offset = first.offset + first.data.length;
      while (offset < first.size) {
        const r = await this.source.node(job.driver_node_id, "raylet.ReadLog", { name, offset, length: 4 << 20 });
        if (!r.data.length) break;
        chunks.push(Buffer.from(r.data));
        offset += r.data.length;
      }
    } catch (e) {
      if (/no log file/.test((e as Error).message)) return { logs: "" };
      throw new HttpError(503, `the logs of job ${id} are on node ${job.driver_node_id}, which did not answer: ${(e as Error).message}`);
    }
    return { logs: Buffer.concat(chunks).toString("utf8") };
  }

  /** SSE: the log from the start, then as it grows; ends with `event: end` and the final status. */
  tail(id: string): import("./server.ts").Response {
    return {
      status: 200, stream: (res) => {
        const out = sse(res);
        let closed = false;
        res.on("close", () => { closed = true; });
        void (async () => {
          let offset = 0;
          let job: JobDetails | undefined;
          while (!closed) {
            try {
              job = await this.get(id);
            } catch (e) {
              out.event({ error: (e as Error).message }, "error");
              break;
            }
            const done = isTerminal(job.status);
            if (job.driver_node_id) {
              const name = `job-driver-${job.submission_id}.log`;
              for (;;) {
                let r;
                try {
                  r = await this.source.node(job.driver_node_id, "raylet.ReadLog", { name, offset, length: 1 << 20 });
                } catch { break; }
                if (r.data.length) out.event({ text: Buffer.from(r.data).toString("utf8") });
                offset = r.offset + r.data.length;
                if (r.data.length < 1 << 20) break;
              }
            }
            if (done) { out.event({ status: job.status }, "end"); break; }
            await new Promise((r) => setTimeout(r, 250));
          }
          out.end();
        })();
      },
    };
  }
}

function validateSubmit(raw: unknown): JobSubmitRequest & { runtime_env: RuntimeEnv } {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new HttpError(400, "the request body must be a JSON object with an entrypoint");
  const r = raw as Record<string, unknown>;
  const known = new Set(["entrypoint", "submission_id", "job_id", "runtime_env", "metadata", "entrypoint_num_cpus", "entrypoint_num_gpus",
    "entrypoint_memory", "entrypoint_resources"]);
  for (const k of Object.keys(r)) if (!known.has(k)) throw new HttpError(400, `unknown field ${JSON.stringify(k)} in the job request; valid fields: ${[...known].join(", ")}`);
  if (typeof r.entrypoint !== "string" || !r.entrypoint.trim()) throw new HttpError(400, "entrypoint must be a non-empty shell command, e.g. \"node script.ts\"");
  const sid = r.submission_id ?? r.job_id;
  if (sid !== undefined && sid !== null && (typeof sid !== "string" || !SUBMISSION_ID_RE.test(sid))) {
    throw new HttpError(400, "submission_id must be 1-128 letters, digits, '_', '-' or '.'");
  }
  const env = r.runtime_env ?? {};
  if (typeof env !== "object" || env === null || Array.isArray(env)) throw new HttpError(400, "runtime_env must be an object");
  const e = env as Record<string, unknown>;
  for (const k of Object.keys(e)) {
    if (k !== "working_dir" && k !== "env_vars" && k !== "excludes") {
      throw new HttpError(400, `runtime_env.${k} is not supported by Stingray jobs (supported: working_dir, env_vars, excludes)`);
    }
  }
  if (e.working_dir !== undefined && (typeof e.working_dir !== "string" || !/^gcs:\/\/_stingray_pkg_[0-9a-f]+\.zip$/.test(e.working_dir))) {
    throw new HttpError(400, "runtime_env.working_dir must be an uploaded package URI (gcs://_stingray_pkg_<hash>.zip); " +
      "`stingray job submit --working-dir DIR` uploads a local directory");
  }
  if (e.env_vars !== undefined) {
    if (typeof e.env_vars !== "object" || e.env_vars === null || Object.values(e.env_vars).some((x) => typeof x !== "string")) {
      throw new HttpError(400, "runtime_env.env_vars must map names to string values");
    }
  }
  const num = (k: string): number | undefined => {
    const x = r[k];
    if (x === undefined || x === null) return undefined;
    if (typeof x !== "number" || !Number.isFinite(x) || x < 0) throw new HttpError(400, `${k} must be a non-negative number`);
    return x;
  };
  let resources: Record<string, number> | undefined;
  if (r.entrypoint_resources !== undefined && r.entrypoint_resources !== null) {
    const er = r.entrypoint_resources;
    if (typeof er !== "object" || Array.isArray(er) || Object.values(er).some((x) => typeof x !== "number" || x < 0)) {
      throw new HttpError(400, "entrypoint_resources must map resource names to non-negative numbers");
    }
    for (const k of Object.keys(er)) if (k === "CPU" || k === "GPU" || k === "memory") throw new HttpError(400, `use entrypoint_num_cpus/entrypoint_num_gpus/entrypoint_memory instead of entrypoint_resources.${k}`);
    resources = er as Record<string, number>;
  }
  const metadata = r.metadata;
  if (metadata !== undefined && (typeof metadata !== "object" || metadata === null || Object.values(metadata).some((x) => typeof x !== "string"))) {
    throw new HttpError(400, "metadata must map names to string values");
  }
  return {
    entrypoint: r.entrypoint, submission_id: (sid as string | undefined) ?? undefined,
    runtime_env: { ...(e.working_dir ? { working_dir: e.working_dir as string } : {}), ...(e.env_vars ? { env_vars: e.env_vars as Record<string, string> } : {}) },
    metadata: metadata as Record<string, string> | undefined, entrypoint_num_cpus: num("entrypoint_num_cpus"),
    entrypoint_num_gpus: num("entrypoint_num_gpus"), entrypoint_memory: num("entrypoint_memory"), entrypoint_resources: resources,
  };
}

export function registerJobRoutes(server: DashboardServer, jobs: JobManager, source: ClusterSource): void {
  server.route("POST", "/api/jobs/", async (req) => ({ status: 200, json: await jobs.submit(await req.json()) }));
  server.route("GET", "/api/jobs/", async () => ({ status: 200, json: await jobs.list() }));
  server.route("GET", "/api/jobs/:id", async (req) => ({ status: 200, json: await jobs.get(req.params.id!) }));
  server.route("GET", "/api/jobs/:id/logs", async (req) => ({ status: 200, json: await jobs.logs(req.params.id!) }));
  server.route("GET", "/api/jobs/:id/logs/tail", async (req) => { await jobs.get(req.params.id!); return jobs.tail(req.params.id!); });
  server.route("POST", "/api/jobs/:id/stop", async (req) => ({ status: 200, json: await jobs.stop(req.params.id!) }));
  server.route("DELETE", "/api/jobs/:id", async (req) => ({ status: 200, json: await jobs.delete(req.params.id!) }));

  const pkgName = (protocol: string, name: string): string => {
    if (protocol !== "gcs") throw new HttpError(400, `package protocol ${protocol} is not supported; use gcs`);
    if (!PACKAGE_NAME_RE.test(name)) throw new HttpError(400, `invalid package name ${JSON.stringify(name)}: expected _stingray_pkg_<hex>.zip`);
    return name;
  };
  server.route("GET", "/api/packages/:protocol/:name", async (req) => {
    const name = pkgName(req.params.protocol!, req.params.name!);
    if (!await source.kvExists(PACKAGES_NS, name)) throw new HttpError(404, `package ${name} is not uploaded`);
    return { status: 200, json: { exists: true } };
  });
  server.route("PUT", "/api/packages/:protocol/:name", async (req) => {
    const name = pkgName(req.params.protocol!, req.params.name!);
    const body = await req.body();
    try {
      unzipSync(body, { filter: () => false });
    } catch {
      throw new HttpError(400, `package ${name} is not a zip file`);
    }
    await source.kvPut(PACKAGES_NS, name, body, true);
    return { status: 200, json: { uploaded: true } };
  }, { maxBodyBytes: MAX_PACKAGE_BYTES });
}
