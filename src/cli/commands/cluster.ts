/**
 * @module cli/commands/cluster
 * The cluster launcher commands, as Ray's: `up`, `down`, `exec`, `submit`, `attach`,
 * `rsync-up`, `rsync-down`, `get-head-ip`, `get-worker-ips`, `monitor`, and `dashboard CONFIG`
 * (dashboard.ts hands YAML arguments here). Flags are parsed here; the work is in
 * launcher/cluster.ts.
 */
import { parse, num, help, UsageError, type FlagSpec } from "../args.ts";
import type { Cluster, OpenOptions } from "../../launcher/cluster.ts";

const HELP: FlagSpec = { help: { type: "boolean", short: "h", help: "Show this help." } };
const NAME: FlagSpec = { "cluster-name": { type: "string", short: "n", help: "Override the configured cluster name." } };
const SESSION: FlagSpec = {
  tmux: { type: "boolean", help: "Run the command in a detached tmux session on the head." },
  screen: { type: "boolean", help: "Run the command in a detached screen session on the head." },
};
const START_STOP: FlagSpec = {
  start: { type: "boolean", help: "Start (or update) the cluster first if needed." },
  stop: { type: "boolean", help: "Stop the cluster after the command finishes." },
};
const PORT_FORWARD: FlagSpec = {
  "port-forward": { type: "string", short: "p", multiple: true, help: "Forward this port from the head to the same local port." },
};

function ports(command: string, list: string[] | undefined): number[] {
  return (list ?? []).map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`stingray ${command}: --port-forward must be a port number (1-65535), got "${p}"`);
    return n;
  });
}

async function open(command: string, file: string | undefined, o: OpenOptions): Promise<Cluster> {
  if (!file) throw new UsageError(`stingray ${command}: give the cluster config file, e.g. \`stingray ${command} cluster.yaml\``);
  const { openCluster } = await import("../../launcher/cluster.ts");
  return openCluster(file, o);
}

async function withCluster<T>(command: string, file: string | undefined, o: OpenOptions, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const c = await open(command, file, o);
  try {
    return await fn(c);
  } finally {
    const { closeCluster } = await import("../../launcher/cluster.ts");
    await closeCluster(c);
  }
}

const UP_FLAGS: FlagSpec = {
  yes: { type: "boolean", short: "y", help: "Do not ask for confirmation." },
  "no-restart": { type: "boolean", help: "Update files and setup but do not restart Stingray on the head." },
  "restart-only": { type: "boolean", help: "Skip file mounts and setup commands; only restart Stingray." },
  "min-workers": { type: "string", help: "Override min_workers of every worker node type." },
  "max-workers": { type: "string", help: "Override the global max_workers." },
  "dry-run": { type: "boolean", help: "Validate the config and print the plan without touching any host." },
  "no-wait": { type: "boolean", help: "Return once the head is up, without following the workers' setup." },
  ...NAME, ...HELP,
};

export async function upCommand(argv: string[]): Promise<number> {
  // `--no-restart` is its own flag here (not the negation of a `restart` flag).
  const { values: v, positionals } = parse("up", argv, UP_FLAGS);
  if (v.help) { process.stdout.write(help("up CONFIG [-y] [--no-restart | --restart-only] [--min-workers N] [--max-workers N] [-n NAME] [--dry-run] [--no-wait]", "Create or update a cluster from a YAML config.", UP_FLAGS)); return 0; }
  if (v["no-restart"] && v["restart-only"]) throw new UsageError("stingray up: give --no-restart or --restart-only, not both");
  const minWorkers = num("up", "min-workers", v["min-workers"]);
  const maxWorkers = num("up", "max-workers", v["max-workers"]);
  const dryRun = v["dry-run"] === true;
  return withCluster("up", positionals[0], { clusterName: v["cluster-name"] as string | undefined, minWorkers, maxWorkers, dryRun }, async (c) => {
    const { describePlan, up, nodeAddress, followWorkers } = await import("../../launcher/cluster.ts");
    if (dryRun) {
      process.stdout.write(`Config ${positionals[0]} is valid.\n${describePlan(c).join("\n")}\n`);
      return 0;
    }
    const { head } = await up(c, { yes: v.yes === true, noRestart: v["no-restart"] === true, restartOnly: v["restart-only"] === true });
    if (v["no-wait"] !== true && v["no-restart"] !== true) await followWorkers(c);
    const f = positionals[0]!;
    const n = v["cluster-name"] ? ` --cluster-name ${String(v["cluster-name"])}` : "";
    process.stdout.write(`\nStingray is up on the head node ${nodeAddress(c, head)}.\n\nUseful commands:\n` +
      `  To terminate the cluster:\n    stingray down ${f}${n}\n\n` +
      `  To retrieve the IP address of the cluster head:\n    stingray get-head-ip ${f}${n}\n\n` +
      `  To port-forward the cluster's dashboard to the local machine:\n    stingray dashboard ${f}${n}\n\n` +
      `  To submit a job to the cluster, port-forward the dashboard, then run:\n    stingray job submit --address http://localhost:8265 --working-dir . -- node script.ts\n\n` +
      `  To connect to a terminal on the cluster head for debugging:\n    stingray attach ${f}${n}\n\n` +
      `  To monitor autoscaling:\n    stingray exec ${f}${n} 'stingray status'\n    stingray monitor ${f}${n}\n`);
    return 0;
  });
}

