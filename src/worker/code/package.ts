/**
 * @module worker/code/package
 * The import closure of shipped code. Every module specifier of a shipped file is resolved the
 * way Node would on the driver: local files are shipped too (recursively, JSON included),
 * imports of Stingray's public entry point become the bare specifier "stingray" (workers use
 * their own single copy), imports of Stingray internals are refused, and bare package imports stay
 * bare, recording the driver's `node_modules` directory they come from. Each file is processed
 * once per (path, mtime, size).
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire, isBuiltin } from "node:module";
import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CodeShippingError } from "../../common/errors.ts";
import { driverOnlyStatement, moduleSpecifiers, type StingrayRefs } from "./analysis.ts";
import { isScriptFile, isStingraySource, lineOf, readModule, statFile, STINGRAY_MAIN, STINGRAY_ROOT } from "./source.ts";

export type Resolution =
  /** Keep the specifier as written (builtins, "stingray", unresolvable). */
  | { kind: "keep" }
  /** Stingray's public API: write the bare specifier "stingray". */
  | { kind: "stingray" }
  /** A local file to ship; `spec` set when the specifier must be rewritten to a relative path. */
  | { kind: "local"; file: string; spec?: string }
  /** A package from the driver's `node_modules` directory `dir`. */
  | { kind: "package"; dir: string };

function realpath(p: string): string {
  try { return fs.realpathSync(p); } catch { return p; }
}

/** A relative, absolute or file: URL specifier (names a local file). */
export function isRelative(spec: string): boolean {
  return spec.startsWith("./") || spec.startsWith("../") || spec === "." || spec === ".." || spec.startsWith("/") || spec.startsWith("file:");
}

/** A relative specifier from `fromFile` to `file` ("./x.ts", "../lib/y.js"). */
export function relativeSpecifier(fromFile: string, file: string): string {
  const rel = path.relative(path.dirname(fromFile), file).split(path.sep).join("/");
  return rel.startsWith("../") ? rel : `./${rel}`;
}

/** The file a relative or absolute specifier names (CommonJS-style extension and index lookup too). */
function resolveLocalFile(fromFile: string, spec: string): string | undefined {
  let base: string;
  try {
    base = fileURLToPath(new URL(spec, pathToFileURL(fromFile)));
  } catch {
    return undefined;
  }
  for (const c of [base, `${base}.ts`, `${base}.js`, `${base}.mjs`, `${base}.cjs`, `${base}.json`,
    path.join(base, "index.ts"), path.join(base, "index.js")]) {
    if (statFile(c)) return c;
  }
  return undefined;
}

