/**
 * @module worker/code/load
 * Worker side of code shipping: unpack a code package once per host into `cacheDir/<hash>/`
 * (atomically: write a temp dir, then rename; an existing one is reused), link its
 * `node_modules` so that `stingray` resolves to this worker's own copy of Stingray (one runtime
 * per process) and other packages to the driver's install directories when they exist on this
 * host, then import the synthetic module and return its default export. Loaded functions are
 * cached per descriptor id.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { randomBytes } from "node:crypto";
import { CodeShippingError } from "../../common/errors.ts";
import { STINGRAY_ROOT } from "./source.ts";
import type { CodePackage, FunctionDescriptor } from "./describe.ts";

const loaded = new Map<string, Promise<Function>>();

/** Absolute path of a package file inside `dir`, refusing paths that would escape it. */
function inside(dir: string, rel: string, hash: string): string {
  const target = path.resolve(dir, rel);
  if (path.isAbsolute(rel) || !target.startsWith(dir + path.sep) || rel.split("/")[0] === "node_modules") {
    throw new CodeShippingError(`code package ${hash} holds an unsafe path: ${rel}`);
  }
  return target;
}

/** Point `link` at `target`, replacing whatever is there (atomically, via a temp link and rename). */
function relink(target: string, link: string): void {
  try {
    if (fs.readlinkSync(link) === target) return;
  } catch { /* missing or not a link */ }
  const tmp = `${link}.${randomBytes(4).toString("hex")}.tmp`;
  fs.symlinkSync(target, tmp, "junction");
  fs.renameSync(tmp, link);
}

/** Fill `nm` with links: `stingray` to this worker's Stingray, then the driver's packages found on this host. */
function linkNodeModules(nm: string, pkg: CodePackage): void {
  fs.mkdirSync(nm, { recursive: true });
  relink(STINGRAY_ROOT, path.join(nm, "stingray"));
  for (const src of pkg.nodeModulesDirs) {
    let entries: string[];
    try { entries = fs.readdirSync(src); } catch { continue; } // not on this host
    for (const e of entries) {
      if (e === "stingray" || e.startsWith(".")) continue; // .bin, .package-lock.json, .cache
      try { fs.symlinkSync(path.join(src, e), path.join(nm, e), "junction"); } catch { /* an earlier directory wins */ }
    }
  }
}

/** Unpack `pkg` into `cacheDir/<hash>/` unless it is there already; returns that directory. */
function unpack(pkg: CodePackage, cacheDir: string): string {
  if (!/^[0-9a-f]{16,128}$/.test(pkg.hash)) throw new CodeShippingError(`code package hash ${JSON.stringify(pkg.hash)} is not valid`);
  const dir = path.join(path.resolve(cacheDir), pkg.hash);
  if (fs.existsSync(dir)) {
    // Another worker (or an earlier session with another Stingray install) unpacked it: keep `stingray` ours.
    fs.mkdirSync(path.join(dir, "node_modules"), { recursive: true });
    relink(STINGRAY_ROOT, path.join(dir, "node_modules", "stingray"));
    return dir;
  }
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = path.join(path.dirname(dir), `.tmp-${pkg.hash.slice(0, 16)}-${process.pid}-${randomBytes(6).toString("hex")}`);
  try {
    fs.mkdirSync(tmp);
    for (const [rel, text] of Object.entries(pkg.files)) {
      const file = inside(tmp, rel, pkg.hash);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
    }
    linkNodeModules(path.join(tmp, "node_modules"), pkg);
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Losing a rename race to another worker is fine: its copy has the same content.
    if (!fs.existsSync(dir)) {
      if (e instanceof CodeShippingError) throw e;
      throw new CodeShippingError(`cannot unpack code package ${pkg.hash} into ${cacheDir}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
  return dir;
}

function missingPackage(e: unknown): string | undefined {
  if (!(e instanceof Error) || (e as { code?: unknown }).code !== "ERR_MODULE_NOT_FOUND") return undefined;
  return /Cannot find package '([^']+)'/.exec(e.message)?.[1];
}

/**
 * Worker side: the function or class a descriptor names, imported from its unpacked package.
 * Only the synthetic module runs at load (plus the modules it imports), never the driver script.
 */
export function loadRemote(descriptor: FunctionDescriptor, pkg: CodePackage, cacheDir: string): Promise<Function> {
  let p = loaded.get(descriptor.id);
  if (p) return p;
  p = (async (): Promise<Function> => {
    if (descriptor.pkgHash !== pkg.hash) {
      throw new CodeShippingError(`code package ${pkg.hash} does not hold ${descriptor.name} (it needs package ${descriptor.pkgHash})`);
    }
    if (pkg.files[descriptor.entry] === undefined) {
      throw new CodeShippingError(`code package ${pkg.hash} has no entry module ${descriptor.entry} for ${descriptor.name}`);
    }
    const dir = unpack(pkg, cacheDir);
    const entryFile = inside(dir, descriptor.entry, pkg.hash);
    let mod: { default?: unknown };
    try {
      mod = (await import(pathToFileURL(entryFile).href)) as { default?: unknown };
    } catch (e) {
      const missing = missingPackage(e);
      if (missing) {
        throw new CodeShippingError(`${descriptor.kind} ${descriptor.name} imports package "${missing}", which is not ` +
          `installed on this host (the driver had it in ${pkg.nodeModulesDirs.join(", ") || "no node_modules directory"}); ` +
          "install the same dependencies at the same path on every node", { cause: e });
      }
      throw e;
    }
    if (typeof mod.default !== "function") {
      throw new CodeShippingError(`the code shipped for ${descriptor.name} did not produce a ${descriptor.kind} ` +
        `(got ${mod.default === null ? "null" : typeof mod.default})`);
    }
    return mod.default;
  })();
  loaded.set(descriptor.id, p);
  p.catch(() => loaded.delete(descriptor.id));
  return p;
}
