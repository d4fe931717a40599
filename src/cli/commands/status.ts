/**
 * @module cli/commands/status
 * `stingray status`: nodes, resource usage and pending or infeasible demands, laid out like
 * `ray status`. `stingray get-auth-token` prints the local cluster's token.
 */
import { parse, help, UsageError, type FlagSpec } from "../args.ts";
import { connect } from "../../protocol/connection.ts";
import { readClusterFile, defaultTempDir } from "../../node/session.ts";
import type { NodeInfo } from "../../protocol/messages.ts";
import { add } from "../../common/resources.ts";
import { AUTOSCALER_NS } from "../../common/kv_namespaces.ts";
import type { AutoscalerStatus } from "../../autoscaler/autoscaler.ts";

const FLAGS: FlagSpec = {
  address: { type: "string", help: "GCS address HOST:PORT (default: the cluster on this host)." },
  "temp-dir": { type: "string", help: "Session root (default /tmp/stingray)." },
  help: { type: "boolean", short: "h", help: "Show this help." },
};

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(2)}${units[i]}`;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values: v } = parse("status", argv, FLAGS);
  if (v.help) { process.stdout.write(help("status [--address HOST:PORT]", "Show the cluster's nodes and resources.", FLAGS)); return 0; }
  let host: string, port: number, token: string | undefined = process.env.STINGRAY_AUTH_TOKEN;
  const address = (v.address as string | undefined) ?? process.env.STINGRAY_ADDRESS;
  if (address) {
    const m = /^([^:]+):(\d+)$/.exec(address);
    if (!m) throw new UsageError(`stingray status: --address must be HOST:PORT, got "${address}"`);
    host = m[1]!; port = Number(m[2]);
    if (!token) { try { const c = readClusterFile((v["temp-dir"] as string | undefined) ?? defaultTempDir()); if (c.gcsPort === port) token = c.token; } catch { /* none */ } }
    if (!token) throw new UsageError("stingray status: set STINGRAY_AUTH_TOKEN to the cluster's token (`stingray get-auth-token` on the head)");
  } else {
    const c = readClusterFile((v["temp-dir"] as string | undefined) ?? defaultTempDir());
    host = c.gcsHost; port = c.gcsPort; token ??= c.token;
  }
  const gcs = await connect({ host, port, token, role: "cli", id: "status" });
  try {
    const { nodes, demands } = await gcs.request("gcs.GetClusterStatus", {});
    const { value } = await gcs.request("gcs.KvGet", { ns: AUTOSCALER_NS, key: "status" });
    let autoscaler: AutoscalerStatus | undefined;
    if (value) { try { autoscaler = JSON.parse(Buffer.from(value).toString("utf8")) as AutoscalerStatus; } catch { /* ignore a bad record */ } }
    process.stdout.write(await renderStatus(nodes, demands, autoscaler));
  } finally {
    gcs.close();
  }
  return 0;
}

/**
 * `ray status`'s layout. With an autoscaler on the head, its last status gives the node and
 * demand sections (node types, pending launches, failures); otherwise they come from the GCS.
 */
export async function renderStatus(nodes: NodeInfo[], demands: Array<{ shape: Record<string, number>; count: number; infeasible: boolean }>,
  autoscaler?: AutoscalerStatus): Promise<string> {
  const line = "-".repeat(63);
  const alive = nodes.filter((n) => n.state === "ALIVE");
  const dead = nodes.filter((n) => n.state === "DEAD");
  const total: Record<string, number> = {};
  const avail: Record<string, number> = {};
  for (const n of alive) { add(total, n.resources); add(avail, n.available); }
  const usage = Object.keys(total).sort((a, b) => (a === "CPU" ? -1 : b === "CPU" ? 1 : a.localeCompare(b))).map((k) => {
    const used = (total[k] ?? 0) - (avail[k] ?? 0);
    const isBytes = k === "memory" || k === "object_store_memory";
    return isBytes ? ` ${bytes(used)}/${bytes(total[k]!)} ${k}` : ` ${used.toFixed(1)}/${total[k]!.toFixed(1)} ${k}`;
  });
  const d = demands.length
    ? demands.map((x) => ` ${JSON.stringify(x.shape)}: ${x.count}+ ${x.infeasible ? "infeasible " : ""}pending tasks/actors` +
      (x.infeasible ? " (no node can ever run these: lower the request or add a node that has the resources)" : ""))
    : [" (no resource demands)"];
  if (autoscaler) {
    const { formatStatusLines, formatDemandLines } = await import("../../autoscaler/autoscaler.ts");
    return `======== Autoscaler status: ${new Date(autoscaler.time).toISOString().replace("T", " ").slice(0, 19)} ========\n` +
      `${formatStatusLines(autoscaler).join("\n")}\n\nResources\n${line}\nUsage:\n${usage.join("\n")}\n\n${formatDemandLines(autoscaler).join("\n")}\n`;
  }
  return `======== Cluster status: ${new Date().toISOString().replace("T", " ").slice(0, 19)} ========\n` +
    `Node status\n${line}\nActive:\n` +
    (alive.map((n) => ` 1 node_${n.nodeId} (${n.ip}${n.isHead ? ", head" : ""})`).join("\n") || " (no active nodes)") +
    `\nPending:\n (no pending nodes)\nRecent failures:\n` +
    (dead.map((n) => ` node_${n.nodeId} (${n.ip}): ${n.deathReason ?? "dead"}`).join("\n") || " (no failures)") +
    `\n\nResources\n${line}\nUsage:\n${usage.join("\n")}\n\nDemands:\n${d.join("\n")}\n`;
}

export function getAuthTokenCommand(argv: string[]): number {
  const { values: v } = parse("get-auth-token", argv, { "temp-dir": FLAGS["temp-dir"]!, help: FLAGS.help! });
  const c = readClusterFile((v["temp-dir"] as string | undefined) ?? defaultTempDir());
  process.stdout.write(c.token + "\n");
  return 0;
}