const DOWN_FLAGS: FlagSpec = {
  yes: { type: "boolean", short: "y", help: "Do not ask for confirmation." },
  "workers-only": { type: "boolean", help: "Only terminate the worker nodes." },
  "keep-min-workers": { type: "boolean", help: "Keep min_workers workers of each node type." },
  ...NAME, ...HELP,
};

export async function downCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse("down", argv, DOWN_FLAGS);
  if (v.help) { process.stdout.write(help("down CONFIG [-y] [--workers-only] [--keep-min-workers] [-n NAME]", "Tear down a cluster.", DOWN_FLAGS)); return 0; }
  return withCluster("down", positionals[0], { clusterName: v["cluster-name"] as string | undefined, noBootstrap: true }, async (c) => {
    const { down } = await import("../../launcher/cluster.ts");
    await down(c, { yes: v.yes === true, workersOnly: v["workers-only"] === true, keepMinWorkers: v["keep-min-workers"] === true });
    return 0;
  });
}

const EXEC_FLAGS: FlagSpec = { ...START_STOP, ...SESSION, ...PORT_FORWARD,
  "all-nodes": { type: "boolean", help: "Run on every node (head and workers), not just the head." },
  ...NAME, ...HELP };

export async function execCommand(argv: string[]): Promise<number> {
  const { values: v, positionals, lists } = parse("exec", argv, EXEC_FLAGS);
  if (v.help) { process.stdout.write(help("exec CONFIG 'CMD' [--start] [--stop] [--tmux | --screen] [-p PORT] [-n NAME] [--all-nodes]", "Run a shell command on the cluster's head.", EXEC_FLAGS)); return 0; }
  const [file, cmd, ...extra] = positionals;
  if (!cmd) throw new UsageError("stingray exec: give the command to run, quoted: stingray exec cluster.yaml 'echo hello'");
  if (extra.length) throw new UsageError(`stingray exec: quote the command as one argument: stingray exec ${file} '${[cmd, ...extra].join(" ")}'`);
  if (v.tmux && v.screen) throw new UsageError("stingray exec: give --tmux or --screen, not both");
  return withCluster("exec", file, { clusterName: v["cluster-name"] as string | undefined }, async (c) => {
    const { exec } = await import("../../launcher/cluster.ts");
    return exec(c, cmd, { start: v.start === true, stop: v.stop === true, tmux: v.tmux === true, screen: v.screen === true,
      portForward: ports("exec", lists["port-forward"]), allNodes: v["all-nodes"] === true });
  });
}

const SUBMIT_FLAGS: FlagSpec = { ...START_STOP, ...SESSION, ...PORT_FORWARD, ...NAME, ...HELP };

export async function submitCommand(argv: string[]): Promise<number> {
  // Everything after the script belongs to the script.
  const scriptAt = argv.findIndex((a, i) => i > 0 && !a.startsWith("-") && /\.(m?[jt]s|cjs|sh)$/.test(a));
  const own = scriptAt > 0 ? argv.slice(0, scriptAt + 1) : argv;
  const scriptArgs = scriptAt > 0 ? argv.slice(scriptAt + 1) : [];
  const { values: v, positionals, lists } = parse("submit", own, SUBMIT_FLAGS);
  if (v.help) { process.stdout.write(help("submit CONFIG SCRIPT [ARGS...] [--start] [--stop] [--tmux | --screen] [-p PORT] [-n NAME]", "Copy a script to the head and run it there (node for .ts/.js).", SUBMIT_FLAGS)); return 0; }
  const [file, script, ...rest] = positionals;
  if (!script) throw new UsageError("stingray submit: give the script to run: stingray submit cluster.yaml script.ts [args]");
  return withCluster("submit", file, { clusterName: v["cluster-name"] as string | undefined }, async (c) => {
    const { submit } = await import("../../launcher/cluster.ts");
    return submit(c, script, [...rest, ...scriptArgs], { start: v.start === true, stop: v.stop === true, tmux: v.tmux === true,
      screen: v.screen === true, portForward: ports("submit", lists["port-forward"]) });
  });
}

const ATTACH_FLAGS: FlagSpec = {
  start: { type: "boolean", help: "Start (or update) the cluster first if needed." },
  ...SESSION,
  new: { type: "boolean", short: "N", help: "With --tmux/--screen: always open a new session." },
  ...PORT_FORWARD, ...NAME, ...HELP,
};

