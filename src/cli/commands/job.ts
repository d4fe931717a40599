/**
 * @module cli/commands/job
 * `stingray job submit|status|logs|stop|delete|list`: Ray's `ray job` against the dashboard's job
 * API. `submit` uploads the working_dir, then follows the job's output until it ends and exits
 * with its outcome (0 only for SUCCEEDED).
 */
import fs from "node:fs";
import YAML from "yaml";
import { parse, help, json, num, UsageError, type FlagSpec } from "../args.ts";
import { CONNECT_FLAGS, HELP_FLAG, connectDashboard } from "./dashboard.ts";
import { boxed, duration, parseFormat, structured, table, time } from "../format.ts";
import { type DashboardClient } from "../../dashboard/client.ts";
import { uploadWorkingDir } from "../../dashboard/packages.ts";
import { TERMINAL_JOB_STATUSES, type JobDetails, type JobStatus, type JobSubmitRequest, type RuntimeEnv } from "../../dashboard/api_types.ts";

const SUBMIT_FLAGS: FlagSpec = {
  "submission-id": { type: "string", help: "Id of the job (default: generated, stingraysubmit_…).", alias: ["job-id"] },
  "working-dir": { type: "string", help: "Directory (or .zip) shipped to the cluster and used as the job's working directory." },
  "runtime-env": { type: "string", help: "Runtime environment from a YAML or JSON file." },
  "runtime-env-json": { type: "string", help: "Runtime environment as JSON, e.g. '{\"env_vars\": {\"A\": \"1\"}, \"excludes\": [\"data/\"]}'." },
  "metadata-json": { type: "string", help: "Metadata as a JSON object of strings." },
  "entrypoint-num-cpus": { type: "string", help: "CPUs reserved for the entrypoint." },
  "entrypoint-num-gpus": { type: "string", help: "GPUs reserved for the entrypoint." },
  "entrypoint-memory": { type: "string", help: "Memory (bytes) reserved for the entrypoint." },
  "entrypoint-resources": { type: "string", help: "Custom resources for the entrypoint as JSON, e.g. '{\"accelerator\": 1}'." },
  "no-wait": { type: "boolean", help: "Do not follow the job's output; return once it is submitted." },
  ...CONNECT_FLAGS,
  ...HELP_FLAG,
};
const STATUS_FLAGS: FlagSpec = { format: { type: "string", help: "Output: text (default), json or yaml." }, ...CONNECT_FLAGS, ...HELP_FLAG };
const LOGS_FLAGS: FlagSpec = { follow: { type: "boolean", short: "f", help: "Follow the output until the job ends." }, ...CONNECT_FLAGS, ...HELP_FLAG };
const STOP_FLAGS: FlagSpec = { "no-wait": { type: "boolean", help: "Return once the stop is requested, without waiting for the job to exit." }, ...CONNECT_FLAGS, ...HELP_FLAG };
const DELETE_FLAGS: FlagSpec = { ...CONNECT_FLAGS, ...HELP_FLAG };
const LIST_FLAGS: FlagSpec = { format: { type: "string", help: "Output: table (default), json or yaml." }, ...CONNECT_FLAGS, ...HELP_FLAG };

const SUBCOMMANDS: Record<string, { usage: string; summary: string; flags: FlagSpec; run: (argv: string[]) => Promise<number> }> = {
  submit: { usage: "job submit [flags] -- ENTRYPOINT...", summary: "Submit a job (e.g. `-- node main.ts`) and follow its output until it ends.", flags: SUBMIT_FLAGS, run: submit },
  status: { usage: "job status SUBMISSION_ID", summary: "Show a job's status.", flags: STATUS_FLAGS, run: status },
  logs: { usage: "job logs SUBMISSION_ID [-f]", summary: "Print a job's output (-f: follow it until the job ends).", flags: LOGS_FLAGS, run: logs },
  stop: { usage: "job stop SUBMISSION_ID [--no-wait]", summary: "Stop a job and wait until it has exited.", flags: STOP_FLAGS, run: stop },
  delete: { usage: "job delete SUBMISSION_ID", summary: "Delete a finished job's record (its logs stay on the node).", flags: DELETE_FLAGS, run: del },
  list: { usage: "job list [--format table|json|yaml]", summary: "List the cluster's jobs.", flags: LIST_FLAGS, run: list },
};

