/**
 * @module launcher/hashes
 * The hashes stored as node tags that decide what `stingray up` and the autoscaler redo on a node
 * (Ray's `hash_launch_conf` / `hash_runtime_conf`):
 * - launch hash: node_config + auth. A node whose tag differs was created from another config and
 *   is replaced.
 * - runtime hash: the commands, the file mounts' names and the docker config. A node whose tag
 *   differs re-runs its setup and restarts Stingray.
 * - file mounts contents hash: the bytes of the local side of every file mount (and of
 *   cluster_synced_files, where present). A node whose tag differs only gets its files synced again.
 * Unlike Ray, the runtime hash leaves the files' contents out, so an edited file means a re-sync,
 * not a re-setup; a changed command or mount name means a re-setup.
 */
import { globToRegExp } from "../common/glob.ts";
import { createHash, type Hash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError } from "../common/errors.ts";
import type { AuthConfig, ClusterConfig, NodeKind } from "./types.ts";

/** JSON with object keys sorted at every depth, so equal configs hash equal whatever their key order. */
export function stableStringify(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? "null" : stableStringify(x))).join(",")}]`;
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableStringify(x)}`).join(",")}}`;
}

function expandHome(p: string): string {
  return p === "~" ? os.homedir() : p.startsWith("~/") ? path.join(os.homedir(), p.slice(2)) : p;
}

/**
 * Hash of what a node was created from. As Ray does, key files are hashed by their contents, not
 * their paths, so the launcher and the head (which holds the key at another path) agree; a key
 * file that cannot be read is hashed by its path.
 */
export function launchHash(nodeConfig: Record<string, unknown>, auth: AuthConfig): string {
  const fullAuth: Record<string, unknown> = { ...auth };
  for (const k of ["ssh_private_key", "ssh_public_key"] as const) {
    const p = auth[k];
    if (p === undefined) continue;
    try { fullAuth[k] = fs.readFileSync(expandHome(p), "utf8"); } catch { /* hashed by path */ }
  }
  return createHash("sha1").update(stableStringify([nodeConfig, fullAuth])).digest("hex");
}

/** rsync_exclude patterns as the globs of common/glob.ts (a match also excludes what is below it). */
function excludeMatcher(patterns: string[]): (rel: string) => boolean {
  const res = patterns.filter((p) => p.trim().replace(/^\/+|\/+$/g, "") !== "").map(globToRegExp);
  return (rel) => res.some((re) => re.test(rel));
}

function hashFile(h: Hash, file: string): void {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally { fs.closeSync(fd); }
}

/** Names and bytes of a file or a directory tree (symlinks followed), in a fixed order. */
function hashTree(h: Hash, root: string, excluded: (rel: string) => boolean): void {
  const walk = (abs: string, rel: string): void => {
    const st = fs.statSync(abs);
    if (st.isDirectory()) {
      h.update(`d ${rel}\n`);
      for (const name of fs.readdirSync(abs).sort()) {
        const r = rel === "." ? name : `${rel}/${name}`;
        if (!excluded(r)) walk(path.join(abs, name), r);
      }
    } else if (st.isFile()) {
      h.update(`f ${rel} ${st.size}\n`);
      hashFile(h, abs);
    }
  };
  walk(root, ".");
}

export interface RuntimeHashOptions {
  /** More things whose change should re-run setup (e.g. the Stingray version). */
  extraObjects?: unknown;
  /** Hash only what a node of this kind runs: the worker hash ignores head_* commands and vice versa. */
  nodeKind?: NodeKind;
}

/**
 * Ray's hash_runtime_conf. Local paths are resolved against the current directory with `~`
 * expanded, as Ray does; a missing local side of a file mount is a ConfigError, a missing
 * cluster_synced_files path is skipped (it may appear on the head later).
 */
export function runtimeHashes(config: ClusterConfig, opts: RuntimeHashOptions = {}): { runtimeHash: string; fileMountsContentsHash: string } {
  const excluded = excludeMatcher(config.rsync_exclude);
  const contents = createHash("sha1");
  for (const remote of Object.keys(config.file_mounts).sort()) {
    const local = config.file_mounts[remote]!;
    const abs = path.resolve(expandHome(local));
    if (!fs.existsSync(abs)) {
      throw new ConfigError(`${config._source ? `${config._source}: ` : ""}file_mounts[${JSON.stringify(remote)}]: the local path ${local} does not exist; create it or remove the mount`);
    }
    contents.update(`mount ${remote}\n`);
    hashTree(contents, abs, excluded);
  }
  for (const p of [...config.cluster_synced_files].sort()) {
    contents.update(`synced ${p}\n`);
    const abs = path.resolve(expandHome(p));
    if (fs.existsSync(abs)) hashTree(contents, abs, excluded);
  }

  const head = opts.nodeKind !== "worker";
  const worker = opts.nodeKind !== "head";
  const runtime = {
    file_mounts: config.file_mounts,
    cluster_synced_files: config.cluster_synced_files,
    initialization_commands: config.initialization_commands,
    head_setup_commands: head ? config.head_setup_commands : undefined,
    head_start_ray_commands: head ? config.head_start_ray_commands : undefined,
    worker_setup_commands: worker ? config.worker_setup_commands : undefined,
    worker_start_ray_commands: worker ? config.worker_start_ray_commands : undefined,
    node_types: Object.fromEntries(Object.entries(config.available_node_types).map(([name, t]) =>
      [name, { initialization_commands: t.initialization_commands, worker_setup_commands: t.worker_setup_commands, docker: t.docker }])),
    docker: config.docker,
    extra: opts.extraObjects,
  };
  return {
    runtimeHash: createHash("sha1").update(stableStringify(runtime)).digest("hex"),
    fileMountsContentsHash: contents.digest("hex"),
  };
}
