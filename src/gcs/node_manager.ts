/**
 * @module gcs/node_manager
 * The node table: registration, resource reports, health checks, death. A node is declared dead
 * when its raylet connection closes or it misses `health_check_failure_threshold` pings in a row;
 * listeners (the actor manager, subscribers) learn of it at once.
 */
import type { Connection } from "../protocol/connection.ts";
import type { NodeInfo, Resources } from "../protocol/messages.ts";
import type { GcsStorage } from "./storage.ts";
import type { PubSub } from "./pubsub.ts";
import { config } from "../common/config.ts";
import { fits } from "../common/resources.ts";
import { matchesLabels } from "../common/labels.ts";
import type { Logger } from "../common/log.ts";

export interface NodeEntry {
  info: NodeInfo;
  conn: Connection | undefined;
  missed: number;
  pending: Resources[];
  infeasible: Resources[];
}

export class NodeManager {
  readonly nodes = new Map<string, NodeEntry>();
  private timer: NodeJS.Timeout | undefined;
  onNodeDead: Array<(nodeId: string) => void> = [];
  private storage: GcsStorage;
  private pubsub: PubSub;
  private log: Logger;

  constructor(storage: GcsStorage, pubsub: PubSub, log: Logger) {
    this.storage = storage;
    this.pubsub = pubsub;
    this.log = log;
  }

  register(info: NodeInfo, conn: Connection): void {
    const entry: NodeEntry = { info: { ...info, state: "ALIVE" }, conn, missed: 0, pending: [], infeasible: [] };
    this.nodes.set(info.nodeId, entry);
    this.storage.put("nodes", info.nodeId, entry.info);
    this.log.info(`node ${info.nodeId} registered: ${info.ip}:${info.port} ${JSON.stringify(info.resources)}`);
    conn.once("close", () => this.markDead(info.nodeId, "its raylet disconnected (process exited or host unreachable)"));
    this.pubsub.publish("node", info.nodeId, entry.info);
  }

  report(nodeId: string, available: Resources, total: Resources, pending: Resources[], infeasible: Resources[]): void {
    const e = this.nodes.get(nodeId);
    if (!e || e.info.state !== "ALIVE") return;
    e.info.available = available;
    e.info.resources = total;
    e.pending = pending;
    e.infeasible = infeasible;
  }

  markDead(nodeId: string, reason: string): void {
    const e = this.nodes.get(nodeId);
    if (!e || e.info.state === "DEAD") return;
    e.info.state = "DEAD";
    e.info.deathReason = reason;
    e.info.available = {};
    e.conn?.close();
    e.conn = undefined;
    this.storage.put("nodes", nodeId, e.info);
    this.log.warn(`node ${nodeId} (${e.info.ip}) marked dead: ${reason}`);
    this.pubsub.publish("node", nodeId, e.info);
    for (const f of this.onNodeDead) f(nodeId);
  }

  alive(): NodeEntry[] {
    return [...this.nodes.values()].filter((n) => n.info.state === "ALIVE");
  }

  /** Pick a node for `request`: prefer `preferred`, then the node with the most free CPU that fits now, else any that could ever fit. */
  pick(request: Resources, preferred?: string, soft = true, selector?: Record<string, string>): NodeEntry | undefined {
    const alive = this.alive().filter((n) => matchesLabels(n.info.labels, selector));
    if (preferred) {
      const p = alive.find((n) => n.info.nodeId === preferred);
      if (p && fits(request, p.info.resources)) return p;
      if (!soft) return undefined;
    }
    const now = alive.filter((n) => fits(request, n.info.available))
      .sort((a, b) => (b.info.available.CPU ?? 0) - (a.info.available.CPU ?? 0));
    return now[0] ?? alive.find((n) => fits(request, n.info.resources));
  }

  startHealthChecks(): void {
    const period = config("health_check_period_ms");
    const threshold = config("health_check_failure_threshold");
    this.timer = setInterval(() => {
      for (const e of this.alive()) {
        const c = e.conn;
        if (!c) continue;
        const t = setTimeout(() => {
          e.missed++;
          if (e.missed >= threshold) this.markDead(e.info.nodeId, `missed ${e.missed} health checks`);
        }, period);
        c.request("raylet.Ping", {}).then(() => { clearTimeout(t); e.missed = 0; }, () => clearTimeout(t));
      }
    }, period);
    this.timer.unref();
  }

  stop(): void { if (this.timer) clearInterval(this.timer); }
}
