/**
 * @module cli/commands/dashboard
 * How the dashboard commands (`job`, `list`, `get`, `summary`, `logs`, `timeline`, `memory`) reach
 * the dashboard: their shared flags and `connectDashboard`. And `stingray dashboard HOST`: forward
 * a remote head's dashboard to this machine over SSH, as `ray dashboard` does.
 */
import { spawn } from "node:child_process";
import { parse, help, json, num, UsageError, type FlagSpec } from "../args.ts";
import { DashboardClient } from "../../dashboard/client.ts";

/** Flags every dashboard command takes. */
export const CONNECT_FLAGS: FlagSpec = {
  address: { type: "string", help: "Dashboard URL, http://HEAD_IP:8265 (default: STINGRAY_ADDRESS, else the cluster on this host)." },
  headers: { type: "string", help: "Extra HTTP headers as JSON, e.g. '{\"X-Proxy-Auth\": \"…\"}'." },
  verify: { type: "boolean", help: "Check the dashboard's TLS certificate (default true; --no-verify to skip)." },
  "temp-dir": { type: "string", help: "Session root of the cluster on this host (default /tmp/stingray)." },
};

export const HELP_FLAG: FlagSpec = { help: { type: "boolean", short: "h", help: "Show this help." } };

/** A client for the dashboard the flags name; notes about the address go to stderr. */
export function connectDashboard(command: string, v: Record<string, string | boolean | undefined>, o: { quiet?: boolean } = {}): DashboardClient {
  const headers = json(command, "headers", v.headers);
  if (headers && Object.values(headers).some((x) => typeof x !== "string")) {
    throw new UsageError(`stingray ${command}: --headers values must be strings, e.g. '{"X-Token": "abc"}'`);
  }
  if (v.verify === false) process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
  const { client, resolved } = DashboardClient.resolve({
    address: v.address as string | undefined, tempDir: v["temp-dir"] as string | undefined,
    headers: headers as Record<string, string> | undefined,
  });
  if (!o.quiet) for (const n of resolved.notes) process.stderr.write(`Note: ${n}\n`);
  return client;
}

// ---------------------------------------------------------------------------------------------
// stingray dashboard HOST
// ---------------------------------------------------------------------------------------------

const FLAGS: FlagSpec = {
  port: { type: "string", short: "p", help: "Local port to open (default 8265)." },
  "remote-port": { type: "string", help: "The dashboard's port on the head (default 8265)." },
  "ssh-user": { type: "string", help: "SSH user (default: your ssh config's)." },
  "ssh-key": { type: "string", help: "SSH private key file." },
  "ssh-port": { type: "string", help: "SSH port on the head (default 22)." },
  "ssh-option": { type: "string", short: "o", multiple: true, help: "An ssh -o option, KEY=VALUE (repeatable), e.g. -o StrictHostKeyChecking=accept-new." },
  ...HELP_FLAG,
};

/** The ssh command line that forwards LOCAL on this machine to the head's 127.0.0.1:REMOTE. */
export function sshForwardArgs(o: { host: string; localPort: number; remotePort: number; user?: string | undefined; key?: string | undefined;
  sshPort?: number | undefined; options?: string[] | undefined }): string[] {
  const args = ["-N", "-o", "ExitOnForwardFailure=yes", "-o", "ServerAliveInterval=30", "-L", `127.0.0.1:${o.localPort}:127.0.0.1:${o.remotePort}`];
  for (const opt of o.options ?? []) {
    if (!/^[A-Za-z]+=./.test(opt)) throw new UsageError(`stingray dashboard: --ssh-option must be KEY=VALUE (an ssh -o option), got ${JSON.stringify(opt)}`);
    args.push("-o", opt);
  }
  if (o.key) args.push("-i", o.key);
  if (o.sshPort !== undefined) args.push("-p", String(o.sshPort));
  args.push(o.user ? `${o.user}@${o.host}` : o.host);
  return args;
}

function port(flag: string, v: string | boolean | undefined, fallback: number): number {
  const n = num("dashboard", flag, v) ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`stingray dashboard: --${flag} must be a port number (1-65535), got ${String(v)}`);
  return n;
}

export async function dashboardCommand(argv: string[]): Promise<number> {
  const { values: v, positionals, lists } = parse("dashboard", argv, FLAGS);
  if (v.help) {
    process.stdout.write(help("dashboard HEAD_HOST|CLUSTER.yaml [-p LOCAL_PORT] [--remote-port 8265] [--ssh-user USER] [--ssh-key FILE]",
      "Open a remote head's dashboard on this machine: forwards http://127.0.0.1:LOCAL_PORT to the head's dashboard over SSH\n" +
      "(the dashboard stays bound to 127.0.0.1 on the head). Runs until Ctrl-C.", FLAGS));
    return 0;
  }
  const host = positionals[0];
  if (!host || positionals.length > 1) throw new UsageError("stingray dashboard: give the head's host name or IP, e.g. `stingray dashboard head.example.org` (see --help)");
  const localPort = port("port", v.port, 8265);
  const remotePort = port("remote-port", v["remote-port"], 8265);
  if (/\.ya?ml$/i.test(host)) {
    // A cluster config: reach the head the way the cluster launcher does.
    const { dashboardForCluster } = await import("./cluster.ts");
    return dashboardForCluster(host, localPort, remotePort);
  }
  const sshPort = v["ssh-port"] === undefined ? undefined : port("ssh-port", v["ssh-port"], 22);
  const args = sshForwardArgs({ host, localPort, remotePort, user: v["ssh-user"] as string | undefined, key: v["ssh-key"] as string | undefined, sshPort,
    options: lists["ssh-option"] });
  process.stdout.write(`Forwarding the dashboard of ${host} over SSH: ssh ${args.join(" ")}\n` +
    `Dashboard: http://127.0.0.1:${localPort} (log in with the cluster's token: \`stingray get-auth-token\` on the head)\n` +
    `CLI: export STINGRAY_ADDRESS=http://127.0.0.1:${localPort}\n` +
    "Press Ctrl-C to stop forwarding.\n");
  const child = spawn("ssh", args, { stdio: ["ignore", "inherit", "inherit"] });
  const onSignal = (): void => { child.kill("SIGTERM"); };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on("error", (e: NodeJS.ErrnoException) => {
        reject(new UsageError(e.code === "ENOENT" ? "stingray dashboard: `ssh` was not found; install an OpenSSH client" : `stingray dashboard: ssh failed: ${e.message}`));
      });
      child.on("exit", (code, signal) => {
        if (signal || code === 0) { resolve(0); return; }
        process.stderr.write(`ssh exited with code ${code}: check that \`ssh ${args.at(-1)}\` works, and that local port ${localPort} is free (pick another with -p)\n`);
        resolve(1);
      });
    });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
