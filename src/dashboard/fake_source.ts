/**
 * @module dashboard/fake_source
 * An in-memory `ClusterSource`: the dashboard's fake at its daemon boundary. Unit tests drive the
 * HTTP routes with it, and the UI scale bench fills it with a cluster this machine could not run
 * for real (1,000 actors are 1,000 processes), e.g. `FakeClusterSource.synthetic({ actors: 1000, tasks: 100_000 })`.
 */
import type { ActorInfo, JobInfo, NodeInfo, Req, Res, TaskRecord } from "../protocol/messages.ts";
import type { ClusterSource } from "./cluster.ts";
import { ConnectionError } from "../common/errors.ts";

type RayletMethod = Parameters<ClusterSource["node"]>[1];

export class FakeClusterSource implements ClusterSource {
  nodeList: NodeInfo[] = [];
  actorList: ActorInfo[] = [];
  jobList: JobInfo[] = [];
  /** Oldest first, as the GCS keeps them. */
  taskList: TaskRecord[] = [];
  kv = new Map<string, Uint8Array>();
  /** Per node: files in its logs directory. */
  logs = new Map<string, Map<string, string>>();
  /** Nodes that do not answer (to test partial results). */
  silent = new Set<string>();

  async nodes(): Promise<NodeInfo[]> { return this.nodeList; }
  async actors(): Promise<ActorInfo[]> { return this.actorList; }
  async jobs(): Promise<JobInfo[]> { return this.jobList; }

  async tasks(q: { jobId?: string | undefined; taskId?: string | undefined; limit: number }): Promise<Res<"gcs.GetTaskEvents">> {
    const stateCounts: Record<string, number> = {};
    for (const t of this.taskList) stateCounts[t.state] = (stateCounts[t.state] ?? 0) + 1;
    const matching = this.taskList.filter((t) => (q.jobId === undefined || t.jobId === q.jobId) && (q.taskId === undefined || t.taskId === q.taskId));
    const tasks: TaskRecord[] = [];
    for (let i = matching.length - 1; i >= 0 && tasks.length < q.limit; i--) tasks.push(matching[i]!);
    const totals = new Map<string, { jobId: string; fn: string; kind: string; finished: number; failed: number }>();
    for (const t of matching) {
      if (t.state !== "FINISHED" && t.state !== "FAILED") continue;
      const k = `${t.jobId}/${t.kind}/${t.fn}`;
      let x = totals.get(k);
      if (!x) totals.set(k, (x = { jobId: t.jobId, fn: t.fn, kind: t.kind, finished: 0, failed: 0 }));
      if (t.state === "FINISHED") x.finished++; else x.failed++;
    }
    return { tasks, total: matching.length, dropped: 0, stateCounts, totals: [...totals.values()] };
  }

  async clusterStatus(): Promise<Res<"gcs.GetClusterStatus">> { return { nodes: this.nodeList, demands: [] }; }

  private k(ns: string, key: string): string { return `${ns}\u0000${key}`; }
  async kvGet(ns: string, key: string): Promise<Uint8Array | undefined> { return this.kv.get(this.k(ns, key)); }
  async kvPut(ns: string, key: string, value: Uint8Array, overwrite: boolean): Promise<boolean> {
    if (!overwrite && this.kv.has(this.k(ns, key))) return false;
    this.kv.set(this.k(ns, key), value);
    return true;
  }
  async kvDel(ns: string, key: string): Promise<boolean> { return this.kv.delete(this.k(ns, key)); }
  async kvExists(ns: string, key: string): Promise<boolean> { return this.kv.has(this.k(ns, key)); }
  async kvKeys(ns: string, prefix: string): Promise<string[]> {
    const p = this.k(ns, prefix);
    return [...this.kv.keys()].filter((k) => k.startsWith(p)).map((k) => k.slice(ns.length + 1));
  }

