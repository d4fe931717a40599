/**
 * @module worker/code/stack
 * Finds the user module that called `remote()`: the first stack frame outside Stingray's runtime
 * layers (`src/api`, `src/worker`, `src/client`). Other Stingray modules that define remote
 * functions themselves (the microbenchmark's tasks) count as callers. Frames may name file URLs (ES modules) or plain paths (CommonJS, Windows);
 * frames of Node internals and of eval'd code are never a module file.
 */
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { STINGRAY_SRC } from "./source.ts";

const RUNTIME_DIRS = ["api", "worker", "client"].map((d) => path.join(STINGRAY_SRC, d) + path.sep);

// The location is whatever precedes ":line:column" at the end of the frame, after "(" or "at ".
// Non-greedy, so paths holding spaces, parentheses or colons still come out whole.
const FRAME = /(?:\(|\bat )((?:file:\/\/|\/|[A-Za-z]:[\\/]|\\\\).*?):\d+:\d+\)?\s*$/;

/** The module file named by one stack frame line, or undefined (native, node:, eval, no location). */
function frameFile(line: string): { file: string; url: string } | undefined {
  if (!/^\s*at /.test(line)) return undefined;
  const m = FRAME.exec(line);
  if (!m) return undefined;
  const loc = m[1]!;
  if (loc.startsWith("file://")) {
    try { return { file: fileURLToPath(loc), url: loc }; } catch { return undefined; }
  }
  if (!path.isAbsolute(loc) && !path.win32.isAbsolute(loc)) return undefined;
  return { file: loc, url: pathToFileURL(loc).href };
}

/**
 * File URL of the first stack frame outside Stingray's runtime layers: the module that called
 * `remote()`. `stack` defaults to the current stack. Undefined when no frame names a module file
 * (a REPL, eval, `node -e`).
 */
export function callerModuleUrl(stack?: string): string | undefined {
  let text = stack;
  if (text === undefined) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = Math.max(limit, 50);
    try { text = new Error().stack ?? ""; } finally { Error.stackTraceLimit = limit; }
  }
  for (const line of text.split("\n")) {
    // Code run by eval or new Function has no module file to ship from.
    if (/^\s*at /.test(line) && /\beval at /.test(line)) return undefined;
    const f = frameFile(line);
    if (!f) continue;
    if (RUNTIME_DIRS.some((d) => f.file.startsWith(d))) continue;
    return f.url;
  }
  return undefined;
}
