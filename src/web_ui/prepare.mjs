// `npm ci` / `npm install` in a checkout run this (the "prepare" script): build the dashboard's web
// UI into build/web_ui/. Plain JS so that any Node can run it. Where the dev dependencies are not
// installed (`npm ci --omit=dev`), it says how to build the UI later instead of failing the install.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

const root = path.join(import.meta.dirname, "..", "..");
const viteBin = path.join(root, "node_modules", "vite", "bin", "vite.js");
if (!existsSync(viteBin)) {
  console.log("stingray: vite is not installed (dev dependencies omitted); the dashboard UI is not built. Run `npm run build:ui` after installing them.");
  process.exit(0);
}
const r = spawnSync(process.execPath, [viteBin, "build", "--config", path.join(import.meta.dirname, "vite.config.ts"), "--logLevel", "warn"], { cwd: root, stdio: "inherit" });
if (r.status !== 0) {
  console.error("stingray: building the dashboard UI failed (see above); `npm run build:ui` retries.");
  process.exit(r.status ?? 1);
}
console.log("stingray: dashboard UI built into build/web_ui/");
