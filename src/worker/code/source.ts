/**
 * @module worker/code/source
 * Reading user modules the way Node runs them: TypeScript is type-stripped with
 * `module.stripTypeScriptTypes` (positions preserved, so `fn.toString()` appears verbatim in the
 * stripped text), parsed once with acorn, and cached by path, mtime and size, so describing many
 * functions of one module reads and parses it once. Also knows where Stingray itself lives, so
 * that its own files are never shipped.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stripTypeScriptTypes } from "node:module";
import * as acorn from "acorn";
import { CodeShippingError } from "../../common/errors.ts";

function realpath(p: string): string {
  try { return fs.realpathSync(p); } catch { return p; }
}

/** Root of the stingray package on this host (the directory holding its package.json), no trailing separator. */
export const STINGRAY_ROOT = realpath(fileURLToPath(new URL("../../../", import.meta.url))).replace(/[\\/]+$/, "");
/** Stingray's sources: any file under it is internal, except the public entry point. */
export const STINGRAY_SRC = path.join(STINGRAY_ROOT, "src") + path.sep;
/** The public entry point (`exports["."]`): imports of it are rewritten to the bare specifier "stingray". */
export const STINGRAY_MAIN = path.join(STINGRAY_ROOT, "src", "api", "index.ts");

/** Is `file` (an absolute path) one of Stingray's own sources? Symlinks are resolved first. */
export function isStingraySource(file: string): boolean {
  return realpath(file).startsWith(STINGRAY_SRC) || file.startsWith(STINGRAY_SRC);
}

export interface ModuleSource {
  file: string;
  /** The file's text as written (what gets shipped). */
  original: string;
  /** JavaScript text with the same character positions as `original` (types blanked out). */
  js: string;
  ast: acorn.Program;
  /** Per-module memo used by the analysis (top-level bindings, scopes); dropped with the source. */
  memo: Map<string, unknown>;
}

/** Counters, for tests and diagnostics. */
export const sourceStats = { reads: 0, parses: 0 };

const cache = new Map<string, { mtimeMs: number; size: number; mod: ModuleSource }>();

/** Run `f` without Node's one-time "stripTypeScriptTypes is experimental" warning. */
function quietly<T>(f: () => T): T {
  const emit = process.emitWarning;
  process.emitWarning = ((w: string | Error, ...rest: unknown[]) => {
    if (String(w).includes("stripTypeScriptTypes")) return;
    (emit as (...a: unknown[]) => void).call(process, w, ...rest);
  }) as typeof process.emitWarning;
  try { return f(); } finally { process.emitWarning = emit; }
}

export function isTypeScript(file: string): boolean { return /\.(ts|mts|cts)$/.test(file); }
export function isScriptFile(file: string): boolean { return /\.(ts|mts|cts|js|mjs|cjs)$/.test(file); }

function message(e: unknown): string { return e instanceof Error ? e.message : String(e); }

/** Stat a file; undefined when it does not exist or is not a regular file. */
export function statFile(file: string): fs.Stats | undefined {
  try {
    const st = fs.statSync(file);
    return st.isFile() ? st : undefined;
  } catch {
    return undefined;
  }
}

/** Read, strip and parse a JavaScript or TypeScript module (cached by path, mtime and size). */
export function readModule(file: string): ModuleSource {
  const st = statFile(file);
  if (!st) throw new CodeShippingError(`cannot read module ${file} to ship its code to workers`);
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.mod;
  sourceStats.reads++;
  const original = fs.readFileSync(file, "utf8");
  let js = original;
  if (isTypeScript(file)) {
    try {
      js = quietly(() => stripTypeScriptTypes(original, { mode: "strip" }));
    } catch (e) {
      throw new CodeShippingError(`cannot ship ${file}: ${message(e)} (Stingray ships TypeScript the way Node runs it, ` +
        "by type stripping: enums, namespaces and constructor parameter properties are not supported; " +
        "use plain objects, const objects and explicit fields)", { cause: e });
    }
  }
  // A hashbang line is blanked (same length) so positions stay put.
  const parseable = js.replace(/^#!.*/, (m) => " ".repeat(m.length));
  let ast: acorn.Program;
  sourceStats.parses++;
  try {
    ast = acorn.parse(parseable, { ecmaVersion: "latest", sourceType: "module" });
  } catch (e) {
    try {
      // CommonJS files in the import closure (.cjs, or .js in a CommonJS package) may not parse as modules.
      ast = acorn.parse(parseable, { ecmaVersion: "latest", sourceType: "script", allowReturnOutsideFunction: true });
    } catch {
      throw new CodeShippingError(`cannot parse ${file} to ship its code to workers: ${message(e)}`, { cause: e });
    }
  }
  const mod: ModuleSource = { file, original, js, ast, memo: new Map() };
  cache.set(file, { mtimeMs: st.mtimeMs, size: st.size, mod });
  return mod;
}

/** 1-based line number of a character offset, for messages. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}
