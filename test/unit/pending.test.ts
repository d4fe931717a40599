import { test } from "node:test";
import assert from "node:assert/strict";
import { PendingTable } from "../../src/protocol/pending.ts";

test("pending table matches a Map under in-order, out-of-order and long-waiting requests", () => {
  const t = new PendingTable<string>();
  const model = new Map<number, string>();
  let next = 1;
  const longOnes: number[] = [];
  // A deterministic mix: most requests answered soon (some out of order), a few never until the end.
  for (let step = 0; step < 50_000; step++) {
    const id = next++;
    t.set(id, `v${id}`); model.set(id, `v${id}`);
    if (step % 997 === 0) { longOnes.push(id); continue; }
    if (step % 5 !== 0) {
      // answer the newest or an older short one
      const victim = step % 3 === 0 ? id : [...model.keys()].find((k) => !longOnes.includes(k))!;
      assert.equal(t.get(victim), model.get(victim));
      assert.equal(t.delete(victim), true);
      model.delete(victim);
    }
    if (step % 101 === 0) {
      for (const k of [...model.keys()]) if (!longOnes.includes(k)) { assert.equal(t.delete(k), true); model.delete(k); }
    }
    assert.equal(t.size, model.size);
  }
  for (const id of longOnes) assert.equal(t.get(id), `v${id}`); // long waiters survive wrap-around and growth
  assert.equal(t.get(next + 5), undefined);
  assert.equal(t.delete(next + 5), false);
  assert.deepEqual([...t.values()].sort(), [...model.values()].sort());
});
