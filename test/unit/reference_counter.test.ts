import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import v8 from "node:v8";
import vm from "node:vm";
import { ReferenceCounter } from "../../src/worker/reference_counter.ts";
import { MemoryStore } from "../../src/worker/memory_store.ts";
import type { Connection } from "../../src/protocol/connection.ts";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const self = { host: "127.0.0.1", port: 1, workerId: "w1", nodeId: "n1" };

/** A counter whose store is a fake: `pending` ids are still being produced; frees are recorded. */
function counter(pending: Set<string>): { rc: ReferenceCounter; freed: string[] } {
  const freed: string[] = [];
  const rc = new ReferenceCounter({
    self: () => self,
    connect: () => Promise.reject(new Error("no peers in this test")),
    freeIfDone: (id) => { if (pending.has(id)) return false; freed.push(id); return true; },
  });
  return { rc, freed };
}

/** Collect, then let the FinalizationRegistry callbacks run. */
async function collect(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

test("an owned object is freed once its last local ref is collected, and only then", async () => {
  const { rc, freed } = counter(new Set());
  let ref: unknown = rc.firstOwnedRef("a");
  let second: unknown = rc.ownedRef("a");
  assert.equal(rc.held("a"), true);
  rc.maybeFree("a");
  assert.deepEqual(freed, [], "a live ref holds it");
  ref = undefined;
  await collect();
  assert.deepEqual(freed, [], "the second ref still holds it");
  void second;
  second = undefined;
  await collect();
  assert.deepEqual(freed, ["a"]);
  assert.equal(rc.held("a"), false);
  void ref;
});

test("a pending result is not freed with its refs; a borrower holds an object until it leaves", async () => {
  const pending = new Set(["p"]);
  const { rc, freed } = counter(pending);
  (() => { rc.firstOwnedRef("p"); })();
  await collect();
  assert.deepEqual(freed, [], "still being produced");
  pending.delete("p");
  rc.maybeFree("p"); // what the owner does when the result arrives unheld
  assert.deepEqual(freed, ["p"]);

  const conn = new EventEmitter() as unknown as Connection;
  (() => { rc.firstOwnedRef("b"); })();
  rc.addBorrower(conn, ["b"]);
  await collect();
  assert.deepEqual(freed, ["p"], "the borrower holds it");
  assert.equal(rc.held("b"), true);
  rc.removeBorrower(conn, ["b"]);
  assert.deepEqual(freed, ["p", "b"]);
});

test("with the memory store holding the local counts, a result is freed when its last ref goes after it arrived", async () => {
  const memory = new MemoryStore();
  const freed: string[] = [];
  const rc = new ReferenceCounter({
    self: () => self,
    connect: () => Promise.reject(new Error("no peers in this test")),
    freeIfDone: (id) => { const v = memory.take(id); if (v === "pending") return false; freed.push(id); return true; },
    local: memory,
  });
  // Two task results, counted as the core worker counts them: one entry each, no lookups.
  let keep: unknown;
  (() => {
    memory.expectNew("r1", 1); rc.firstOwnedRef("r1", true);
    memory.expectNew("r2", 1); keep = rc.firstOwnedRef("r2", true);
  })();
  await collect();
  assert.deepEqual(freed, [], "r1's ref is gone but its task has not finished");
  assert.equal(memory.isPending("r1"), true);
  // r1 arrives with no ref left: the owner frees it at once; r2 is still held.
  assert.equal(memory.put({ id: "r1", v: Buffer.from([1]) }), 0);
  rc.freeUnreferenced("r1");
  assert.deepEqual(freed, ["r1"]);
  assert.equal(memory.knows("r1"), false);
  assert.equal(memory.put({ id: "r2", v: Buffer.from([2]) }), 1);
  assert.equal(rc.held("r2"), true);
  keep = undefined;
  await collect();
  assert.deepEqual(freed, ["r1", "r2"]);
  assert.equal(memory.size, 0);
  void keep;
});
