/**
 * @module object_store/store
 * A node's object store: immutable objects as files in a tmpfs directory (shared memory), which
 * processes on the node write once and map for reading (see shm.ts), in the spirit of Ray's
 * plasma. The raylet owns the bookkeeping here: capacity reservations, sealing, owners, LRU
 * spilling to disk when the store is full, restoring on access, and freeing.
 *
 * Why files in /dev/shm: every process on the node can map them without a broker; a reader's
 * mapping stays valid even if the object is freed or spilled meanwhile (POSIX unlink semantics),
 * so no cross-process pinning protocol is needed for safety.
 *
 * Recycling: a fresh tmpfs page costs a fault and zeroing, which limits writing new objects to
 * about 1 GB/s, while writing into pages that already exist runs near memcpy speed. So the file
 * of a freed large object that no reader was ever given (no mapping can still see it) is kept,
 * renamed, in a pool of reusable files, and a later object of similar size takes it over (the
 * plasma store gets the same effect by reusing its preallocated arena). Pooled bytes count
 * against the capacity and are the first thing given up when room is needed.
 */
import fs from "node:fs";
import path from "node:path";
import { ObjectStoreFullError, ProtocolError } from "../common/errors.ts";

const OWNER_FILE = ".owner-pid";
/** Objects smaller than this are not worth recycling (their pages are few; the pool stays small). */
const MIN_RECYCLE_BYTES = 1 << 20;
const VALID_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Remove store directories left by raylets that died without cleaning up (SIGKILL, power loss). */
function removeStaleStores(parent: string): void {
  let names: string[];
  try { names = fs.readdirSync(parent); } catch { return; }
  for (const n of names) {
    if (!n.startsWith("stingray-")) continue;
    const dir = path.join(parent, n);
    let pid: number;
    try { pid = Number(fs.readFileSync(path.join(dir, OWNER_FILE), "utf8")); } catch { continue; }
    let alive = true;
    try { process.kill(pid, 0); } catch (e) { alive = (e as NodeJS.ErrnoException).code === "EPERM"; }
    if (!alive) fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface Entry {
  id: string;
  size: number;
  owner: string;
  ownerIp: string;
  state: "creating" | "sealed" | "spilled";
  lastAccess: number;
  /** A copy pulled from another node: evicted (not spilled) under pressure, the owner's node has it. */
  secondary: boolean;
  /** Its path was handed to a reader that may map it: its file must never be reused. */
  mapped: boolean;
}

interface PooledFile { file: string; size: number }

export interface StoreStats {
  objects: number;
  used: number;
  capacity: number;
  spilledBytes: number;
  spilledObjects: number;
  restoredObjects: number;
  /** Bytes held in freed files kept for reuse (part of `capacity`, given up first when needed). */
  reusableBytes: number;
}

export class ObjectStore {
  private entries = new Map<string, Entry>();
  private used = 0;
  private spilledBytes = 0;
  private spilledTotal = 0;
  private restoredTotal = 0;
  private clock = 0;
  private pool: PooledFile[] = [];
  private pooledBytes = 0;
  private poolSeq = 0;
  readonly dir: string;
  readonly spillDir: string;
  readonly capacity: number;
  /** At most this many bytes of freed files are kept for reuse. */
  readonly recycleBytes: number;

  constructor(opts: { dir: string; spillDir: string; capacity: number; recycleBytes?: number }) {
    this.dir = opts.dir;
    this.spillDir = opts.spillDir;
    this.capacity = opts.capacity;
    this.recycleBytes = Math.min(opts.recycleBytes ?? opts.capacity / 2, opts.capacity);
    removeStaleStores(path.dirname(this.dir));
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // Marks the directory as ours; a later store removes it if this process died without cleanup.
    fs.writeFileSync(path.join(this.dir, OWNER_FILE), String(process.pid));
  }

  /** Object ids name files: only plain ids are accepted (no path separators, no dot files). */
  pathOf(id: string): string {
    if (!VALID_ID.test(id)) throw new ProtocolError(`invalid object id ${JSON.stringify(id.slice(0, 80))}`);
    return path.join(this.dir, id);
  }
  private spillPath(id: string): string { return path.join(this.spillDir, id); }

  /** Reserve room for an object and return the path its creator writes to. */
  create(id: string, size: number, owner: string, secondary = false, ownerIp = ""): string {
    const existing = this.entries.get(id);
    if (existing) {
      // Re-creation (a retried task): replace the old copy.
      this.free(id);
    }
    if (size > this.capacity) {
      throw new ObjectStoreFullError(`object ${id} of ${size} bytes is larger than the object store ` +
        `(${this.capacity} bytes); start the node with a larger --object-store-memory`);
    }
    this.makeRoom(size);
    const p = this.pathOf(id);
    this.reuseFile(p, size);
    this.entries.set(id, { id, size, owner, ownerIp, state: "creating", lastAccess: ++this.clock, secondary, mapped: false });
    this.used += size;
    return p;
  }

  /** Move the pooled file closest in size (within a factor of two) to `p`, sized to `size`. */
  private reuseFile(p: string, size: number): void {
    if (size < MIN_RECYCLE_BYTES || this.pool.length === 0) return;
    let best = -1;
    for (let i = 0; i < this.pool.length; i++) {
      const f = this.pool[i]!;
      if (f.size * 2 < size || f.size > size * 2) continue;
      if (best < 0 || Math.abs(f.size - size) < Math.abs(this.pool[best]!.size - size)) best = i;
    }
    if (best < 0) return;
    const [f] = this.pool.splice(best, 1);
    this.pooledBytes -= f!.size;
    try {
      fs.renameSync(f!.file, p);
      fs.truncateSync(p, size);
    } catch {
      fs.rmSync(f!.file, { force: true });
      fs.rmSync(p, { force: true });
    }
  }

  /** Keep a freed object's file for reuse, or delete it. */
  private release(e: Entry): void {
    const p = this.pathOf(e.id);
    if (e.state === "sealed" && !e.mapped && e.size >= MIN_RECYCLE_BYTES && this.pooledBytes + e.size <= this.recycleBytes) {
      const file = path.join(this.dir, `.free-${++this.poolSeq}`);
      try {
        fs.renameSync(p, file);
        this.pool.push({ file, size: e.size });
        this.pooledBytes += e.size;
        return;
      } catch { /* fall through: delete it */ }
    }
    fs.rmSync(p, { force: true });
  }

  /** Give up pooled files (oldest first) until `bytes` more fit. */
  private shrinkPool(bytes: number): void {
    while (this.pool.length && this.used + this.pooledBytes + bytes > this.capacity) {
      const f = this.pool.shift()!;
      this.pooledBytes -= f.size;
      fs.rmSync(f.file, { force: true });
    }
  }

  seal(id: string): void {
    const e = this.entries.get(id);
    if (e && e.state === "creating") e.state = "sealed";
  }

  /**
   * Path of a sealed object, restoring it from disk if it was spilled; undefined if unknown.
   * `forMapping` (the default) means the caller hands the path to a process that may map it, so
   * the file is never recycled; reads through a file descriptor that finish before the call
   * returns pass false.
   */
  get(id: string, forMapping = true): string | undefined {
    this.pathOf(id);
    const e = this.entries.get(id);
    if (!e || e.state === "creating") return undefined;
    e.lastAccess = ++this.clock;
    if (forMapping) e.mapped = true;
    if (e.state === "spilled") {
      this.makeRoom(e.size, id);
      fs.copyFileSync(this.spillPath(id), this.pathOf(id));
      fs.rmSync(this.spillPath(id), { force: true });
      e.state = "sealed";
      this.used += e.size;
      this.spilledBytes -= e.size;
      this.restoredTotal++;
    }
    return this.pathOf(id);
  }

  has(id: string): boolean { return this.entries.has(id); }

  free(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    if (e.state === "spilled") {
      this.spilledBytes -= e.size;
      fs.rmSync(this.spillPath(id), { force: true });
    } else {
      this.used -= e.size;
      this.release(e);
    }
  }

  /** Free every object owned by `owner` (its process died: nobody can reach them any more); returns their ids. */
  freeOwnedBy(owner: string): string[] {
    const ids: string[] = [];
    for (const e of [...this.entries.values()]) {
      if (e.owner === owner) { this.free(e.id); ids.push(e.id); }
    }
    return ids;
  }

  /** Size of a sealed object, for serving reads. */
  sizeOf(id: string): number | undefined {
    const e = this.entries.get(id);
    return e && e.state !== "creating" ? e.size : undefined;
  }

  /** Evict pulled copies, then spill least-recently-used sealed objects, until `size` more bytes fit. */
  private makeRoom(size: number, except?: string): void {
    if (this.used + this.pooledBytes + size <= this.capacity) return;
    this.shrinkPool(size);
    for (const e of [...this.entries.values()].filter((x) => x.secondary && x.state === "sealed" && x.id !== except)
      .sort((a, b) => a.lastAccess - b.lastAccess)) {
      if (this.used + size <= this.capacity) return;
      this.free(e.id);
    }
    const victims = [...this.entries.values()]
      .filter((e) => e.state === "sealed" && !e.secondary && e.id !== except)
      .sort((a, b) => a.lastAccess - b.lastAccess);
    for (const v of victims) {
      if (this.used + size <= this.capacity) break;
      fs.mkdirSync(this.spillDir, { recursive: true });
      fs.copyFileSync(this.pathOf(v.id), this.spillPath(v.id));
      fs.rmSync(this.pathOf(v.id), { force: true });
      v.state = "spilled";
      this.used -= v.size;
      this.spilledBytes += v.size;
      this.spilledTotal++;
    }
    if (this.used + size > this.capacity) {
      throw new ObjectStoreFullError(`object store full: ${this.used} of ${this.capacity} bytes are in use by objects ` +
        `being created and nothing more can be spilled; free references or raise --object-store-memory`);
    }
  }

  /** Up to `limit` stored objects, largest first (for the state API), and how many there are. */
  list(limit: number): { total: number; objects: { id: string; size: number; owner: string; ownerIp: string;
    state: string; secondary: boolean; mapped: boolean }[] } {
    const all = [...this.entries.values()].sort((a, b) => b.size - a.size).slice(0, Math.max(0, limit));
    return { total: this.entries.size, objects: all.map((e) => ({ id: e.id, size: e.size, owner: e.owner, ownerIp: e.ownerIp,
      state: e.state, secondary: e.secondary, mapped: e.mapped })) };
  }

  stats(): StoreStats {
    return { objects: this.entries.size, used: this.used, capacity: this.capacity,
      spilledBytes: this.spilledBytes, spilledObjects: this.spilledTotal, restoredObjects: this.restoredTotal,
      reusableBytes: this.pooledBytes };
  }

  /** Remove every file (node shutdown). */
  destroy(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.rmSync(this.spillDir, { recursive: true, force: true });
    this.entries.clear();
    this.used = 0;
    this.pool = [];
    this.pooledBytes = 0;
  }
}
