/**
 * @module node/compile_cache
 * Node's on-disk compile cache for Stingray's processes. Every daemon and worker is a fresh Node
 * process that loads Stingray's TypeScript sources; stripping their types and compiling them
 * costs 150-300 ms per process, the largest part of starting a node or a worker. With the
 * cache (which also holds the stripped TypeScript), a warm start loads the same modules in a
 * fifth of that.
 *
 * The cache lives in a directory only this user can write (~/.cache/stingray, or a per-user
 * directory under the temp dir), never in a shared world-writable place, since its contents are
 * code. `NODE_COMPILE_CACHE` set by the user wins; `NODE_DISABLE_COMPILE_CACHE=1` turns it off.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** The cache directory (created, mode 0700), or undefined when caching is off or impossible. */
export function compileCacheDir(): string | undefined {
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  if (process.env.NODE_COMPILE_CACHE) return process.env.NODE_COMPILE_CACHE;
  const candidates: string[] = [];
  try { candidates.push(path.join(os.homedir(), ".cache", "stingray", "compile-cache")); } catch { /* no home */ }
  candidates.push(path.join(os.tmpdir(), `stingray-compile-cache-${process.getuid?.() ?? "user"}`));
  for (const dir of candidates) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const st = fs.statSync(dir);
      // Someone else's directory (or one others may write) is not trusted with code.
      if (process.getuid && st.uid !== process.getuid()) continue;
      if ((st.mode & 0o022) !== 0) continue;
      return dir;
    } catch { /* read-only home, say: try the next */ }
  }
  return undefined;
}

/** Environment for a child process that should use (and fill) the compile cache. */
export function withCompileCache(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const dir = env.NODE_DISABLE_COMPILE_CACHE ? undefined : env.NODE_COMPILE_CACHE ?? compileCacheDir();
  return dir ? { ...env, NODE_COMPILE_CACHE: dir } : env;
}
