import { test, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ObjectStore } from "../../src/object_store/store.ts";
import { ObjectStoreFullError } from "../../src/common/errors.ts";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "store-test-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));

function make(name: string, capacity: number): ObjectStore {
  return new ObjectStore({ dir: path.join(root, name, "shm"), spillDir: path.join(root, name, "spill"), capacity });
}
function write(s: ObjectStore, id: string, size: number, owner = "o"): void {
  const p = s.create(id, size, owner);
  fs.writeFileSync(p, Buffer.alloc(size, id.charCodeAt(0)));
  s.seal(id);
}

test("objects spill least-recently-used when full and come back on access", () => {
  const s = make("spill", 300);
  write(s, "a", 100); write(s, "b", 100); write(s, "c", 100);
  s.get("a"); // a is now more recent than b
  write(s, "d", 150);
  const st = s.stats();
  assert.equal(st.spilledObjects, 2); // b then c
  assert.ok(fs.existsSync(path.join(root, "spill", "spill", "b")));
  assert.ok(!fs.existsSync(path.join(root, "spill", "shm", "b")));
  const p = s.get("b")!;
  assert.equal(fs.readFileSync(p)[0], "b".charCodeAt(0));
  assert.equal(s.stats().restoredObjects, 1);
  assert.ok(s.stats().used <= 300);
});

test("an object larger than the store is refused with a clear error", () => {
  const s = make("big", 100);
  assert.throws(() => s.create("x", 101, "o"), (e: unknown) => e instanceof ObjectStoreFullError && /--object-store-memory/.test(e.message));
});

test("freeing by owner removes files", () => {
  const s = make("owner", 1000);
  write(s, "a", 10, "w1"); write(s, "b", 10, "w2"); write(s, "c", 10, "w1");
  assert.deepEqual(s.freeOwnedBy("w1").sort(), ["a", "c"]);
  assert.equal(s.stats().objects, 1);
  assert.equal(s.get("a"), undefined);
  assert.ok(s.get("b"));
});

test("object ids that are not plain names are refused (no path traversal)", () => {
  const s = make("ids", 1000);
  for (const bad of ["../x", "a/b", ".owner-pid", "", "x".repeat(200)]) {
    assert.throws(() => s.create(bad, 1, "o"), /invalid object id/);
  }
  assert.throws(() => s.get("../../etc/passwd"), /invalid object id/);
});

test("a store directory left by a dead process is removed by the next store", () => {
  const parent = path.join(root, "stale");
  fs.mkdirSync(path.join(parent, "stingray-dead"), { recursive: true });
  fs.writeFileSync(path.join(parent, "stingray-dead", ".owner-pid"), "999999999");
  fs.writeFileSync(path.join(parent, "stingray-dead", "obj"), "x");
  new ObjectStore({ dir: path.join(parent, "stingray-live"), spillDir: path.join(parent, "spill"), capacity: 10 });
  assert.ok(!fs.existsSync(path.join(parent, "stingray-dead")));
  assert.ok(fs.existsSync(path.join(parent, "stingray-live", ".owner-pid")));
});

const MB = 1 << 20;
const inode = (p: string): number => fs.statSync(p).ino;

test("a freed large object that no reader was given is reused by the next object of similar size", () => {
  const s = make("recycle", 64 * MB);
  const pa = s.create("a", 4 * MB, "o");
  fs.writeFileSync(pa, Buffer.alloc(4 * MB, 1));
  s.seal("a");
  const ino = inode(pa);
  s.free("a");
  assert.ok(!fs.existsSync(pa), "the freed object's name is gone");
  assert.equal(s.stats().reusableBytes, 4 * MB);
  const pb = s.create("b", 3 * MB, "o");
  assert.equal(inode(pb), ino, "the new object took over the freed file");
  assert.equal(fs.statSync(pb).size, 3 * MB, "sized to the new object");
  assert.equal(s.stats().reusableBytes, 0);
  // Far smaller objects, and small ones, get fresh files.
  s.seal("b");
  s.free("b");
  assert.ok(!fs.existsSync(s.create("c", MB / 2, "o")), "a small object gets a new file");
});

test("an object a reader may have mapped is never reused, so the reader's view cannot change", () => {
  const s = make("mapped", 64 * MB);
  const pa = s.create("a", 4 * MB, "o");
  fs.writeFileSync(pa, Buffer.alloc(4 * MB, 7));
  s.seal("a");
  const reader = fs.openSync(s.get("a")!, "r"); // handed to a reader, who holds it (as a mapping would)
  try {
    s.free("a");
    assert.equal(s.stats().reusableBytes, 0);
    const pb = s.create("b", 4 * MB, "o");
    assert.ok(!fs.existsSync(pb), "no file was handed over: the creator makes a new one");
    fs.writeFileSync(pb, Buffer.alloc(4 * MB, 8));
    s.seal("b");
    const seen = Buffer.alloc(16);
    fs.readSync(reader, seen, 0, 16, 0);
    assert.deepEqual(seen, Buffer.alloc(16, 7), "the reader still sees the object it got");
  } finally {
    fs.closeSync(reader);
  }
  // A read through a descriptor (transfers to other nodes) does not pin it.
  const inoB = inode(s.get("b", false)!);
  s.free("b");
  assert.equal(s.stats().reusableBytes, 4 * MB);
  assert.equal(inode(s.create("c", 4 * MB, "o")), inoB);
});

test("reusable files are given up first when the store needs room, before anything spills", () => {
  const s = new ObjectStore({ dir: path.join(root, "pool-pressure", "shm"), spillDir: path.join(root, "pool-pressure", "spill"),
    capacity: 10 * MB, recycleBytes: 10 * MB });
  for (const id of ["a", "b"]) {
    fs.writeFileSync(s.create(id, 4 * MB, "o"), Buffer.alloc(4 * MB));
    s.seal(id);
  }
  s.free("a");
  s.free("b");
  assert.equal(s.stats().reusableBytes, 8 * MB);
  fs.writeFileSync(s.create("big", 9 * MB, "o"), Buffer.alloc(9 * MB));
  s.seal("big");
  const st = s.stats();
  assert.equal(st.spilledObjects, 0);
  assert.equal(st.reusableBytes, 0);
  assert.ok(st.used + st.reusableBytes <= st.capacity);
  assert.deepEqual(fs.readdirSync(path.join(root, "pool-pressure", "shm")).filter((f) => f.startsWith(".free")), []);
});
