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

test("memory store: local ref counts share the entries; an entry goes when both its value and its refs are gone", () => {
  const m = new MemoryStore();
  m.expectNew("t", 1);
  assert.equal(m.hasRefs("t"), true);
  assert.equal(m.size, 1);
  assert.equal(m.put({ id: "t", v: Buffer.from([1]) }), 1, "put reports the refs left");
  m.addRef("t");
  assert.equal(m.dropRef("t"), 1);
  assert.equal(m.dropRef("t"), 0);
  assert.equal(m.knows("t"), true, "the value stays until it is taken");
  const taken = m.take("t");
  assert.ok(taken !== undefined && taken !== "pending");
  assert.equal(m.knows("t"), false);
  assert.equal(m.size, 0);
  // A ref to an object with no value here (freed, or not produced yet) is counted on its own.
  m.addRef("u");
  assert.equal(m.hasRefs("u"), true);
  assert.equal(m.knows("u"), false);
  assert.equal(m.size, 0, "refs alone are not objects");
  assert.equal(m.put({ id: "u", v: Buffer.from([2]) }), 1);
  assert.equal(m.size, 1);
  m.delete("u");
  assert.equal(m.knows("u"), false);
  assert.equal(m.hasRefs("u"), true, "deleting the value keeps the count");
  assert.equal(m.dropRef("u"), 0);
  assert.equal(m.hasRefs("u"), false);
  assert.equal(m.dropRef("u"), 0, "an unknown id has no refs");
  // A waiter on an id that only has refs makes it pending.
  m.addRef("w");
  const seen: string[] = [];
  m.onReady("w", (v) => seen.push(v.id));
  assert.equal(m.isPending("w"), true);
  assert.equal(m.take("w"), "pending");
  assert.equal(m.put({ id: "w", v: Buffer.from([3]) }), 1);
  assert.deepEqual(seen, ["w"]);
});
