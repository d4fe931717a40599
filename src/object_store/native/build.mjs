// Builds the zero-copy shared-memory addon (shm.c -> build/shm.node) with the system C compiler
// and the N-API headers from the `node-api-headers` package: no node-gyp, no network. Runs as the
// package's `install` script. Never fails the install: without a compiler Stingray still works,
// reading objects with one copy instead of mapping them.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(here, "shm.c");
const outDir = path.join(here, "build");
const out = path.join(outDir, "shm.node");

// Up to date = strictly newer than shm.c AND loadable here. Both matter for a published package:
// npm's `files` list ships whatever build/shm.node the publisher had, and npm gives every file in
// a tarball the same mtime, so "not older" alone would keep a binary built for another machine.
function upToDate() {
  try {
    if (fs.statSync(out).mtimeMs <= fs.statSync(src).mtimeMs) return false;
    createRequire(import.meta.url)(out);
    return true;
  } catch {
    return false;
  }
}

try {
  if (upToDate()) process.exit(0);
  let include;
  try {
    include = path.join(path.dirname(createRequire(import.meta.url).resolve("node-api-headers/package.json")), "include");
  } catch {
    throw new Error("the node-api-headers package is missing");
  }
  fs.mkdirSync(outDir, { recursive: true });
  const cc = process.env.CC || "cc";
  try {
    execFileSync(cc, ["-O2", "-shared", "-fPIC", "-fvisibility=hidden", `-I${include}`, "-o", `${out}.tmp`, src], { stdio: "inherit" });
    fs.renameSync(`${out}.tmp`, out);
  } finally {
    fs.rmSync(`${out}.tmp`, { force: true });
  }
  console.log(`stingray: built ${path.relative(process.cwd(), out)} (zero-copy object reads)`);
} catch (e) {
  console.warn(`stingray: could not build the shared-memory addon (${e.message.split("\n")[0]}); object reads will copy`);
}
