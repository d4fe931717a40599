/**
 * @module cli/commands/metrics
 * `stingray metrics launch-prometheus | shutdown-prometheus` (Ray's `ray metrics ...`): run a
 * locally installed Prometheus with the configuration the head wrote into its session, keeping
 * its data under the session's metrics/prometheus/data, and stop it again.
 */
import fs from "node:fs";
import path from "node:path";
import { spawn, execFileSync } from "node:child_process";
import { parse, help, num, UsageError, type FlagSpec } from "../args.ts";
import { defaultTempDir, readClusterFile } from "../../node/session.ts";
import { prometheusConfigPath } from "../../metrics/config_files.ts";

const FLAGS: FlagSpec = {
  "temp-dir": { type: "string", help: "Session root of the cluster on this host (default /tmp/stingray)." },
  prometheus: { type: "string", help: "The prometheus binary (default: `prometheus` on PATH)." },
  host: { type: "string", help: "Address Prometheus listens on (default 127.0.0.1)." },
  port: { type: "string", help: "Port Prometheus listens on (default 9090)." },
  help: { type: "boolean", short: "h", help: "Show this help." },
};

const INSTALL_HINT = "install it (Debian/Ubuntu: `apt-get install prometheus`; elsewhere download it from " +
  "https://prometheus.io/download/) or pass --prometheus=/path/to/prometheus";

function pidFile(sessionDir: string): string { return path.join(sessionDir, "metrics", "prometheus", "prometheus.pid"); }

function findPrometheus(given: string | undefined): string {
  if (given) {
    if (!fs.existsSync(given)) throw new UsageError(`stingray metrics: ${given} does not exist; ${INSTALL_HINT}`);
    return given;
  }
  try {
    return execFileSync("sh", ["-c", "command -v prometheus"], { encoding: "utf8" }).trim();
  } catch {
    throw new UsageError(`stingray metrics: prometheus was not found on PATH; ${INSTALL_HINT}`);
  }
}

function isPrometheus(pid: number): boolean {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("prometheus"); } catch { return false; }
}

async function launch(v: Record<string, string | boolean | undefined>): Promise<number> {
  const tempDir = (v["temp-dir"] as string | undefined) ?? defaultTempDir();
  const { sessionDir } = readClusterFile(tempDir);
  const config = prometheusConfigPath(sessionDir);
  if (!fs.existsSync(config)) throw new UsageError(`stingray metrics: ${config} does not exist; is this host the cluster's head?`);
  const pf = pidFile(sessionDir);
  if (fs.existsSync(pf)) {
    const old = Number(fs.readFileSync(pf, "utf8"));
    if (isPrometheus(old)) throw new UsageError(`stingray metrics: Prometheus is already running (pid ${old}); stop it with \`stingray metrics shutdown-prometheus\``);
  }
  const bin = findPrometheus(v.prometheus as string | undefined);
  const host = (v.host as string | undefined) ?? "127.0.0.1";
  const port = num("metrics", "port", v.port) ?? 9090;
  const data = path.join(sessionDir, "metrics", "prometheus", "data");
  fs.mkdirSync(path.join(sessionDir, "logs"), { recursive: true });
  const log = path.join(sessionDir, "logs", "prometheus.log");
  const out = fs.openSync(log, "a");
  const child = spawn(bin, [`--config.file=${config}`, `--storage.tsdb.path=${data}`, `--web.listen-address=${host}:${port}`],
    { detached: true, stdio: ["ignore", out, out] });
  fs.closeSync(out);
  child.unref();
  fs.writeFileSync(pf, String(child.pid));
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${url}/-/ready`)).ok) {
        process.stdout.write(`Prometheus is running at ${url} (pid ${child.pid}), scraping the cluster as ${config} says.\n` +
          `Its log: ${log}. Stop it with \`stingray metrics shutdown-prometheus\`.\n`);
        return 0;
      }
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  try { process.kill(child.pid!, "SIGKILL"); } catch { /* gone */ }
  fs.rmSync(pf, { force: true });
  let tail = "";
  try { tail = fs.readFileSync(log, "utf8").split("\n").slice(-8).join("\n"); } catch { /* no log */ }
  process.stderr.write(`stingray metrics: Prometheus did not become ready at ${url} (is port ${port} taken? pick another with --port).\n${tail}\n`);
  return 1;
}

async function shutdown(v: Record<string, string | boolean | undefined>): Promise<number> {
  const tempDir = (v["temp-dir"] as string | undefined) ?? defaultTempDir();
  const { sessionDir } = readClusterFile(tempDir);
  const pf = pidFile(sessionDir);
  const pid = fs.existsSync(pf) ? Number(fs.readFileSync(pf, "utf8")) : NaN;
  if (!Number.isInteger(pid) || !isPrometheus(pid)) {
    fs.rmSync(pf, { force: true });
    process.stdout.write("No Prometheus started by `stingray metrics launch-prometheus` is running.\n");
    return 0;
  }
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 100 && isPrometheus(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isPrometheus(pid)) process.kill(pid, "SIGKILL");
  fs.rmSync(pf, { force: true });
  process.stdout.write(`Stopped Prometheus (pid ${pid}).\n`);
  return 0;
}

export async function metricsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values: v } = parse("metrics", rest, FLAGS);
  if (!sub || sub === "--help" || sub === "-h" || v.help) {
    process.stdout.write(help("metrics launch-prometheus | shutdown-prometheus [flags]",
      "Run a locally installed Prometheus with this cluster's generated configuration, or stop it.", FLAGS));
    return sub ? 0 : 1;
  }
  if (sub === "launch-prometheus") return launch(v);
  if (sub === "shutdown-prometheus") return shutdown(v);
  throw new UsageError(`stingray metrics: unknown subcommand "${sub}"; use launch-prometheus or shutdown-prometheus`);
}
