/**
 * @module dashboard/cluster
 * What the dashboard reads from the cluster, behind one narrow interface (`ClusterSource`) so the
 * HTTP layer can be tested against a fake: the GCS tables (nodes, actors, jobs, tasks, KV) and
 * per-node raylet calls (stats, workers, objects, log files). The real source keeps one
 * authenticated connection to the GCS and one per raylet, opened on first use.
 */
import { connect, type Connection } from "../protocol/connection.ts";
import type { ActorInfo, JobInfo, NodeInfo, Req, Res } from "../protocol/messages.ts";
import { ConnectionError } from "../common/errors.ts";

type RayletMethod = "raylet.GetStats" | "raylet.GetNodeStats" | "raylet.ListWorkers" | "raylet.ListObjects" |
  "raylet.ListLogs" | "raylet.ReadLog";

export interface ClusterSource {
  nodes(): Promise<NodeInfo[]>;
  actors(): Promise<ActorInfo[]>;
  jobs(): Promise<JobInfo[]>;
  tasks(q: { jobId?: string | undefined; taskId?: string | undefined; limit: number }):
    Promise<Res<"gcs.GetTaskEvents">>;
  clusterStatus(): Promise<Res<"gcs.GetClusterStatus">>;
  kvGet(ns: string, key: string): Promise<Uint8Array | undefined>;
  kvPut(ns: string, key: string, value: Uint8Array, overwrite: boolean): Promise<boolean>;
  kvDel(ns: string, key: string): Promise<boolean>;
  kvExists(ns: string, key: string): Promise<boolean>;
  kvKeys(ns: string, prefix: string): Promise<string[]>;
  /** Call a node's raylet (rejects with ConnectionError when the node is dead or unreachable). */
  node<M extends RayletMethod>(nodeId: string, method: M, payload: Req<M>): Promise<Res<M>>;
  close(): void;
}

export class GcsClusterSource implements ClusterSource {
  private gcs: Connection;
  private token: string;
  private raylets = new Map<string, Promise<Connection>>();

  constructor(gcs: Connection, token: string) {
    this.gcs = gcs;
    this.token = token;
  }

  static async connect(o: { gcsHost: string; gcsPort: number; token: string; retryMs: number }): Promise<GcsClusterSource> {
    const gcs = await connect({ host: o.gcsHost, port: o.gcsPort, token: o.token, role: "dashboard", id: "dashboard", retryMs: o.retryMs });
    return new GcsClusterSource(gcs, o.token);
  }

  get connection(): Connection { return this.gcs; }

  async nodes(): Promise<NodeInfo[]> { return (await this.gcs.request("gcs.GetAllNodes", {})).nodes; }
  async actors(): Promise<ActorInfo[]> { return (await this.gcs.request("gcs.ListActors", {})).actors; }
  async jobs(): Promise<JobInfo[]> { return (await this.gcs.request("gcs.GetAllJobs", {})).jobs; }
  tasks(q: { jobId?: string | undefined; taskId?: string | undefined; limit: number }): Promise<Res<"gcs.GetTaskEvents">> {
    return this.gcs.request("gcs.GetTaskEvents", q);
  }
  clusterStatus(): Promise<Res<"gcs.GetClusterStatus">> { return this.gcs.request("gcs.GetClusterStatus", {}); }
  async kvGet(ns: string, key: string): Promise<Uint8Array | undefined> { return (await this.gcs.request("gcs.KvGet", { ns, key })).value; }
  async kvPut(ns: string, key: string, value: Uint8Array, overwrite: boolean): Promise<boolean> {
    return (await this.gcs.request("gcs.KvPut", { ns, key, value, overwrite })).added;
  }
  async kvDel(ns: string, key: string): Promise<boolean> { return (await this.gcs.request("gcs.KvDel", { ns, key })).deleted; }
  async kvExists(ns: string, key: string): Promise<boolean> { return (await this.gcs.request("gcs.KvExists", { ns, key })).exists; }
  async kvKeys(ns: string, prefix: string): Promise<string[]> { return (await this.gcs.request("gcs.KvKeys", { ns, prefix })).keys; }

  async node<M extends RayletMethod>(nodeId: string, method: M, payload: Req<M>): Promise<Res<M>> {
    const conn = await this.rayletConn(nodeId);
    return conn.request(method, payload);
  }

  private rayletConn(nodeId: string): Promise<Connection> {
    let p = this.raylets.get(nodeId);
    if (!p) {
      p = (async () => {
        const n = (await this.nodes()).find((x) => x.nodeId === nodeId);
        if (!n) throw new ConnectionError(`no node ${nodeId} in the cluster`);
        if (n.state !== "ALIVE") throw new ConnectionError(`node ${nodeId} (${n.ip}) is dead`);
        return connect({ host: n.ip, port: n.port, token: this.token, role: "dashboard", id: "dashboard" });
      })();
      this.raylets.set(nodeId, p);
      p.then((c) => c.once("close", () => this.raylets.delete(nodeId)), () => this.raylets.delete(nodeId));
    }
    return p;
  }

  close(): void {
    for (const p of this.raylets.values()) p.then((c) => c.close(), () => {});
    this.gcs.close();
  }
}
