import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ActorManager, type ActorClusterClient, type LeaseGrant } from "../../src/gcs/actor_manager.ts";
import { MemoryStorage, SqliteStorage } from "../../src/gcs/storage.ts";
import type { ActorInfo, Address, TaskSpec } from "../../src/protocol/messages.ts";
import type { WireError } from "../../src/common/errors.ts";
import { logger } from "../../src/common/log.ts";

const addr = (w: string): Address => ({ nodeId: "n1", host: "127.0.0.1", port: 1, workerId: w });
const spec = (actorId: string): TaskSpec => ({
  taskId: `${actorId}c`, jobId: "j1", kind: "actor_create", fn: { id: "f", name: "C", kind: "class", pkgHash: "p", entry: "e" },
  name: "C", actorId, args: [], numReturns: 0, resources: {}, maxRetries: 0, retryExceptions: false, owner: addr("driver"), attempt: 0,
});

/** A fake cluster: leases hand out fresh worker ids; creation succeeds unless told to fail. */
function fakeCluster(opts: { infeasible?: boolean; createError?: WireError } = {}) {
  let n = 0;
  const published: ActorInfo[] = [];
  const killed: string[] = [];
  const warnings: string[] = [];
  const client: ActorClusterClient = {
    lease: async (): Promise<LeaseGrant | { infeasible: string }> =>
      opts.infeasible ? { infeasible: "no node has them" } : { nodeId: "n1", leaseId: `l${++n}`, worker: addr(`w${n}`) },
    create: async () => opts.createError,
    kill: (_node, workerId) => { killed.push(workerId); },
    publish: (info) => { published.push(structuredClone(info)); },
    warn: (_job, m) => { warnings.push(m); },
  };
  return { client, published, killed, warnings };
}
const settle = () => new Promise((r) => setTimeout(r, 10));
const quiet = { debug() {}, info() {}, warn() {}, error() {} } satisfies ReturnType<typeof logger>;

test("actors become ALIVE, restart up to maxRestarts, then die", async () => {
  const f = fakeCluster();
  const m = new ActorManager(f.client, new MemoryStorage(), quiet);
  m.register({ actorId: "a1", spec: spec("a1"), className: "C", namespace: "ns", detached: false, maxRestarts: 1, ownerId: "d" });
  await settle();
  assert.equal(m.get("a1")!.state, "ALIVE");
  assert.equal(m.get("a1")!.address!.workerId, "w1");
  m.onWorkerDead("w1", "SIGKILL");
  assert.equal(m.get("a1")!.state, "RESTARTING");
  await settle();
  assert.equal(m.get("a1")!.state, "ALIVE");
  assert.equal(m.get("a1")!.address!.workerId, "w2");
  assert.equal(m.get("a1")!.numRestarts, 1);
  m.onWorkerDead("w2", "SIGKILL");
  assert.equal(m.get("a1")!.state, "DEAD");
  assert.match(m.get("a1")!.deathCause!.message, /restarted 1 times, maxRestarts=1/);
  assert.deepEqual(f.published.map((p) => p.state), ["PENDING", "ALIVE", "RESTARTING", "ALIVE", "DEAD"]);
});

test("names are unique per namespace and free again once the actor is dead", async () => {
  const f = fakeCluster();
  const m = new ActorManager(f.client, new MemoryStorage(), quiet);
  m.register({ actorId: "a1", spec: spec("a1"), className: "C", name: "x", namespace: "ns", detached: false, maxRestarts: 0, ownerId: "d" });
  assert.throws(() => m.register({ actorId: "a2", spec: spec("a2"), className: "C", name: "x", namespace: "ns", detached: false, maxRestarts: 0, ownerId: "d" }), /already exists/);
  m.register({ actorId: "a3", spec: spec("a3"), className: "C", name: "x", namespace: "other", detached: false, maxRestarts: 0, ownerId: "d" });
  await settle();
  m.kill("a1", true);
  assert.equal(m.getByName("x", "ns"), undefined);
  assert.deepEqual(f.killed, ["w1"]);
  m.register({ actorId: "a4", spec: spec("a4"), className: "C", name: "x", namespace: "ns", detached: false, maxRestarts: 0, ownerId: "d" });
  assert.equal(m.getByName("x", "ns")!.actorId, "a4");
});

test("a failing constructor buries the actor with its error; infeasible actors warn and wait", async () => {
  const f = fakeCluster({ createError: { code: "TASK_ERROR", message: "boom" } });
  const m = new ActorManager(f.client, new MemoryStorage(), quiet);
  m.register({ actorId: "a1", spec: spec("a1"), className: "C", namespace: "ns", detached: false, maxRestarts: 5, ownerId: "d" });
  await settle();
  assert.equal(m.get("a1")!.state, "DEAD");
  assert.equal(m.get("a1")!.deathCause!.message, "boom");
  const g = fakeCluster({ infeasible: true });
  const m2 = new ActorManager(g.client, new MemoryStorage(), quiet);
  m2.register({ actorId: "b1", spec: spec("b1"), className: "Big", namespace: "ns", detached: false, maxRestarts: 0, ownerId: "d" });
  await settle();
  assert.equal(m2.get("b1")!.state, "PENDING");
  assert.match(g.warnings[0]!, /cannot be scheduled/);
});

test("non-detached actors die with their job; detached ones survive", async () => {
  const f = fakeCluster();
  const m = new ActorManager(f.client, new MemoryStorage(), quiet);
  m.register({ actorId: "a1", spec: spec("a1"), className: "C", namespace: "ns", detached: false, maxRestarts: -1, ownerId: "d" });
  m.register({ actorId: "a2", spec: spec("a2"), className: "C", namespace: "ns", detached: true, maxRestarts: 0, ownerId: "d" });
  await settle();
  m.onJobFinished("j1");
  assert.equal(m.get("a1")!.state, "DEAD");
  assert.equal(m.get("a2")!.state, "ALIVE");
});

test("SQLite storage persists tables across reopen", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gcs-sqlite-"));
  try {
    const file = path.join(dir, "gcs.sqlite");
    const a = new SqliteStorage(file);
    a.put("kv", "ns\0k", Buffer.from("v"));
    a.put("jobs", "00000001", { jobId: "00000001", state: "RUNNING" });
    a.put("kv", "ns\0gone", 1);
    a.delete("kv", "ns\0gone");
    a.close();
    const b = new SqliteStorage(file);
    assert.equal(Buffer.from(b.get("kv", "ns\0k") as Uint8Array).toString(), "v");
    assert.deepEqual(b.get("jobs", "00000001"), { jobId: "00000001", state: "RUNNING" });
    assert.equal(b.get("kv", "ns\0gone"), undefined);
    b.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