function packageName(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/**
 * The node_modules directory holding package `name`, found at `<dir>/node_modules/<name>`. A
 * symlinked entry (a package linked into a generated node_modules) leads to its real home.
 */
function homeOf(dir: string, name: string): string {
  const real = realpath(path.join(dir, "node_modules", name));
  const suffix = path.sep + path.join("node_modules", name);
  return real.endsWith(suffix) ? real.slice(0, real.length - name.length - 1) : path.join(dir, "node_modules");
}

function tryRequireResolve(fromFile: string, spec: string): string | undefined {
  try { return createRequire(fromFile).resolve(spec); } catch { return undefined; }
}

/** The innermost node_modules directory on `file`'s path, if any. */
function inNodeModules(file: string): string | undefined {
  const marker = `${path.sep}node_modules${path.sep}`;
  const i = file.lastIndexOf(marker);
  return i < 0 ? undefined : file.slice(0, i + marker.length - 1);
}

function stingrayResolution(file: string, fromFile: string, spec: string): Resolution {
  if (realpath(file) === realpath(STINGRAY_MAIN)) return { kind: "stingray" };
  throw new CodeShippingError(`${fromFile} imports "${spec}", which is inside Stingray itself ` +
    `(${path.relative(STINGRAY_ROOT, file)}). Code shipped to workers runs against the worker's own copy of Stingray ` +
    `and may import only its public API: import * as ray from "stingray"`);
}

/** Resolve one module specifier used by `fromFile`. */
export function resolveSpecifier(fromFile: string, spec: string): Resolution {
  if (isBuiltin(spec) || spec.startsWith("node:") || spec.startsWith("data:")) return { kind: "keep" };
  if (isRelative(spec)) {
    const file = resolveLocalFile(fromFile, spec);
    if (!file) return { kind: "keep" }; // fails the same way on the worker as it would on the driver
    if (isStingraySource(file)) return stingrayResolution(file, fromFile, spec);
    return { kind: "local", file };
  }
  if (spec === "stingray" || spec.startsWith("stingray/")) return { kind: "keep" };
  if (spec.startsWith("#")) {
    // Subpath imports map through the driver's package.json, which is not shipped: point at the file instead.
    const r = tryRequireResolve(fromFile, spec);
    if (r && path.isAbsolute(r) && !inNodeModules(r)) {
      if (isStingraySource(r)) return stingrayResolution(r, fromFile, spec);
      return { kind: "local", file: r, spec: relativeSpecifier(fromFile, r) };
    }
    throw new CodeShippingError(`${fromFile} imports "${spec}" (a package.json subpath import) that does not resolve ` +
      "to a local file; code shipped to workers must use relative imports or package names");
  }
  const name = packageName(spec);
  for (let d = path.dirname(fromFile); ; d = path.dirname(d)) {
    const cand = path.join(d, "node_modules", name);
    if (fs.existsSync(cand)) return { kind: "package", dir: homeOf(d, name) };
    if (path.dirname(d) === d) break;
  }
  const r = tryRequireResolve(fromFile, spec);
  if (r && path.isAbsolute(r)) {
    const nm = inNodeModules(r);
    if (nm) return { kind: "package", dir: nm };
    if (isStingraySource(r)) return stingrayResolution(r, fromFile, spec);
    // A package importing itself by name: ship the file.
    return { kind: "local", file: r, spec: relativeSpecifier(fromFile, r) };
  }
  return { kind: "keep" };
}

export interface ProcessedFile {
  /** Text to ship (specifiers rewritten where needed). */
  text: string;
  /** sha256 of `text`. */
  digest: string;
  /** Local files it imports (absolute paths). */
  deps: string[];
  /** Driver node_modules directories its bare imports come from. */
  nodeModulesDirs: string[];
}

const processed = new Map<string, { mtimeMs: number; size: number; value: ProcessedFile }>();

/** How `fromFile`'s import declarations refer to Stingray (for the top-level `init()` check). */
function stingrayRefsOf(file: string, rewritten: Map<number, Resolution>): StingrayRefs {
  const mod = readModule(file);
  const refs: StingrayRefs = { namespaces: new Set(), named: new Map() };
  for (const stmt of mod.ast.body) {
    if (stmt.type !== "ImportDeclaration") continue;
    const r = rewritten.get(stmt.source.start);
    if (stmt.source.value !== "stingray" && r?.kind !== "stingray") continue;
    for (const s of stmt.specifiers) {
      if (s.type === "ImportSpecifier") {
        refs.named.set(s.local.name, s.imported.type === "Identifier" ? s.imported.name : String(s.imported.value));
      } else {
        refs.namespaces.add(s.local.name);
      }
    }
  }
  return refs;
}

/** Read one file of the closure, rewriting its specifiers; cached by path, mtime and size. */
export function processFile(file: string): ProcessedFile {
  const st = statFile(file);
  if (!st) throw new CodeShippingError(`cannot read ${file}, which code shipped to workers imports`);
  const hit = processed.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.value;
  let value: ProcessedFile;
  if (!isScriptFile(file)) {
    const bytes = fs.readFileSync(file);
    if (!isUtf8(bytes)) {
      throw new CodeShippingError(`${file} is imported by code shipped to workers but is not a text file; ` +
        "only JavaScript, TypeScript, JSON and other UTF-8 files can be shipped");
    }
    const text = bytes.toString("utf8");
    value = { text, digest: sha256(text), deps: [], nodeModulesDirs: [] };
  } else {
    const mod = readModule(file);
    const deps = new Set<string>();
    const nm = new Set<string>();
    const resolutions = new Map<number, Resolution>();
    let text = mod.original;
    // Right to left, so earlier positions stay valid while rewriting.
    for (const s of [...moduleSpecifiers(mod)].reverse()) {
      const r = resolveSpecifier(file, s.value);
      resolutions.set(s.start, r);
      let replacement: string | undefined;
      if (r.kind === "stingray") replacement = "stingray";
      else if (r.kind === "local") { deps.add(r.file); replacement = r.spec; }
      else if (r.kind === "package") nm.add(r.dir);
      if (replacement !== undefined) text = text.slice(0, s.start) + JSON.stringify(replacement) + text.slice(s.end);
    }
    const refs = stingrayRefsOf(file, resolutions);
    if (refs.namespaces.size || refs.named.size) {
      for (const stmt of mod.ast.body) {
        const why = driverOnlyStatement(stmt, refs);
        if (why) {
          throw new CodeShippingError(`${file}:${lineOf(mod.js, stmt.start)} calls ${why} at its top level, and code ` +
            "shipped to workers imports this file, so it would run again on every worker. Keep init() and shutdown() " +
            "in the driver script, and move what remote functions need into modules that do not call them");
        }
      }
    }
    value = { text, digest: sha256(text), deps: [...deps], nodeModulesDirs: [...nm] };
  }
  processed.set(file, { mtimeMs: st.mtimeMs, size: st.size, value });
  return value;
}

export function sha256(s: string): string { return createHash("sha256").update(s).digest("hex"); }

/** Collects the files of one code package. */
export class PackageBuilder {
  /** Absolute path → text to ship and its sha256. */
  readonly files = new Map<string, { text: string; digest: string }>();
  readonly nodeModulesDirs = new Set<string>();

  /** The specifier to write for `spec` as used by `fromFile`, shipping what it needs. */
  specifier(fromFile: string, spec: string): string {
    const r = resolveSpecifier(fromFile, spec);
    if (r.kind === "stingray") return "stingray";
    if (r.kind === "package") this.nodeModulesDirs.add(r.dir);
    if (r.kind === "local") {
      this.addFile(r.file);
      return r.spec ?? spec;
    }
    return spec;
  }

  /** Ship `file` and, transitively, everything it imports. */
  addFile(file: string): void {
    const queue = [file];
    while (queue.length) {
      const f = queue.pop()!;
      if (this.files.has(f)) continue;
      const p = processFile(f);
      this.files.set(f, { text: p.text, digest: p.digest });
      for (const d of p.nodeModulesDirs) this.nodeModulesDirs.add(d);
      for (const d of p.deps) if (!this.files.has(d)) queue.push(d);
    }
  }
}

const packageTypes = new Map<string, string | null | undefined>();

/**
 * The `"type"` of the package.json nearest to `dir` on the driver: a string, null for a
 * package.json without one, undefined when there is none.
 */
export function nearestPackageType(dir: string): string | null | undefined {
  if (packageTypes.has(dir)) return packageTypes.get(dir);
  let result: string | null | undefined;
  const pj = path.join(dir, "package.json");
  if (statFile(pj)) {
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(pj, "utf8"));
      const t = typeof parsed === "object" && parsed !== null ? (parsed as { type?: unknown }).type : undefined;
      result = typeof t === "string" ? t : null;
    } catch {
      result = null;
    }
  } else {
    result = path.dirname(dir) === dir ? undefined : nearestPackageType(path.dirname(dir));
  }
  packageTypes.set(dir, result);
  return result;
}
