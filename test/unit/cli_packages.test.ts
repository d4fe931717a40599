/**
 * working_dir packages: packDirectory's contents, name and exclusions; unpackPackage round trip
 * with file modes; zips that try to write outside the target directory are refused whole.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { zipSync, unzipSync } from "fflate";
import { globToRegExp, packDirectory, unpackPackage, safeEntryPath, PACKAGE_NAME_RE } from "../../src/dashboard/packages.ts";
import { ValueError } from "../../src/common/errors.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-cli-pkg-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tree(root: string, files: Record<string, string | { text: string; mode: number }>): string {
  for (const [rel, f] of Object.entries(files)) {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (typeof f === "string") fs.writeFileSync(p, f);
    else { fs.writeFileSync(p, f.text); fs.chmodSync(p, f.mode); }
  }
  return root;
}

function listFiles(dir: string, rel = ""): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((d) => {
    const r = rel ? `${rel}/${d.name}` : d.name;
    return d.isDirectory() ? [`${r}/`, ...listFiles(dir, r)] : [r];
  }).sort();
}

test("pack then unpack: same files, contents and modes; .git, node_modules/stingray and excludes left out", () => {
  const src = tree(path.join(tmp, "src"), {
    "main.ts": "console.log(1)\n",
    "lib/helper.ts": "export const x = 1;\n",
    "bin/run.sh": { text: "#!/bin/sh\necho hi\n", mode: 0o755 },
    "secret.txt": { text: "s", mode: 0o600 },
    ".git/HEAD": "ref: refs/heads/main\n",
    "node_modules/stingray/index.js": "big",
    "node_modules/left-pad/index.js": "module.exports = 1;\n",
    "data/big.bin": "x".repeat(1000),
    "logs/a.log": "log",
    "deep/x/y.log": "log",
    "ünïcode.txt": "ok",
  });
  fs.mkdirSync(path.join(src, "empty"));
  const pkg = packDirectory(src, ["data/", "*.log"]);
  assert.match(pkg.name, PACKAGE_NAME_RE);
  const dest = path.join(tmp, "dest");
  const r = unpackPackage(pkg.bytes, dest);
  assert.equal(r.files, pkg.files);
  assert.deepEqual(listFiles(dest), [
    "bin/", "bin/run.sh", "deep/", "deep/x/", "empty/", "lib/", "lib/helper.ts", "logs/", "main.ts", "node_modules/", "node_modules/left-pad/",
    "node_modules/left-pad/index.js", "secret.txt", "ünïcode.txt",
  ]);
  assert.equal(fs.readFileSync(path.join(dest, "lib/helper.ts"), "utf8"), "export const x = 1;\n");
  assert.equal(fs.statSync(path.join(dest, "bin/run.sh")).mode & 0o777, 0o755);
  assert.equal(fs.statSync(path.join(dest, "secret.txt")).mode & 0o777, 0o600);
  // Same content, same name and bytes; any change, another name.
  const again = packDirectory(src, ["data/", "*.log"]);
  assert.equal(again.name, pkg.name);
  assert.deepEqual(again.bytes, pkg.bytes);
  fs.writeFileSync(path.join(src, "main.ts"), "console.log(2)\n");
  assert.notEqual(packDirectory(src, ["data/", "*.log"]).name, pkg.name);
  assert.notEqual(packDirectory(src).name, pkg.name);
});

test("globs: names match at any depth, paths from the root, ** across directories", () => {
  const m = (g: string, p: string): boolean => globToRegExp(g).test(p);
  assert.ok(m("*.log", "a.log") && m("*.log", "x/y/a.log") && !m("*.log", "a.logs"));
  assert.ok(m("data/", "data") && m("data", "data/f.bin") && m("data", "x/data/f") && !m("data", "database"));
  assert.ok(m("/build", "build/x") && !m("/build", "src/build"));
  assert.ok(m("src/*.ts", "src/a.ts") && !m("src/*.ts", "src/x/a.ts") && m("src/**/*.ts", "src/x/y/a.ts") && m("src/**/*.ts", "src/a.ts"));
  assert.ok(m("a?.txt", "ab.txt") && !m("a?.txt", "a/.txt"));
});

test("a package over the size limit is refused with the fix", () => {
  const src = path.join(tmp, "big");
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, "r.bin"), randomBytes(64 * 1024));
  assert.throws(() => packDirectory(src, [], 16 * 1024), (e: Error) => e instanceof ValueError && /is 0\.06 MiB zipped, over the 0\.02 MiB limit.*excludes/.test(e.message));
  assert.throws(() => packDirectory(src, [], 4 * 1024), (e: Error) => e instanceof ValueError && /holds over 0\.03 MiB of files.*excludes/.test(e.message));
  assert.throws(() => packDirectory(path.join(tmp, "missing")), /does not exist/);
  assert.throws(() => packDirectory(path.join(src, "r.bin")), /not a directory/);
});

test("traversal: absolute names and '..' are refused before anything is written", () => {
  for (const evil of ["../escape.txt", "a/../../escape.txt", "/tmp/abs.txt", "..\\win.txt", "C:/x.txt"]) {
    const zip = zipSync({ "ok.txt": new TextEncoder().encode("fine"), [evil]: new TextEncoder().encode("pwned") });
    assert.equal(Object.keys(unzipSync(zip)).includes(evil), true, "the zip really holds the entry");
    const dest = fs.mkdtempSync(path.join(tmp, "trav-"));
    const inner = path.join(dest, "inner");
    assert.throws(() => unpackPackage(zip, inner), (e: Error) => e instanceof ValueError && /refusing to unpack/.test(e.message), evil);
    assert.deepEqual(fs.readdirSync(dest), [], `nothing written for ${evil}`);
  }
  assert.throws(() => safeEntryPath("a\0b"), /invalid name/);
  assert.deepEqual(safeEntryPath("./a//b/"), ["a", "b"]);
});

test("unpack refuses garbage and zips that declare more than the cap", () => {
  assert.throws(() => unpackPackage(new Uint8Array([1, 2, 3, 4]), path.join(tmp, "g")), /not a valid zip/);
  const zip = zipSync({ "a.txt": new Uint8Array(5000) });
  assert.throws(() => unpackPackage(zip, path.join(tmp, "cap"), { maxBytes: 4000 }), /over .* MiB; refusing/);
});