function usage(): string {
  return "Usage: stingray job <submit|status|logs|stop|delete|list> [flags]\n\nSubmit and manage jobs through the dashboard's job API.\n\n" +
    Object.values(SUBCOMMANDS).map((s) => `  stingray ${s.usage}\n      ${s.summary}`).join("\n") +
    "\n\nRun `stingray job <subcommand> --help` for its flags. The dashboard is found from --address, STINGRAY_ADDRESS or the\n" +
    "cluster on this host; the token from STINGRAY_AUTH_TOKEN or the local cluster's session.\n";
}

export async function jobCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h" || sub === "help") { process.stdout.write(usage()); return sub ? 0 : 2; }
  const s = SUBCOMMANDS[sub];
  if (!s) throw new UsageError(`stingray job: unknown subcommand "${sub}"; use one of ${Object.keys(SUBCOMMANDS).join(", ")}`);
  return s.run(rest);
}

/** Parse a subcommand's flags; answers --help; returns undefined when help was printed. */
function flags(sub: string, argv: string[]): { v: Record<string, string | boolean | undefined>; positionals: string[] } | undefined {
  const s = SUBCOMMANDS[sub]!;
  const { values: v, positionals } = parse(`job ${sub}`, argv, s.flags);
  if (v.help) { process.stdout.write(help(s.usage, s.summary, s.flags)); return undefined; }
  return { v, positionals };
}

function jobId(sub: string, positionals: string[]): string {
  if (positionals.length !== 1 || !positionals[0]) {
    throw new UsageError(`stingray job ${sub}: give one submission id, e.g. \`stingray job ${sub} stingraysubmit_abc123\` (\`stingray job list\` shows them)`);
  }
  return positionals[0];
}

