import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeStore, encodeForStore, storeHead, storeLayout } from "../../src/worker/serialization.ts";

test("large buffers sit at their source's offset within a page, and the object decodes back", () => {
  const big = new Float64Array(40_000).map((_, i) => i * 0.5);            // 320 KB, its own buffer
  const backing = new Uint8Array(300_000).map((_, i) => i % 251);
  const view = backing.subarray(1000, 1000 + 200_000);                     // a view 1000 bytes in
  const enc = encodeForStore({ big, view, small: [1, 2, 3] });
  assert.equal(enc.buffers.length, 2);
  const { size, offsets, headerLen } = storeLayout(enc);
  enc.buffers.forEach((b, i) => {
    assert.equal(offsets[i]! % 4096, b.byteOffset % 4096, "destination level with the source within a page");
    if (i > 0) assert.ok(offsets[i]! >= offsets[i - 1]! + enc.buffers[i - 1]!.byteLength, "buffers do not overlap");
  });
  assert.ok(offsets[0]! >= headerLen + enc.body.length);
  assert.ok(size >= offsets[1]! + enc.buffers[1]!.byteLength);
  // Assemble the object as the writer does and read it back.
  const file = new Uint8Array(size);
  file.set(storeHead(enc, offsets, headerLen), 0);
  enc.buffers.forEach((b, i) => file.set(b, offsets[i]!));
  const back = decodeStore(file.buffer) as { big: Float64Array; view: Uint8Array; small: number[] };
  assert.deepEqual([...back.big.subarray(0, 4)], [0, 0.5, 1, 1.5]);
  assert.equal(back.big.length, big.length);
  assert.equal(back.big[39_999], 39_999 * 0.5);
  assert.deepEqual([...back.view.subarray(0, 3)], [1000 % 251, 1001 % 251, 1002 % 251]);
  assert.equal(back.view.length, 200_000);
  assert.deepEqual(back.small, [1, 2, 3]);
});
