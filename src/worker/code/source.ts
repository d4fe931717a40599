/**
 * @module worker/code/source
 * Reading user modules the way the worker will see them: TypeScript is type-stripped (positions
 * preserved, so `fn.toString()` appears verbatim in the stripped text), parsed once with acorn
 * and cached by path and mtime. Also finds the module that called `remote()` from a stack trace.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stripTypeScriptTypes } from "node:module";
import * as acorn from "acorn";
import { CodeShippingError } from "../../common/errors.ts";

/** Root of the stingray package (holds package.json). */
export const STINGRAY_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const STINGRAY_MAIN = path.join(STINGRAY_ROOT, "src", "api", "index.ts");
const RUNTIME_DIRS = [path.join(STINGRAY_ROOT, "src", "api") + path.sep, path.join(STINGRAY_ROOT, "src", "worker") + path.sep];

export interface ModuleSource {
  file: string;
  original: string;
  /** JavaScript text with the same character positions as `original`. */
  js: string;
  ast: acorn.Program;
}

const cache = new Map<string, { mtimeMs: number; mod: ModuleSource }>();

/** Run `f` without Node's one-time "stripTypeScriptTypes is experimental" warning. */
function quietly<T>(f: () => T): T {
  const emit = process.emitWarning;
  process.emitWarning = ((w: string | Error, ...rest: unknown[]) => {
    if (String(w).includes("stripTypeScriptTypes")) return;
    (emit as (...a: unknown[]) => void).call(process, w, ...rest);
  }) as typeof process.emitWarning;
  try { return f(); } finally { process.emitWarning = emit; }
}

function isTs(file: string): boolean { return /\.(ts|mts|cts)$/.test(file); }

export function readModule(file: string): ModuleSource {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new CodeShippingError(`cannot read module ${file} to ship its code to workers`);
  }
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs) return hit.mod;
  const original = fs.readFileSync(file, "utf8");
  let js = original;
  if (isTs(file)) {
    try {
      js = quietly(() => stripTypeScriptTypes(original, { mode: "strip" }));
    } catch (e) {
      throw new CodeShippingError(`cannot ship ${file}: ${(e as Error).message} (Stingray ships TypeScript by type stripping: ` +
        "enums, namespaces and parameter properties are not supported; use plain objects and fields)");
    }
  }
  let ast: acorn.Program;
  try {
    ast = acorn.parse(js.replace(/^#!.*/, (m) => " ".repeat(m.length)), { ecmaVersion: "latest", sourceType: "module", allowHashBang: true });
  } catch (e) {
    throw new CodeShippingError(`cannot parse ${file} to ship its code: ${(e as Error).message}`);
  }
  const mod = { file, original, js, ast };
  cache.set(file, { mtimeMs: st.mtimeMs, mod });
  return mod;
}

function frameFile(line: string): string | undefined {
  const m = /\(?((?:file:\/\/)?\/[^():]+|[A-Za-z]:\\[^():]+):\d+:\d+\)?\s*$/.exec(line);
  if (!m) return undefined;
  const loc = m[1]!;
  return loc.startsWith("file://") ? fileURLToPath(loc) : loc;
}

/** File URL of the first stack frame outside Stingray's runtime (the module that called remote()). */
export function callerModuleUrl(stack?: string): string | undefined {
  const lines = (stack ?? new Error().stack ?? "").split("\n").slice(1);
  for (const l of lines) {
    const f = frameFile(l);
    if (!f || f.startsWith("node:")) continue;
    if (RUNTIME_DIRS.some((d) => f.startsWith(d))) continue;
    return "file://" + f;
  }
  return undefined;
}
