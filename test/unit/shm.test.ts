import { test, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { shmMapper } from "../../src/object_store/shm.ts";
import { TUNABLES, setConfig } from "../../src/common/config.ts";

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
    setConfig("object_write_map_cache_bytes", TUNABLES.object_write_map_cache_bytes.default);
  }
});

async function settle(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/** Mappings of `p` this process still has after the file was deleted (from /proc/self/maps). */
function deletedMappingsOf(p: string): number {
  return fs.readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.endsWith(`${p} (deleted)`)).length;
}

test("a cached writable mapping of a file the store deleted is dropped, so it does not keep the file's memory", async (t) => {
  const m = shmMapper();
  if (!m.zeroCopy) { t.skip("native addon not built"); return; }
  const size = 4 << 20;
  const a = path.join(dir, "gone-a"), b = path.join(dir, "gone-b"), c = path.join(dir, "gone-c");
  const before = m.cachedWriteBytes();
  m.writeFile(a, size, [[0, new Uint8Array(size).fill(1)]]);
  assert.equal(m.cachedWriteBytes(), before + size, "the mapping is kept for the next write of this file");
  fs.rmSync(a);
  assert.equal(deletedMappingsOf(a), 1, "deleted, its file is still mapped");
  // The next write drops it first (the unmap itself runs once the detached buffer is finalized, a tick later).
  m.writeFile(b, size, [[0, new Uint8Array(16).fill(2)]]);
  assert.equal(m.cachedWriteBytes(), before + size);
  await settle(() => deletedMappingsOf(a) === 0, 500);
  assert.equal(deletedMappingsOf(a), 0);
  // With no further write, the periodic check drops it.
  fs.rmSync(b);
  await settle(() => deletedMappingsOf(b) === 0, 3 * TUNABLES.object_write_map_check_ms.default + 2000);
  assert.equal(deletedMappingsOf(b), 0, "the check unmapped the deleted file");
  assert.equal(m.cachedWriteBytes(), before);
  // A renamed file (the store's pool) is not deleted: its mapping stays and is used again.
  m.writeFile(c, size, [[0, new Uint8Array(16).fill(3)]]);
  const pooled = path.join(dir, ".free-test");
  fs.renameSync(c, pooled);
  m.writeFile(pooled, size, [[0, new Uint8Array(16).fill(4)]]);
  assert.equal(m.cachedWriteBytes(), before + size, "one mapping, reused through the rename");
  assert.equal(fs.readFileSync(pooled)[0], 4);
  fs.rmSync(pooled);
  m.writeFile(path.join(dir, "gone-d"), 2 << 20, [[0, new Uint8Array(1)]]); // drops the pooled one's mapping
  assert.equal(m.cachedWriteBytes(), before + (2 << 20));
  await settle(() => deletedMappingsOf(pooled) === 0, 500);
  assert.equal(deletedMappingsOf(pooled), 0);
});
