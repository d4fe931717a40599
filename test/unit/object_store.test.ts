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
  assert.equal(s.freeOwnedBy("w1"), 2);
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
