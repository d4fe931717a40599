/**
 * @module worker/actor_submitter
 * Submits actor method calls straight to the actor's worker, in submission order per caller (one
 * connection per caller and actor, calls written in order, executed in arrival order). The
 * submitter follows the actor's state from the GCS: calls queue while it is PENDING or
 * RESTARTING, flow when it is ALIVE, and fail with ActorDiedError when it is DEAD. Calls in flight
 * when the actor's worker dies are retried after a restart if `maxTaskRetries` allows; otherwise
 * they fail with ActorDiedError.
 */
import type { Connection } from "../protocol/connection.ts";
import type { ActorInfo, Address, Res, ReturnValue, TaskSpec } from "../protocol/messages.ts";
import { ActorDiedError, fromWire, toWire, type StingrayError } from "../common/errors.ts";
import { returnIdsOf, type TaskEntry } from "./task_submitter.ts";
import { encodePush, withIds } from "./task_wire.ts";

export interface ActorContext {
  gcs: Connection;
  connect(addr: Address): Promise<Connection>;
  complete(spec: TaskSpec, returns: ReturnValue[]): void;
}

interface ActorQueue {
  actorId: string;
  info: ActorInfo | undefined;
  conn: Connection | undefined;
  connAddr: string;
  pending: TaskEntry[];
  inflight: Map<string, TaskEntry>;
  lost: TaskEntry[];
  maxTaskRetries: number;
}

export class ActorSubmitter {
  private queues = new Map<string, ActorQueue>();
  private ctx: ActorContext;
  private seq = 0;

  constructor(ctx: ActorContext) { this.ctx = ctx; }

  /** Start following an actor (idempotent). */
  track(actorId: string, maxTaskRetries = 0, info?: ActorInfo): void {
    let q = this.queues.get(actorId);
    if (q) {
      if (info) this.update(info);
      return;
    }
    q = { actorId, info: undefined, conn: undefined, connAddr: "", pending: [], inflight: new Map(), lost: [], maxTaskRetries };
    this.queues.set(actorId, q);
    void (async () => {
      await this.ctx.gcs.request("gcs.Subscribe", { channel: "actor", key: actorId });
      const { actor } = await this.ctx.gcs.request("gcs.GetActor", { actorId });
      if (actor) this.update(actor);
    })().catch(() => {});
    if (info) this.update(info);
  }

  /** GCS published a new state for an actor. */
  update(info: ActorInfo): void {
    const q = this.queues.get(info.actorId);
    if (!q) return;
    const prev = q.info;
    if (prev && prev.numRestarts > info.numRestarts) return; // stale
    q.info = info;
    if (info.state === "DEAD") {
      const cause = info.deathCause ? fromWire(info.deathCause) : undefined;
      const err = cause instanceof ActorDiedError ? cause : new ActorDiedError(
        `actor ${info.className} (${info.actorId}) is dead${cause ? `: its constructor failed: ${cause.message}` : ""}`);
      const all = [...q.lost, ...q.inflight.values(), ...q.pending];
      q.lost = []; q.inflight.clear(); q.pending = [];
      q.conn = undefined;
      for (const e of all) this.fail(e, err);
      return;
    }
    if (info.state === "ALIVE" && info.address) {
      const addr = `${info.address.host}:${info.address.port}/${info.address.workerId}`;
      if (addr !== q.connAddr) {
        q.connAddr = addr;
        q.conn = undefined;
        this.requeueLost(q);
        void this.connect(q, info.address, addr);
      }
    } else if (info.state === "RESTARTING") {
      this.requeueLost(q);
    }
  }

  private requeueLost(q: ActorQueue): void {
    const lost = q.lost.concat([...q.inflight.values()]);
    q.lost = [];
    q.inflight.clear();
    const retry: TaskEntry[] = [];
    for (const e of lost) {
      const s = e.spec;
      if (q.maxTaskRetries === -1 || s.attempt < q.maxTaskRetries) {
        e.spec = { ...s, attempt: s.attempt + 1 };
        retry.push(e);
      } else {
        this.fail(e, new ActorDiedError(`actor ${q.info?.className ?? ""} (${q.actorId}) died while running ` +
          `${s.method ?? s.name}; it is restarting, but this call is not retried (set maxTaskRetries to retry calls)`));
      }
    }
    q.pending = retry.concat(q.pending);
  }

  private async connect(q: ActorQueue, address: Address, key: string): Promise<void> {
    let conn: Connection;
    try {
      conn = await this.ctx.connect(address);
    } catch {
      return; // the GCS will report the actor's death or new address
    }
    if (q.connAddr !== key) return;
    q.conn = conn;
    conn.once("close", () => {
      if (q.conn !== conn) return;
      q.conn = undefined;
      q.connAddr = "";
      q.lost.push(...q.inflight.values());
      q.inflight.clear();
    });
    this.flush(q);
  }

  submit(entry: TaskEntry): void {
    const q = this.queues.get(entry.spec.actorId!);
    if (!q) throw new Error(`actor ${entry.spec.actorId} is not tracked`);
    if (q.info?.state === "DEAD") {
      this.update(q.info);
      this.fail(entry, new ActorDiedError(`actor ${q.info.className} (${q.actorId}) is dead`));
      return;
    }
    q.pending.push(entry);
    if (q.conn) this.flush(q);
  }

  private flush(q: ActorQueue): void {
    const conn = q.conn;
    if (!conn) return;
    const batch = q.pending;
    q.pending = [];
    for (const entry of batch) {
      const id = entry.spec.taskId;
      q.inflight.set(id, entry);
      conn.call("worker.PushTask", encodePush(conn, entry.spec, entry.template, undefined), this.onReply, entry);
    }
  }

  /** The reply to a call (one function for all: the entry comes back as the call's context). */
  private onReply = (err: Error | undefined, reply: Res<"worker.PushTask"> | undefined, entry: TaskEntry): void => {
    if (err || !reply) return; // connection loss is handled through the actor's state
    const q = this.queues.get(entry.spec.actorId!);
    const id = entry.spec.taskId;
    if (q?.inflight.get(id) !== entry) return;
    q.inflight.delete(id);
    this.ctx.complete(entry.spec, withIds(reply.returns, entry.returnIds, id));
  };

  private fail(entry: TaskEntry, e: StingrayError): void {
    this.ctx.complete(entry.spec, returnIdsOf(entry.spec).map((id) => ({ id, err: toWire(e) })));
  }

  nextSeq(): number { return ++this.seq; }
}
