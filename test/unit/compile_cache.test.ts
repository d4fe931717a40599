import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { compileCacheDir, withCompileCache } from "../../src/node/compile_cache.ts";

test("the compile cache is a private directory of this user, and the user's settings win", () => {
  const saved = { ...process.env };
  try {
    delete process.env.NODE_COMPILE_CACHE;
    delete process.env.NODE_DISABLE_COMPILE_CACHE;
    const dir = compileCacheDir();
    assert.ok(dir, "a cache directory is found");
    const st = fs.statSync(dir);
    assert.equal(st.mode & 0o022, 0, "nobody else may write it");
    if (process.getuid) assert.equal(st.uid, process.getuid());
    assert.equal(withCompileCache({ PATH: "x" }).NODE_COMPILE_CACHE, dir);
    const mine = path.join(os.tmpdir(), "mine");
    assert.equal(withCompileCache({ NODE_COMPILE_CACHE: mine }).NODE_COMPILE_CACHE, mine);
    assert.equal(withCompileCache({ NODE_DISABLE_COMPILE_CACHE: "1" }).NODE_COMPILE_CACHE, undefined);
    process.env.NODE_DISABLE_COMPILE_CACHE = "1";
    assert.equal(compileCacheDir(), undefined);
  } finally {
    process.env = saved;
  }
});