export async function attachCommand(argv: string[]): Promise<number> {
  const { values: v, positionals, lists } = parse("attach", argv, ATTACH_FLAGS);
  if (v.help) { process.stdout.write(help("attach CONFIG [--start] [--tmux | --screen] [--new] [-p PORT] [-n NAME]", "Open a shell on the cluster's head.", ATTACH_FLAGS)); return 0; }
  if (v.tmux && v.screen) throw new UsageError("stingray attach: give --tmux or --screen, not both");
  return withCluster("attach", positionals[0], { clusterName: v["cluster-name"] as string | undefined }, async (c) => {
    const { attach } = await import("../../launcher/cluster.ts");
    return attach(c, { start: v.start === true, tmux: v.tmux === true, screen: v.screen === true, newSession: v.new === true,
      portForward: ports("attach", lists["port-forward"]) });
  });
}

const RSYNC_FLAGS: FlagSpec = { "all-nodes": { type: "boolean", short: "A", help: "Copy to/from every node, not just the head." }, ...NAME, ...HELP };

export function rsyncCommand(down: boolean): (argv: string[]) => Promise<number> {
  const name = down ? "rsync-down" : "rsync-up";
  return async (argv) => {
    const { values: v, positionals } = parse(name, argv, RSYNC_FLAGS);
    if (v.help) {
      process.stdout.write(help(`${name} CONFIG ${down ? "REMOTE_PATH LOCAL_PATH" : "LOCAL_PATH REMOTE_PATH"} [--all-nodes] [-n NAME]`,
        down ? "Copy files from the cluster's head to this machine." : "Copy files from this machine to the cluster's head.", RSYNC_FLAGS));
      return 0;
    }
    const [file, source, target] = positionals;
    if (!source || !target || positionals.length > 3) throw new UsageError(`stingray ${name}: give SOURCE and TARGET: stingray ${name} cluster.yaml ${down ? "/path/on/cluster /local/path" : "/local/path /path/on/cluster"}`);
    return withCluster(name, file, { clusterName: v["cluster-name"] as string | undefined, noBootstrap: true }, async (c) => {
      const { rsync } = await import("../../launcher/cluster.ts");
      await rsync(c, source, target, { down, allNodes: v["all-nodes"] === true });
      return 0;
    });
  };
}

const IP_FLAGS: FlagSpec = { ...NAME, ...HELP };

export async function getHeadIpCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse("get-head-ip", argv, IP_FLAGS);
  if (v.help) { process.stdout.write(help("get-head-ip CONFIG [-n NAME]", "Print the head node's IP.", IP_FLAGS)); return 0; }
  return withCluster("get-head-ip", positionals[0], { clusterName: v["cluster-name"] as string | undefined, noBootstrap: true }, async (c) => {
    const { getHeadIp } = await import("../../launcher/cluster.ts");
    process.stdout.write(`${await getHeadIp(c)}\n`);
    return 0;
  });
}

export async function getWorkerIpsCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse("get-worker-ips", argv, IP_FLAGS);
  if (v.help) { process.stdout.write(help("get-worker-ips CONFIG [-n NAME]", "Print the worker nodes' IPs, one per line.", IP_FLAGS)); return 0; }
  return withCluster("get-worker-ips", positionals[0], { clusterName: v["cluster-name"] as string | undefined, noBootstrap: true }, async (c) => {
    const { getWorkerIps } = await import("../../launcher/cluster.ts");
    for (const ip of await getWorkerIps(c)) process.stdout.write(`${ip}\n`);
    return 0;
  });
}

const MONITOR_FLAGS: FlagSpec = { lines: { type: "string", help: "Lines of history to show first (default 100)." }, ...NAME, ...HELP };

export async function monitorCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse("monitor", argv, MONITOR_FLAGS);
  if (v.help) { process.stdout.write(help("monitor CONFIG [--lines N] [-n NAME]", "Follow the autoscaler's log (monitor.log) on the head.", MONITOR_FLAGS)); return 0; }
  return withCluster("monitor", positionals[0], { clusterName: v["cluster-name"] as string | undefined, noBootstrap: true }, async (c) => {
    const { monitor } = await import("../../launcher/cluster.ts");
    return monitor(c, num("monitor", "lines", v.lines) ?? 100);
  });
}

/** `stingray dashboard CONFIG.yaml [-p LOCAL] [--remote-port 8265]` (called by dashboard.ts). */
export async function dashboardForCluster(file: string, localPort: number, remotePort: number, clusterName?: string): Promise<number> {
  return withCluster("dashboard", file, { clusterName, noBootstrap: true }, async (c) => {
    const { dashboard } = await import("../../launcher/cluster.ts");
    return dashboard(c, localPort, remotePort);
  });
}
