/**
 * @module cli/commands/stop
 * `stingray stop`: stop every Stingray process on this host (GCS, raylets, workers) — SIGTERM,
 * then SIGKILL after the grace period (or at once with --force) — and say how many stopped.
 * Processes are found by their command line, as `ray stop` does.
 */
import fs from "node:fs";
import { parse, num, help, type FlagSpec } from "../args.ts";

const FLAGS: FlagSpec = {
  force: { type: "boolean", short: "f", help: "Kill with SIGKILL at once." },
  "grace-period": { type: "string", help: "Seconds to wait after SIGTERM before SIGKILL (default 16)." },
  help: { type: "boolean", short: "h", help: "Show this help." },
};

const PATTERNS = [/\/src\/gcs\/main\.ts\b/, /\/src\/raylet\/main\.ts\b/, /\/src\/worker\/main\.ts\b/,
  /\/src\/client\/(server|proxy)_main\.ts\b/, /\/src\/dashboard\/main\.ts\b/, /\/src\/autoscaler\/main\.ts\b/];
const KINDS = ["gcs_server", "raylet", "worker", "client_server", "dashboard", "monitor"];

function netns(pid: number | "self"): string | undefined {
  try { return fs.readlinkSync(`/proc/${pid}/ns/net`); } catch { return undefined; }
}

/**
 * Stingray processes of this host. "This host" is this network namespace: on a real machine
 * that is every process; on test hosts that share one kernel it keeps `stop` on one host from
 * touching another's processes.
 */
export function stingrayProcesses(): Array<{ pid: number; kind: string }> {
  const out: Array<{ pid: number; kind: string }> = [];
  const mine = netns("self");
  for (const d of fs.readdirSync("/proc")) {
    const pid = Number(d);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (mine && netns(pid) !== mine) continue;
    let cmd: string;
    try { cmd = fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" "); } catch { continue; }
    const i = PATTERNS.findIndex((p) => p.test(cmd));
    if (i >= 0) out.push({ pid, kind: KINDS[i]! });
  }
  return out;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

export async function stopCommand(argv: string[]): Promise<number> {
  const { values: v } = parse("stop", argv, FLAGS);
  if (v.help) { process.stdout.write(help("stop [--force] [--grace-period S]", "Stop all Stingray processes on this host.", FLAGS)); return 0; }
  const grace = (num("stop", "grace-period", v["grace-period"]) ?? 16) * 1000;
  const procs = stingrayProcesses();
  if (procs.length === 0) { process.stdout.write("Did not find any active Stingray processes.\n"); return 0; }
  const sig = v.force ? "SIGKILL" : "SIGTERM";
  for (const p of procs) { try { process.kill(p.pid, sig); } catch { /* already gone */ } }
  const deadline = Date.now() + grace;
  while (procs.some((p) => alive(p.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const left = procs.filter((p) => alive(p.pid));
  for (const p of left) { try { process.kill(p.pid, "SIGKILL"); } catch { /* gone */ } }
  const byKind = (k: string): number => procs.filter((p) => p.kind === k).length;
  process.stdout.write(`Stopped all ${procs.length} Stingray processes (gcs_server: ${byKind("gcs_server")}, ` +
    `raylet: ${byKind("raylet")}, workers: ${byKind("worker")}` +
    (byKind("client_server") ? `, client server and proxies: ${byKind("client_server")}` : "") +
    (byKind("dashboard") ? `, dashboard: ${byKind("dashboard")}` : "") +
    (byKind("monitor") ? `, autoscaler: ${byKind("monitor")}` : "") + ")" +
    (left.length ? `; ${left.length} did not exit within the grace period and were killed.\n` : ".\n"));
  return 0;
}
