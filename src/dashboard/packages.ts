/**
 * @module dashboard/packages
 * working_dir packages of job submissions, as in Ray: the client zips the directory
 * (`packDirectory`), names it by its content (`_stingray_pkg_<sha256>.zip`), uploads it only when
 * the cluster lacks it (`uploadWorkingDir`) and submits `gcs://<name>`; the node unpacks it
 * (`unpackPackage`), refusing entries that would land outside the target directory.
 */
import { globToRegExp } from "../common/glob.ts";
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { zipSync, unzipSync, type Zippable } from "fflate";
import { ValueError } from "../common/errors.ts";
import type { DashboardClient } from "./client.ts";

/** Largest zipped working_dir accepted, as Ray's 100 MiB package limit. */
export const MAX_PACKAGE_BYTES = 100 * 1024 * 1024;
/** Largest unpacked size (declared in the zip) `unpackPackage` writes by default. */
export const MAX_UNPACKED_BYTES = 2 * 1024 * 1024 * 1024;
/** A package name the server accepts. */
export const PACKAGE_NAME_RE = /^_stingray_pkg_[0-9a-f]{16,64}\.zip$/;
/** Always left out of a package: the repository metadata, and Stingray itself (workers have their own). */
const ALWAYS_EXCLUDED = [".git", "node_modules/stingray"];
/** Zip entries get a fixed time, so one content always gives the same bytes. */
const FIXED_MTIME = new Date(Date.UTC(2000, 0, 1));

const mib = (n: number): string => (n / 2 ** 20).toFixed(n < 2 ** 20 ? 2 : n < 10 * 2 ** 20 ? 1 : 0);

export interface Package { name: string; bytes: Uint8Array; files: number; unpackedBytes: number }

export { globToRegExp };

export function isExcluded(rel: string, patterns: RegExp[]): boolean {
  return patterns.some((p) => p.test(rel));
}

/**
 * Zip `dir` (files, their modes, and empty directories) leaving out `.git`, `node_modules/stingray`
 * and whatever `excludes` names. Refuses a package over MAX_PACKAGE_BYTES zipped.
 */
export function packDirectory(dir: string, excludes: string[] = [], maxBytes = MAX_PACKAGE_BYTES): Package {
  const root = path.resolve(dir);
  let st: fs.Stats;
  try { st = fs.statSync(root); } catch { throw new ValueError(`working_dir ${dir} does not exist`); }
  if (!st.isDirectory()) throw new ValueError(`working_dir ${dir} is not a directory (give a directory, or a .zip file)`);
  const patterns = [...ALWAYS_EXCLUDED, ...excludes].map(globToRegExp);
  const entries: Array<{ rel: string; abs: string; mode: number; dir: boolean }> = [];
  const seen = new Set<string>();
  let rawBytes = 0;
  const walk = (abs: string, rel: string): void => {
    const real = fs.realpathSync(abs);
    if (seen.has(real)) return; // a symlink loop
    seen.add(real);
    const names = fs.readdirSync(abs).sort();
    let kept = 0;
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      if (isExcluded(r, patterns)) continue;
      const a = path.join(abs, name);
      let s: fs.Stats;
      try { s = fs.statSync(a); } catch { continue; } // a dangling symlink
      if (s.isDirectory()) { walk(a, r); kept++; } else if (s.isFile()) {
        rawBytes += s.size;
        if (rawBytes > 8 * maxBytes) {
          throw new ValueError(`working_dir ${dir} holds over ${mib(8 * maxBytes)} MiB of files, too much to ship ` +
            "with each job: leave large files out with runtime_env excludes, or put them on storage every node reads");
        }
        entries.push({ rel: r, abs: a, mode: s.mode & 0o777, dir: false });
        kept++;
      }
    }
    if (!kept && rel) entries.push({ rel, abs, mode: 0o755, dir: true });
  };
  walk(root, "");
  entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const hash = createHash("sha256");
  const zippable: Zippable = {};
  let files = 0;
  for (const e of entries) {
    if (e.dir) {
      hash.update(`d\0${e.rel}\0`);
      zippable[`${e.rel}/`] = [new Uint8Array(0), { os: 3, attrs: ((0o040000 | e.mode) << 16) >>> 0, mtime: FIXED_MTIME }];
      continue;
    }
    const data = fs.readFileSync(e.abs);
    hash.update(`f\0${e.rel}\0${e.mode.toString(8)}\0${data.length}\0`).update(data);
    zippable[e.rel] = [new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      { os: 3, attrs: ((0o100000 | e.mode) << 16) >>> 0, mtime: FIXED_MTIME }];
    files++;
  }
  const bytes = zipSync(zippable, { level: 6 });
  if (bytes.length > maxBytes) {
    throw new ValueError(`working_dir ${dir} is ${mib(bytes.length)} MiB zipped, over the ` +
      `${mib(maxBytes)} MiB limit: leave large files out with runtime_env {"excludes": ["data/", "*.bin"]}, ` +
      "or put them on storage every node reads");
  }
  return { name: `_stingray_pkg_${hash.digest("hex").slice(0, 32)}.zip`, bytes, files, unpackedBytes: rawBytes };
}

