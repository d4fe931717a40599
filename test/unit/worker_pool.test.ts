import { test } from "node:test";
import assert from "node:assert/strict";
import { WorkerPool, type SpawnedProcess, type WorkerSpawner } from "../../src/raylet/worker_pool.ts";
import type { Connection } from "../../src/protocol/connection.ts";

/** A fake spawner: records spawns; the test registers or kills the fake processes. */
function fakeSpawner() {
  const procs = new Map<string, { exit: (code: number | null, sig: NodeJS.Signals | null) => void; env?: Record<string, string> | undefined; killed: string[] }>();
  let pid = 100;
  const spawner: WorkerSpawner = {
    spawn(workerId, envVars): SpawnedProcess {
      const rec = { exit: (_c: number | null, _s: NodeJS.Signals | null) => {}, env: envVars, killed: [] as string[] };
      procs.set(workerId, rec);
      return {
        pid: pid++,
        kill: (sig) => { rec.killed.push(sig); queueMicrotask(() => rec.exit(null, sig)); },
        onExit: (cb) => { rec.exit = cb; },
      };
    },
  };
  return { spawner, procs };
}
const fakeConn = {} as Connection;
const addr = (w: string) => ({ nodeId: "n", host: "h", port: 1, workerId: w });

test("prestarts workers and hands an idle one to a lease, binding it to the job", async () => {
  const { spawner, procs } = fakeSpawner();
  const pool = new WorkerPool(spawner, { prestart: 2, maxStarting: 2 });
  pool.prestartWorkers();
  assert.equal(procs.size, 2);
  const [w1] = [...procs.keys()];
  pool.registered(w1!, fakeConn, addr(w1!));
  const got = await pool.pop("job1", "", undefined);
  assert.equal(got.workerId, w1);
  assert.equal(got.jobId, "job1");
  assert.equal(got.state, "leased");
});

test("workers with a different runtime env are not reused; new ones get the env", async () => {
  const { spawner, procs } = fakeSpawner();
  const pool = new WorkerPool(spawner, { prestart: 0, maxStarting: 4 });
  const p = pool.pop("job1", "envA", { A: "1" });
  assert.equal(procs.size, 1);
  const [id, rec] = [...procs.entries()][0]!;
  assert.deepEqual(rec.env, { A: "1" });
  pool.registered(id, fakeConn, addr(id));
  const w = await p;
  pool.push(w);
  const q = pool.pop("job1", "", undefined);
  assert.equal(procs.size, 2, "the envA worker does not serve a default-env lease");
  const id2 = [...procs.keys()][1]!;
  pool.registered(id2, fakeConn, addr(id2));
  assert.equal((await q).workerId, id2);
});

test("a worker that dies while starting fails a waiting lease instead of looping", async () => {
  const { spawner, procs } = fakeSpawner();
  const pool = new WorkerPool(spawner, { prestart: 0, maxStarting: 1 });
  const p = pool.pop("job1", "", undefined);
  const rec = [...procs.values()][0]!;
  rec.exit(1, null);
  await assert.rejects(p, /failed to start/);
});

test("idle workers of a finished job are stopped", async () => {
  const { spawner, procs } = fakeSpawner();
  const pool = new WorkerPool(spawner, { prestart: 0, maxStarting: 2 });
  const p = pool.pop("job1", "", undefined);
  const id = [...procs.keys()][0]!;
  const asked: string[] = [];
  pool.registered(id, { request: (m: string) => { asked.push(m); return Promise.resolve({}); } } as unknown as Connection, addr(id));
  pool.push(await p);
  pool.reap((job) => job !== "job2");
  assert.deepEqual(asked, [], "workers of live jobs are kept");
  pool.reap((job) => job !== "job1");
  assert.deepEqual(asked, ["worker.Exit"], "the worker is asked to exit");
  assert.equal(pool.workers.get(id)?.stopping, "its job finished");
});
