/**
 * @module cli/main
 * The `stingray` command line: dispatches to one module per command.
 */
import { UsageError } from "./args.ts";
import { StingrayError } from "../common/errors.ts";

const COMMANDS: Record<string, { summary: string; run: (argv: string[]) => Promise<number> | number }> = {
  start: { summary: "Start Stingray on this host (--head, or --address=HEAD:PORT to join).",
    run: async (a) => (await import("./commands/start.ts")).startCommand(a) },
  stop: { summary: "Stop every Stingray process on this host.",
    run: async (a) => (await import("./commands/stop.ts")).stopCommand(a) },
  status: { summary: "Show nodes, resource usage and demands.",
    run: async (a) => (await import("./commands/status.ts")).statusCommand(a) },
  "get-auth-token": { summary: "Print this cluster's auth token (on the head).",
    run: async (a) => (await import("./commands/status.ts")).getAuthTokenCommand(a) },
  job: { summary: "Submit and manage jobs: submit, status, logs, stop, delete, list.",
    run: async (a) => (await import("./commands/job.ts")).jobCommand(a) },
  list: { summary: "List nodes, actors, tasks, objects, workers, jobs or placement groups.",
    run: async (a) => (await import("./commands/state.ts")).listCommand(a) },
  get: { summary: "Show one node, actor, task, object, worker or job in full.",
    run: async (a) => (await import("./commands/state.ts")).getCommand(a) },
  summary: { summary: "Summarize tasks, actors or objects.",
    run: async (a) => (await import("./commands/state.ts")).summaryCommand(a) },
  logs: { summary: "List log files, or print a file's, actor's, task's, worker's or job's output.",
    run: async (a) => (await import("./commands/state.ts")).logsCommand(a) },
  timeline: { summary: "Write the tasks' timeline as a Chrome trace file.",
    run: async (a) => (await import("./commands/state.ts")).timelineCommand(a) },
  memory: { summary: "Show object store usage per node and its objects.",
    run: async (a) => (await import("./commands/state.ts")).memoryCommand(a) },
  dashboard: { summary: "Forward a remote head's dashboard to this machine over SSH.",
    run: async (a) => (await import("./commands/dashboard.ts")).dashboardCommand(a) },
  metrics: { summary: "launch-prometheus | shutdown-prometheus: run Prometheus with this cluster's generated config.",
    run: async (a) => (await import("./commands/metrics.ts")).metricsCommand(a) },
  up: { summary: "Create or update a cluster from a YAML config (cluster launcher).",
    run: async (a) => (await import("./commands/cluster.ts")).upCommand(a) },
  down: { summary: "Tear down a cluster started with `up`.",
    run: async (a) => (await import("./commands/cluster.ts")).downCommand(a) },
  teardown: { summary: "Same as down (Ray's older name).",
    run: async (a) => (await import("./commands/cluster.ts")).downCommand(a) },
  exec: { summary: "Run a shell command on a cluster's head (or every node).",
    run: async (a) => (await import("./commands/cluster.ts")).execCommand(a) },
  submit: { summary: "Copy a script to a cluster's head and run it there.",
    run: async (a) => (await import("./commands/cluster.ts")).submitCommand(a) },
  attach: { summary: "Open a shell (or tmux/screen session) on a cluster's head.",
    run: async (a) => (await import("./commands/cluster.ts")).attachCommand(a) },
  "rsync-up": { summary: "Copy files to a cluster's head (or every node).",
    run: async (a) => (await import("./commands/cluster.ts")).rsyncCommand(false)(a) },
  "rsync-down": { summary: "Copy files from a cluster's head.",
    run: async (a) => (await import("./commands/cluster.ts")).rsyncCommand(true)(a) },
  "get-head-ip": { summary: "Print a cluster's head IP.",
    run: async (a) => (await import("./commands/cluster.ts")).getHeadIpCommand(a) },
  "get-worker-ips": { summary: "Print a cluster's worker IPs.",
    run: async (a) => (await import("./commands/cluster.ts")).getWorkerIpsCommand(a) },
  monitor: { summary: "Follow a cluster's autoscaler log.",
    run: async (a) => (await import("./commands/cluster.ts")).monitorCommand(a) },
  microbenchmark: { summary: "Run Ray's core microbenchmarks against a local cluster.",
    run: async (a) => (await import("./commands/microbenchmark.ts")).microbenchmarkCommand(a) },
};

function usage(): string {
  return "Usage: stingray <command> [flags]\n\nCommands:\n" +
    Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(18)}${c.summary}`).join("\n") +
    "\n\nRun `stingray <command> --help` for a command's flags.\n";
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") { process.stdout.write(usage()); return cmd ? 0 : 1; }
  if (cmd === "--version") {
    const { packageVersion } = await import("../node/launcher.ts");
    process.stdout.write(`stingray ${packageVersion()}\n`);
    return 0;
  }
  // Ray spells these with underscores too (`ray rsync_up`, `ray get_head_ip`).
  const c = COMMANDS[cmd] ?? COMMANDS[cmd.replace(/_/g, "-")];
  if (!c) { process.stderr.write(`stingray: unknown command "${cmd}"\n\n${usage()}`); return 2; }
  return c.run(rest);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError || e instanceof StingrayError) {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 2;
  } else {
    throw e;
  }
}
