import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStore } from "../../src/worker/memory_store.ts";

test("memory store: pending objects, one or many waiters, ready values", async () => {
  const m = new MemoryStore();
  assert.equal(m.isPending("a"), false);
  m.expect("a");
  assert.equal(m.isPending("a"), true);
  assert.equal(m.get("a"), undefined);
  const seen: string[] = [];
  const one = m.wait("a");
  assert.equal(m.isPending("a"), true); // a single waiter is still pending
  m.onReady("a", (v) => seen.push(`cb:${v.id}`));
  const three = m.wait("a");
  m.put({ id: "a", v: Buffer.from([1]) });
  assert.deepEqual(seen, ["cb:a"]);
  assert.equal((await one).id, "a");
  assert.equal((await three).id, "a");
  assert.equal(m.isPending("a"), false);
  // Ready: callbacks run at once, expect() does not reset it.
  m.expect("a");
  m.onReady("a", (v) => seen.push(`now:${v.id}`));
  assert.deepEqual(seen, ["cb:a", "now:a"]);
  // One waiter on an object nobody declared, then a put.
  const b = m.wait("b");
  m.put({ id: "b", v: Buffer.from([2]) });
  assert.deepEqual([...(await b).v!], [2]);
  m.delete("a");
  assert.equal(m.knows("a"), false);
  assert.equal(m.size, 1);
});

test("memory store: take() removes ready objects only; expectNew() declares without a lookup", () => {
  const m = new MemoryStore();
  assert.equal(m.take("x"), undefined);
  m.expectNew("x");
  assert.equal(m.take("x"), "pending");
  assert.equal(m.isPending("x"), true, "a pending object stays");
  const seen: number[] = [];
  m.onReady("x", (v) => seen.push(v.v![0]!));
  m.put({ id: "x", v: Buffer.from([7]) });
  assert.deepEqual(seen, [7]);
  const taken = m.take("x");
  assert.ok(taken !== undefined && taken !== "pending");
  assert.deepEqual([...taken.v!], [7]);
  assert.equal(m.knows("x"), false);
});
