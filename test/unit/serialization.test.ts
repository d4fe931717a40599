import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeInline, detached, encodeForStore, encodeInline } from "../../src/worker/serialization.ts";

test("binaries decoded from inline bytes are copies: changing one leaves the stored bytes and the next decode as they were", () => {
  const enc = encodeInline({ b: Buffer.from([1, 2, 3]), u: new Uint8Array([4, 5]), f: new Float64Array([0.5, 1.5]) });
  const stored = Buffer.from(enc.body);
  const first = decodeInline(enc.body) as { b: Buffer; u: Uint8Array; f: Float64Array };
  assert.ok(Buffer.isBuffer(first.b));
  assert.ok(first.u instanceof Uint8Array && first.f instanceof Float64Array);
  first.b[0] = 99; first.u[0] = 99; first.f[0] = 99;
  assert.deepEqual(Buffer.from(enc.body), stored, "the encoding is unchanged");
  const second = decodeInline(enc.body) as { b: Buffer; u: Uint8Array; f: Float64Array };
  assert.deepEqual([...second.b], [1, 2, 3]);
  assert.deepEqual([...second.u], [4, 5]);
  assert.deepEqual([...second.f], [0.5, 1.5]);
  // Nothing decoded shares memory with the bytes it came from.
  for (const v of [second.b, second.u, second.f]) assert.notEqual(v.buffer, enc.body.buffer);
});

test("an inline value read out of a large buffer (a socket slab) keeps nothing of that buffer alive", () => {
  const body = encodeInline(new Uint8Array([7, 8, 9])).body;
  const slab = new Uint8Array(64 * 1024);
  slab.set(body, 30_000);
  const v = decodeInline(slab.subarray(30_000, 30_000 + body.length)) as Uint8Array;
  assert.deepEqual([...v], [7, 8, 9]);
  assert.ok(v.buffer.byteLength < 1024, `decoded value's buffer is ${v.buffer.byteLength} bytes`);
});

test("after a large value is packed, small values are no longer views into a buffer sized for it", () => {
  const big = encodeForStore(Array.from({ length: 50_000 }, (_, i) => `item ${i}`)).body; // ~500 KB body
  assert.ok(big.length > 400_000);
  const small = encodeInline({ n: 1 }).body;
  assert.ok(small.buffer.byteLength <= 8192, `a 1-field value sits in a ${small.buffer.byteLength}-byte buffer`);
  assert.deepEqual(decodeInline(small), { n: 1 });
  // And the large body itself, when kept, is copied out of the oversized output buffer.
  const kept = detached(big);
  assert.ok(kept.buffer.byteLength < 2 * big.length);
  assert.deepEqual(Buffer.from(kept), Buffer.from(big));
});

test("detached() copies a small view of a large buffer and leaves everything else alone", () => {
  const slab = Buffer.allocUnsafeSlow(64 * 1024).fill(5);
  const small = slab.subarray(100, 110);
  const copy = detached(small);
  assert.notEqual(copy.buffer, slab.buffer);
  assert.ok(copy.buffer.byteLength <= 8192, "a small copy shares at most an 8 KiB chunk");
  assert.deepEqual(Buffer.from(copy), Buffer.from(small));
  const next = detached(slab.subarray(200, 210));
  copy.fill(1);
  assert.deepEqual([...next], Array(10).fill(5), "copies sharing a chunk do not overlap");
  const larger = detached(slab.subarray(0, 4000));
  assert.equal(larger.buffer.byteLength, 4000, "a larger copy gets a buffer of its own");
  const most = slab.subarray(0, 40 * 1024);
  assert.equal(detached(most), most, "a view of most of its buffer is kept as is");
  const own = Buffer.from(new ArrayBuffer(12));
  assert.equal(detached(own), own, "a buffer of its own is kept as is");
});
