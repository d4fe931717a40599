/**
 * @module worker/code/load
 * Worker side of code shipping: unpack a code package once per node into the session's
 * runtime_resources (atomically: temp dir, then rename), link `node_modules` so that `stingray`
 * resolves to this worker's own copy of Stingray (one runtime per process) and other packages to
 * the driver's install path when it exists here, then import the synthetic module.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { randomBytes } from "node:crypto";
import { STINGRAY_ROOT } from "./source.ts";
import { CodeShippingError } from "../../common/errors.ts";
import type { CodePackage, FunctionDescriptor } from "./describe.ts";

const loaded = new Map<string, Promise<unknown>>();

function unpack(pkg: CodePackage, cacheDir: string): string {
  const dir = path.join(cacheDir, pkg.hash);
  if (fs.existsSync(dir)) return dir;
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = path.join(cacheDir, `.tmp-${randomBytes(6).toString("hex")}`);
  for (const [rel, text] of Object.entries(pkg.files)) {
    const target = path.resolve(tmp, rel);
    if (!target.startsWith(tmp + path.sep)) throw new CodeShippingError(`code package ${pkg.hash} has an unsafe path ${rel}`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text);
  }
  const nm = path.join(tmp, "node_modules");
  fs.mkdirSync(nm, { recursive: true });
  fs.symlinkSync(STINGRAY_ROOT.replace(/\/$/, ""), path.join(nm, "stingray"), "dir");
  for (const src of pkg.nodeModulesDirs) {
    let entries: string[];
    try { entries = fs.readdirSync(src); } catch { continue; }
    for (const e of entries) {
      if (e === "stingray" || e === ".bin" || e.startsWith(".")) continue;
      try { fs.symlinkSync(path.join(src, e), path.join(nm, e), "dir"); } catch { /* first one wins */ }
    }
  }
  try {
    fs.renameSync(tmp, dir);
  } catch {
    fs.rmSync(tmp, { recursive: true, force: true }); // another worker won the race
  }
  return dir;
}

export function loadRemote(d: FunctionDescriptor, pkg: CodePackage, cacheDir: string): Promise<unknown> {
  let p = loaded.get(d.id);
  if (!p) {
    p = (async () => {
      const dir = unpack(pkg, cacheDir);
      const mod = (await import(pathToFileURL(path.join(dir, d.entry)).href)) as { default: unknown };
      return mod.default;
    })();
    loaded.set(d.id, p);
    p.catch(() => loaded.delete(d.id));
  }
  return p;
}
