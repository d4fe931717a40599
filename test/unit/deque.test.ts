import { test } from "node:test";
import assert from "node:assert/strict";
import { Deque } from "../../src/common/deque.ts";

test("a deque keeps FIFO order across compactions, unshift and remove", () => {
  const d = new Deque<number>();
  const model: number[] = [];
  let next = 0;
  // A deterministic mix of operations, checked against a plain array.
  for (let step = 0; step < 20_000; step++) {
    const op = (step * 7919) % 10;
    if (op < 5) { d.push(next); model.push(next); next++; }
    else if (op < 8) { assert.equal(d.shift(), model.shift()); }
    else if (op === 8) { const x = -step; d.unshift(x); model.unshift(x); }
    else if (model.length) {
      const victim = model[Math.floor(model.length / 2)]!;
      assert.equal(d.remove(victim), true);
      model.splice(model.indexOf(victim), 1);
    }
    assert.equal(d.length, model.length);
  }
  assert.equal(d.remove(123_456_789), false);
  assert.deepEqual(d.drain(), model);
  assert.equal(d.length, 0);
  assert.equal(d.shift(), undefined);
});

test("find skips items already shifted and returns the first match", () => {
  const d = new Deque<{ id: number }>();
  const items = Array.from({ length: 10 }, (_, i) => ({ id: i % 5 }));
  for (const x of items) d.push(x);
  for (let i = 0; i < 3; i++) d.shift(); // items[0..2] are gone from the front
  assert.equal(d.find((x) => x.id === 0), items[5]); // not the shifted items[0]
  assert.equal(d.find((x) => x.id === 4), items[4]);
  assert.equal(d.find((x) => x.id === 7), undefined);
  d.remove(items[4]!);
  assert.equal(d.find((x) => x.id === 4), items[9]);
});
