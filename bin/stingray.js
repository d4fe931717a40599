#!/usr/bin/env node
// The `stingray` command. Stingray runs on Node 24+ (TypeScript type stripping, node:sqlite).
// When started by an older Node (a system Node 20, say), re-run with the Node 24 that the
// `node` package installs next to Stingray.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const major = Number(process.versions.node.split(".")[0]);
if (major >= 24) {
  // Load the CLI through Node's compile cache (see src/node/compile_cache.ts): it halves start-up.
  const { compileCacheDir } = await import(path.join(here, "..", "src", "node", "compile_cache.ts"));
  const dir = compileCacheDir();
  if (dir) {
    process.env.NODE_COMPILE_CACHE = dir; // the daemons and workers it starts use it too
    (await import("node:module")).enableCompileCache?.(dir);
  }
  await import(path.join(here, "..", "src", "cli", "main.ts"));
} else {
  let node;
  try {
    node = createRequire(import.meta.url).resolve("node/bin/node");
  } catch {
    console.error(`stingray needs Node.js 24 or newer (this is ${process.version}); install it, or run \`npm install node@24\` next to stingray`);
    process.exit(1);
  }
  const r = spawnSync(node, [path.join(here, "stingray.js"), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
