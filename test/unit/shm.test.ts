import { test, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { shmMapper } from "../../src/object_store/shm.ts";
import { setConfig } from "../../src/common/config.ts";

const dir = fs.mkdtempSync(path.join(fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir(), "shm-test-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test("a mapped file reads back its values", () => {
  const f = path.join(dir, "a");
  fs.writeFileSync(f, new Float64Array([1.5, 2.5, -3]));
  const ab = shmMapper().mapFile(f);
  assert.deepEqual([...new Float64Array(ab)], [1.5, 2.5, -3]);
  assert.equal(shmMapper().mapFile(path.join(dir, "a")).byteLength, 24);
});

test("mappings share memory with a writer (zero copy)", (t) => {
  const m = shmMapper();
  if (!m.zeroCopy) { t.skip("native addon not built (no C compiler at install time): reads copy"); return; }
  const f = path.join(dir, "shared");
  const w = m.mapFileWritable(f, 8 * 1024);
  assert.ok(w, "the native mapper returns a writable mapping");
  const r1 = new Float64Array(m.mapFile(f));
  const r2 = new Float64Array(m.mapFile(f));
  assert.equal(r1[1000], 0);
  new Float64Array(w)[1000] = 42;
  assert.equal(r1[1000], 42, "a write through one mapping is visible through another: same pages");
  assert.equal(r2[1000], 42);
  assert.equal(fs.readFileSync(f).readDoubleLE(8000), 42, "and it is in the file itself");
});

test("mapping a large file does not copy it into the process", (t) => {
  const m = shmMapper();
  if (!m.zeroCopy) { t.skip("native addon not built: reads copy"); return; }
  const size = 400 * 1024 * 1024;
  const f = path.join(dir, "big");
  const fd = fs.openSync(f, "w");
  fs.ftruncateSync(fd, size); // sparse: no page exists until touched
  fs.closeSync(fd);
  // What to measure: memoryUsage().arrayBuffers counts only buffers from Node's allocator, so it
  // never sees an external (mapped) buffer, copied or not; `external` counts the whole 400 MB the
  // moment the buffer exists, because V8 charges every backing store's length. Neither tells a
  // copy from a mapping. RSS does: a copy is 400 MB resident at once, a mapping only what is read.
  const before = process.memoryUsage().rss;
  const ab = m.mapFile(f);
  const grown = process.memoryUsage().rss - before;
  assert.equal(ab.byteLength, size);
  assert.ok(grown < 50 * 1024 * 1024, `RSS grew by ${grown} bytes on mapping 400 MB; a copy would add 400 MB`);
  // The probe is sensitive: reading the first 32 MB brings (only) those pages in.
  const touched = 32 * 1024 * 1024;
  const view = new Float64Array(ab, 0, touched / 8);
  let sum = 0;
  for (let i = 0; i < view.length; i += 512) sum += view[i] ?? 1; // one read per 4 KiB page
  assert.equal(sum, 0);
  const grownAfterTouch = process.memoryUsage().rss - before;
  assert.ok(grownAfterTouch > (touched * 3) / 4 && grownAfterTouch < touched + 50 * 1024 * 1024,
    `RSS grew by ${grownAfterTouch} bytes after reading 32 MB of the mapping`);
});

test("an empty file maps to an empty ArrayBuffer", () => {
  const m = shmMapper();
  const f = path.join(dir, "empty");
  fs.writeFileSync(f, "");
  assert.equal(m.mapFile(f).byteLength, 0);
  const w = m.mapFileWritable(path.join(dir, "empty-w"), 0);
  if (m.zeroCopy) assert.equal(w?.byteLength, 0);
  else assert.equal(w, null, "the copying fallback has no writable mappings");
});

test("mapping a missing file throws an error naming the path", () => {
  const f = path.join(dir, "missing");
  assert.throws(() => shmMapper().mapFile(f), (e: unknown) => e instanceof Error && e.message.includes(f));
});

test("writing into a mapped object changes only the writer's copy", (t) => {
  const m = shmMapper();
  if (!m.zeroCopy) { t.skip("native addon not built: reads copy"); return; }
  const f = path.join(dir, "cow");
  fs.writeFileSync(f, new Float64Array([1, 2, 3]));
  const a = new Float64Array(m.mapFile(f));
  const b = new Float64Array(m.mapFile(f));
  a[0] = 42; // would be a SIGSEGV with a read-only mapping
  assert.equal(a[0], 42);
  assert.equal(b[0], 1, "another reader still sees the object as stored");
  const onDisk = fs.readFileSync(f);
  assert.equal(onDisk.readDoubleLE(0), 1, "the stored object is unchanged");
});

test("writeFile puts every part at its offset, also when it rewrites a file it wrote before", () => {
  const m = shmMapper();
  const p = path.join(dir, "wf");
  const size = 3 << 20; // above the bulk-write threshold: the mapped path when native
  const a = new Float64Array((1 << 20) / 8).fill(1.5);
  const head = Buffer.from("head");
  m.writeFile(p, size, [[0, head], [1 << 20, a]]);
  let got = fs.readFileSync(p);
  assert.equal(got.length, size);
  assert.equal(got.subarray(0, 4).toString(), "head");
  assert.deepEqual(new Float64Array(got.buffer, got.byteOffset + (1 << 20), a.length), a);
  // Same file (as a recycled one is): the new contents replace the old at the new offsets.
  const b = new Uint8Array(1000).fill(9);
  m.writeFile(p, size, [[0, Buffer.from("HEAD")], [2 << 20, b]]);
  got = fs.readFileSync(p);
  assert.equal(got.subarray(0, 4).toString(), "HEAD");
  assert.deepEqual(got.subarray(2 << 20, (2 << 20) + 1000), Buffer.from(b));
  // A part that does not fit is refused before anything is written.
  assert.throws(() => m.writeFile(p, 10, [[8, new Uint8Array(4)]]));
});

test("writeFile without a cached mapping (one map, copy, unmap) writes the same bytes and refuses bad parts", () => {
  setConfig("object_write_map_cache_bytes", 0); // every write takes the uncached native path
  try {
    const m = shmMapper();
    const p = path.join(dir, "wf-direct");
    const a = new Float64Array((1 << 20) / 8).fill(2.5);
    m.writeFile(p, 2 << 20, [[0, Buffer.from("abcd")], [1 << 20, a], [8, new DataView(new Uint8Array([7, 7]).buffer)]]);
    const got = fs.readFileSync(p);
    assert.equal(got.length, 2 << 20);
    assert.equal(got.subarray(0, 4).toString(), "abcd");
    assert.deepEqual([...got.subarray(8, 10)], [7, 7]);
    assert.deepEqual(new Float64Array(got.buffer, got.byteOffset + (1 << 20), a.length), a);
    assert.throws(() => m.writeFile(p, 2 << 20, [[(2 << 20) - 2, new Uint8Array(4)]]), RangeError);
  } finally {
    setConfig("object_write_map_cache_bytes", 2 ** 30);
  }
});