/** Join argv into one command line the way Python's shlex.join does (quote what the shell would split). */
export function shellJoin(args: string[]): string {
  return args.map((a) => (a === "" ? "''" : /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'"'"'`)}'`)).join(" ");
}

/**
 * The runtime env of --runtime-env / --runtime-env-json, with --working-dir applied, checked where
 * the CLI uses it (working_dir, excludes, env_vars); the server checks the rest.
 */
export function buildRuntimeEnv(v: Record<string, string | boolean | undefined>, warn: (s: string) => void): { env: Record<string, unknown>; excludes: string[] } {
  const file = v["runtime-env"] as string | undefined;
  const inline = v["runtime-env-json"] as string | undefined;
  if (file && inline) throw new UsageError("stingray job submit: give --runtime-env (a file) or --runtime-env-json, not both");
  let env: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try { text = fs.readFileSync(file, "utf8"); } catch (e) { throw new UsageError(`stingray job submit: cannot read --runtime-env ${file}: ${(e as Error).message}`); }
    let parsed: unknown;
    try { parsed = YAML.parse(text); } catch (e) { throw new UsageError(`stingray job submit: --runtime-env ${file} is not valid YAML or JSON: ${(e as Error).message}`); }
    if (parsed !== null && parsed !== undefined && (typeof parsed !== "object" || Array.isArray(parsed))) {
      throw new UsageError(`stingray job submit: --runtime-env ${file} must hold a mapping, e.g. "working_dir: ." and "env_vars: {A: '1'}"`);
    }
    env = (parsed ?? {}) as Record<string, unknown>;
  } else if (inline) {
    env = json("job submit", "runtime-env-json", inline) ?? {};
  }
  const wd = v["working-dir"] as string | undefined;
  if (wd) {
    if (typeof env.working_dir === "string" && env.working_dir !== wd) warn(`--working-dir ${wd} replaces the runtime env's working_dir ${env.working_dir}`);
    env.working_dir = wd;
  }
  const ex = env.excludes;
  if (ex !== undefined && (!Array.isArray(ex) || ex.some((x) => typeof x !== "string"))) {
    throw new UsageError("stingray job submit: runtime env excludes must be a list of file names or globs, e.g. [\"data/\", \"*.log\"]");
  }
  const envVars = env.env_vars;
  if (envVars !== undefined && (typeof envVars !== "object" || envVars === null || Array.isArray(envVars) ||
    Object.values(envVars).some((x) => typeof x !== "string"))) {
    throw new UsageError("stingray job submit: runtime env env_vars must map names to strings, e.g. {\"A\": \"1\"}");
  }
  return { env, excludes: (ex as string[] | undefined) ?? [] };
}

async function submit(argv: string[]): Promise<number> {
  const dash = argv.indexOf("--");
  const f = flags("submit", dash >= 0 ? argv.slice(0, dash) : argv);
  if (!f) return 0;
  const { v } = f;
  const entry = dash >= 0 ? argv.slice(dash + 1) : f.positionals;
  if (dash >= 0 && f.positionals.length) throw new UsageError(`stingray job submit: unexpected ${f.positionals.join(" ")} before "--"; the entrypoint goes after it`);
  if (!entry.length) throw new UsageError("stingray job submit: give the entrypoint after --, e.g. `stingray job submit --working-dir . -- node main.ts`");
  const warn = (s: string): void => { process.stderr.write(`Warning: ${s}\n`); };
  const { env, excludes } = buildRuntimeEnv(v, warn);
  const metadata = json("job submit", "metadata-json", v["metadata-json"]);
  if (metadata && Object.values(metadata).some((x) => typeof x !== "string")) {
    throw new UsageError("stingray job submit: --metadata-json values must be strings, e.g. '{\"owner\": \"ana\"}'");
  }
  const resources = json("job submit", "entrypoint-resources", v["entrypoint-resources"]);
  if (resources && Object.values(resources).some((x) => typeof x !== "number" || x < 0)) {
    throw new UsageError("stingray job submit: --entrypoint-resources values must be non-negative numbers, e.g. '{\"accelerator\": 1}'");
  }
  const client = connectDashboard("job submit", v);
  process.stdout.write(`Job submission server address: ${client.url}\n`);
  if (typeof env.working_dir === "string") {
    env.working_dir = await uploadWorkingDir(client, env.working_dir, excludes, (l) => process.stdout.write(`${l}\n`));
  }
  const req: JobSubmitRequest = { entrypoint: shellJoin(entry) };
  const sid = v["submission-id"] as string | undefined;
  if (sid) req.submission_id = sid;
  if (Object.keys(env).length) req.runtime_env = env as RuntimeEnv;
  if (metadata) req.metadata = metadata as Record<string, string>;
  const cpus = num("job submit", "entrypoint-num-cpus", v["entrypoint-num-cpus"]);
  const gpus = num("job submit", "entrypoint-num-gpus", v["entrypoint-num-gpus"]);
  const memory = num("job submit", "entrypoint-memory", v["entrypoint-memory"]);
  if (cpus !== undefined) req.entrypoint_num_cpus = cpus;
  if (gpus !== undefined) req.entrypoint_num_gpus = gpus;
  if (memory !== undefined) req.entrypoint_memory = memory;
  if (resources) req.entrypoint_resources = resources as Record<string, number>;
  const { submission_id: id } = await client.submitJob(req);
  process.stdout.write(boxed(`Job '${id}' submitted successfully`) + "\n");
  if (v["no-wait"]) {
    process.stdout.write(`Next steps\n  Query the logs of the job:\n    stingray job logs ${id}\n  Query the status of the job:\n    stingray job status ${id}\n` +
      `  Request the job to be stopped:\n    stingray job stop ${id}\n`);
    return 0;
  }
  process.stdout.write("Tailing logs until the job exits (disable with --no-wait):\n");
  const final = await follow(client, id);
  if (final === undefined) return 130;
  printFinal(id, await client.getJob(id).catch(() => undefined), final);
  return final === "SUCCEEDED" ? 0 : 1;
}

/** Print the job's output as it comes; its final status, or undefined after Ctrl-C (the job keeps running). */
async function follow(client: DashboardClient, id: string): Promise<JobStatus | undefined> {
  const abort = new AbortController();
  const onInt = (): void => {
    process.stderr.write(`\nStopped following job '${id}'; the job keeps running. Stop it with \`stingray job stop ${id}\`, ` +
      `follow it again with \`stingray job logs ${id} -f\`.\n`);
    abort.abort();
  };
  process.once("SIGINT", onInt);
  try {
    for await (const item of client.tailJobLogs(id, abort.signal)) {
      if (item.type === "log") process.stdout.write(item.text);
      else return item.status;
    }
    return undefined;
  } catch (e) {
    if (abort.signal.aborted) return undefined;
    throw e;
  } finally {
    process.off("SIGINT", onInt);
  }
}

function printFinal(id: string, job: JobDetails | undefined, status: JobStatus, after = "\n"): void {
  if (status === "SUCCEEDED") process.stdout.write(after + boxed(`Job '${id}' succeeded`));
  else if (status === "STOPPED") process.stdout.write(`${after}Job '${id}' was stopped\n`);
  else if (status === "FAILED") {
    process.stdout.write(after + boxed(`Job '${id}' failed`));
    if (job?.message) process.stdout.write(`Status message: ${job.message}\n`);
  } else {
    process.stdout.write(`Status for job '${id}': ${status}\n`);
    if (job?.message) process.stdout.write(`Status message: ${job.message}\n`);
  }
}

async function status(argv: string[]): Promise<number> {
  const f = flags("status", argv);
  if (!f) return 0;
  const id = jobId("status", f.positionals);
  const format = f.v.format === undefined || f.v.format === "text" ? undefined : parseFormat("job status", f.v.format);
  const job = await connectDashboard("job status", f.v).getJob(id);
  if (format && format !== "table") { process.stdout.write(structured(format, job)); return 0; }
  if (TERMINAL_JOB_STATUSES.includes(job.status)) printFinal(id, job, job.status, "");
  else {
    process.stdout.write(`Status for job '${id}': ${job.status}\n`);
    if (job.message) process.stdout.write(`Status message: ${job.message}\n`);
  }
  return 0;
}

async function logs(argv: string[]): Promise<number> {
  const f = flags("logs", argv);
  if (!f) return 0;
  const id = jobId("logs", f.positionals);
  const client = connectDashboard("job logs", f.v);
  if (!f.v.follow) {
    process.stdout.write((await client.jobLogs(id)).logs);
    return 0;
  }
  const final = await follow(client, id);
  if (final === undefined) return 130;
  printFinal(id, await client.getJob(id).catch(() => undefined), final);
  return 0;
}

async function stop(argv: string[]): Promise<number> {
  const f = flags("stop", argv);
  if (!f) return 0;
  const id = jobId("stop", f.positionals);
  const client = connectDashboard("job stop", f.v);
  process.stdout.write(`Attempting to stop job '${id}'\n`);
  const { stopped } = await client.stopJob(id);
  let job = await client.getJob(id);
  if (!stopped && TERMINAL_JOB_STATUSES.includes(job.status)) {
    process.stdout.write(`Job '${id}' had already exited (${job.status}); nothing to stop\n`);
    return 0;
  }
  if (f.v["no-wait"]) { process.stdout.write(`Stop requested; check with \`stingray job status ${id}\`\n`); return 0; }
  process.stdout.write(`Waiting for job '${id}' to exit (disable with --no-wait):\n`);
  let last: JobStatus | undefined;
  while (!TERMINAL_JOB_STATUSES.includes(job.status)) {
    if (job.status !== last) process.stdout.write(`Job has not exited yet. Status: ${job.status}\n`);
    last = job.status;
    await new Promise((r) => setTimeout(r, 500));
    job = await client.getJob(id);
  }
  printFinal(id, job, job.status);
  return 0;
}

async function del(argv: string[]): Promise<number> {
  const f = flags("delete", argv);
  if (!f) return 0;
  const id = jobId("delete", f.positionals);
  const client = connectDashboard("job delete", f.v);
  try {
    await client.deleteJob(id);
  } catch (e) {
    if ((e as { data?: { status?: number } }).data?.status === 400) {
      (e as Error).message += `\nOnly a finished job can be deleted: stop it first with \`stingray job stop ${id}\``;
    }
    throw e;
  }
  process.stdout.write(`Job '${id}' deleted successfully\n`);
  return 0;
}

/** `job list` as a table: newest first. */
export function jobTable(jobs: JobDetails[]): string {
  const sorted = [...jobs].sort((a, b) => (b.start_time ?? 0) - (a.start_time ?? 0));
  return table(["SUBMISSION_ID", "JOB_ID", "TYPE", "STATUS", "START_TIME", "DURATION", "ENTRYPOINT"], sorted.map((j) => [
    j.submission_id ?? "-", j.job_id ?? "-", j.type, j.status, time(j.start_time),
    j.start_time ? duration((j.end_time ?? Date.now()) - j.start_time) : "-",
    j.entrypoint.length > 60 ? `${j.entrypoint.slice(0, 57)}...` : j.entrypoint,
  ]));
}

async function list(argv: string[]): Promise<number> {
  const f = flags("list", argv);
  if (!f) return 0;
  if (f.positionals.length) throw new UsageError(`stingray job list: unexpected argument ${f.positionals[0]} (see --help)`);
  const format = parseFormat("job list", f.v.format);
  const jobs = await connectDashboard("job list", f.v).listJobs();
  if (format !== "table") { process.stdout.write(structured(format, jobs)); return 0; }
  process.stdout.write(jobs.length ? jobTable(jobs) : "No jobs in the cluster.\n");
  return 0;
}