  async node<M extends RayletMethod>(nodeId: string, method: M, payload: Req<M>): Promise<Res<M>> {
    const n = this.nodeList.find((x) => x.nodeId === nodeId);
    if (!n || n.state !== "ALIVE") throw new ConnectionError(`node ${nodeId} is dead`);
    if (this.silent.has(nodeId)) return new Promise(() => {});
    const files = this.logs.get(nodeId) ?? new Map<string, string>();
    const r = ((): unknown => {
      switch (method) {
        case "raylet.GetNodeStats": return { cpuCount: 8, cpuUtilization: 0.25, loadAvg: [1, 1, 1], memTotal: 32 * 2 ** 30, memUsed: 8 * 2 ** 30, diskTotal: 1e12, diskUsed: 4e11 };
        case "raylet.GetStats": return { nodeId, workers: 4, idleWorkers: 1, leases: 3, pendingLeases: 0, objects: 2, storeUsed: 1 << 20,
          storeCapacity: 1 << 30, spilledBytes: 0, spilledObjects: 0, restoredObjects: 0, available: n.available, total: n.resources };
        case "raylet.ListWorkers": return { workers: [] };
        case "raylet.ListObjects": return { total: 0, objects: [] };
        case "raylet.ListLogs": return { files: [...files.entries()].map(([name, text]) => ({ name, size: text.length, mtime: 0 })) };
        case "raylet.ReadLog": {
          const p = payload as Req<"raylet.ReadLog">;
          const text = files.get(p.name);
          if (text === undefined) throw new Error(`no log file ${p.name} on this node`);
          const b = Buffer.from(text);
          const from = p.offset < 0 ? Math.max(0, b.length + p.offset) : Math.min(p.offset, b.length);
          const data = p.tailLines !== undefined ? b : b.subarray(from, from + p.length);
          return { data, offset: p.tailLines !== undefined ? 0 : from, size: b.length };
        }
        default: throw new Error(`fake source: ${method} not supported`);
      }
    })();
    return r as Res<M>;
  }

  close(): void {}

  /** A cluster of `nodes` nodes, `actors` actors and `tasks` finished/failed/running tasks. */
  static synthetic(o: { nodes?: number; actors?: number; tasks?: number; now?: number }): FakeClusterSource {
    const f = new FakeClusterSource();
    const now = o.now ?? Date.now();
    const nNodes = o.nodes ?? 4;
    for (let i = 0; i < nNodes; i++) {
      f.nodeList.push({
        nodeId: `node${String(i).padStart(4, "0")}`, ip: `10.0.${i >> 8}.${(i & 255) + 1}`, hostname: `host-${i}`, port: 1000 + i, state: "ALIVE",
        resources: { CPU: 8, memory: 32 * 2 ** 30, object_store_memory: 2 ** 30 }, available: { CPU: 2, memory: 24 * 2 ** 30, object_store_memory: 2 ** 29 },
        labels: {}, isHead: i === 0, startTime: now - 3_600_000, sessionDir: "/tmp/stingray/session", metricsPort: 9100 + i,
      });
    }
    f.jobList.push({ jobId: "00000001", namespace: "default", driverPid: 100, driverIp: "10.0.0.1", startTime: now - 600_000, state: "RUNNING", entrypoint: "node app.ts" });
    const classes = ["Counter", "ParameterServer", "Replica", "Worker"];
    for (let i = 0; i < (o.actors ?? 0); i++) {
      const node = f.nodeList[i % nNodes]!;
      f.actorList.push({
        actorId: `actor${String(i).padStart(7, "0")}`, jobId: "00000001", className: classes[i % classes.length]!, name: i % 10 === 0 ? `named-${i}` : undefined,
        namespace: "default", state: i % 50 === 49 ? "DEAD" : "ALIVE", address: { nodeId: node.nodeId, host: node.ip, port: 20000 + i, workerId: `w${i}` },
        numRestarts: 0, maxRestarts: 0, detached: false, pid: 10000 + i, ownerId: "driver",
        deathCause: i % 50 === 49 ? { code: "ACTOR_DIED", message: "the actor's worker was killed" } : undefined,
      });
    }
    const fns = ["preprocess", "train_step", "evaluate", "Counter.incr", "Replica.handle"];
    for (let i = 0; i < (o.tasks ?? 0); i++) {
      const node = f.nodeList[i % nNodes]!;
      const t0 = now - (o.tasks! - i) * 10;
      const state = i % 97 === 0 ? "FAILED" : i >= o.tasks! - 50 ? "RUNNING" : "FINISHED";
      const fn = fns[i % fns.length]!;
      f.taskList.push({
        taskId: `task${String(i).padStart(10, "0")}`, attempt: 0, jobId: "00000001", state, name: fn, kind: fn.includes(".") ? "actor_task" : "normal", fn,
        resources: { CPU: 1 }, nodeId: node.nodeId, workerId: `w${i % 64}`, pid: 10000 + (i % 64),
        errType: state === "FAILED" ? "TASK_EXECUTION_EXCEPTION" : undefined, errMsg: state === "FAILED" ? `${fn} failed: ValueError: bad batch ${i}` : undefined,
        errStack: state === "FAILED" ? `Error: bad batch ${i}\n    at ${fn} (file:///app/tasks.ts:12:11)` : undefined,
        created: t0, start: t0 + 2, end: state === "RUNNING" ? undefined : t0 + 7,
        events: [{ state: "PENDING_NODE_ASSIGNMENT", t: t0 }, { state: "RUNNING", t: t0 + 2 }, ...(state === "RUNNING" ? [] : [{ state, t: t0 + 7 }])],
      });
    }
    return f;
  }
}