/** A package of an existing .zip file (named by its bytes). */
export function packZipFile(file: string, maxBytes = MAX_PACKAGE_BYTES): Package {
  const bytes = new Uint8Array(fs.readFileSync(file));
  if (bytes.length > maxBytes) {
    throw new ValueError(`working_dir ${file} is ${mib(bytes.length)} MiB, over the ${mib(maxBytes)} MiB limit`);
  }
  const name = `_stingray_pkg_${createHash("sha256").update(bytes).digest("hex").slice(0, 32)}.zip`;
  return { name, bytes, files: Object.keys(unzipSync(bytes, { filter: () => false })).length, unpackedBytes: 0 };
}

/** Check an entry name: relative, no `..`, no NUL, no drive letter; returns its '/'-separated segments. */
export function safeEntryPath(name: string): string[] {
  const n = name.replace(/\\/g, "/");
  if (!n || n.includes("\0")) throw new ValueError(`package entry ${JSON.stringify(name)} has an invalid name`);
  if (n.startsWith("/") || /^[a-zA-Z]:/.test(n)) throw new ValueError(`package entry ${JSON.stringify(name)} is an absolute path; refusing to unpack it`);
  const parts = n.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new ValueError(`package entry ${JSON.stringify(name)} climbs out of the target directory ('..'); refusing to unpack it`);
  return parts;
}

/** Unix modes by entry name, from the zip's central directory (best effort: none on anything odd). */
function entryModes(data: Uint8Array): Map<string, number> {
  const modes = new Map<string, number>();
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let e = data.length - 22;
  while (e >= 0 && dv.getUint32(e, true) !== 0x06054b50) { if (data.length - e > 65557) return modes; e--; }
  if (e < 0) return modes;
  const count = dv.getUint16(e + 10, true);
  let o = dv.getUint32(e + 16, true);
  const latin1 = new TextDecoder("latin1");
  const utf8 = new TextDecoder();
  for (let i = 0; i < count; i++) {
    if (o + 46 > data.length || dv.getUint32(o, true) !== 0x02014b50) return modes;
    const os = dv.getUint16(o + 4, true) >> 8;
    const flags = dv.getUint16(o + 8, true);
    const nl = dv.getUint16(o + 28, true), xl = dv.getUint16(o + 30, true), cl = dv.getUint16(o + 32, true);
    const attrs = dv.getUint32(o + 38, true);
    const name = (flags & 0x800 ? utf8 : latin1).decode(data.subarray(o + 46, o + 46 + nl));
    if (os === 3 && attrs >>> 16) modes.set(name, (attrs >>> 16) & 0o777);
    o += 46 + nl + xl + cl;
  }
  return modes;
}

/**
 * Unpack a package into `destDir` (created if needed). Every entry must stay inside `destDir`:
 * absolute names and `..` are refused before anything is written. Unix permission bits are kept
 * (never setuid/setgid; symlink entries become plain files). The declared unpacked size is capped.
 */
export function unpackPackage(bytes: Uint8Array, destDir: string, o: { maxBytes?: number } = {}): { files: number; bytes: number } {
  const max = o.maxBytes ?? MAX_UNPACKED_BYTES;
  const root = path.resolve(destDir);
  let declared = 0;
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter: (f) => {
        safeEntryPath(f.name);
        declared += f.originalSize;
        if (declared > max) throw new ValueError(`package unpacks to over ${mib(max)} MiB; refusing to unpack it`);
        return true;
      },
    });
  } catch (e) {
    if (e instanceof ValueError) throw e;
    throw new ValueError(`package is not a valid zip file: ${(e as Error).message}`);
  }
  const modes = entryModes(bytes);
  fs.mkdirSync(root, { recursive: true });
  let files = 0, total = 0;
  for (const [name, data] of Object.entries(entries)) {
    const parts = safeEntryPath(name);
    if (!parts.length) continue;
    const target = path.join(root, ...parts);
    if (target !== root && !target.startsWith(root + path.sep)) throw new ValueError(`package entry ${JSON.stringify(name)} leaves the target directory`);
    const mode = modes.get(name);
    if (name.endsWith("/")) { fs.mkdirSync(target, { recursive: true }); continue; }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, data, { mode: (mode ?? 0o644) | 0o600 });
    if (mode !== undefined) fs.chmodSync(target, mode | 0o600);
    files++; total += data.length;
  }
  return { files, bytes: total };
}

/**
 * Make `workingDir` a package URI: URIs (`gcs://…`, `s3://…`, `https://…`) pass through; a local
 * directory or .zip is packed, uploaded unless the cluster already has it, and named `gcs://<name>`.
 */
export async function uploadWorkingDir(client: DashboardClient, workingDir: string, excludes: string[] = [],
  log: (line: string) => void = () => {}): Promise<string> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(workingDir)) return workingDir;
  const pkg = /\.zip$/i.test(workingDir) && fs.statSync(workingDir, { throwIfNoEntry: false })?.isFile()
    ? packZipFile(workingDir) : packDirectory(workingDir, excludes);
  if (await client.packageExists(pkg.name)) {
    log(`Package gcs://${pkg.name} already exists on the cluster, skipping upload.`);
  } else {
    log(`Uploading package gcs://${pkg.name} (${(pkg.bytes.length / 1024).toFixed(1)} KiB, ${pkg.files} files).`);
    await client.uploadPackage(pkg.name, pkg.bytes);
  }
  return `gcs://${pkg.name}`;
}
