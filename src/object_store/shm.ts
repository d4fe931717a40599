/**
 * @module object_store/shm
 * Maps object-store files into this process. With the native addon (native/shm.c, built at
 * install time) a mapping is zero-copy: the returned ArrayBuffer *is* the shared memory, so a
 * 400 MB Float64Array put by another process is readable at once, and pages are only touched
 * when read. Without a C compiler at install time the fallback reads the file (one copy) and
 * reports `zeroCopy: false`; everything else works the same.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import { config } from "../common/config.ts";

export interface ShmMapper {
  readonly zeroCopy: boolean;
  /** Map a whole file read-only. Zero-copy when native, else reads it into a fresh ArrayBuffer. */
  mapFile(path: string): ArrayBuffer;
  /** Create (or truncate) a file of `size` bytes and map it writable; the fallback returns null. */
  mapFileWritable(path: string, size: number): ArrayBuffer | null;
  /**
   * Create (or reuse) the file at `path` with `size` bytes and copy each part in at its offset.
   * Native: pages allocated in bulk and the mapping pre-faulted, so it runs near memcpy speed;
   * the fallback writes with pwrite.
   */
  writeFile(path: string, size: number, parts: [offset: number, data: ArrayBufferView][]): void;
  /** Bytes of writable mappings kept for rewriting recycled files (0 without the addon). */
  cachedWriteBytes(): number;
}

interface Native {
  mapFile(path: string): ArrayBuffer;
  mapFileWritable(path: string, size: number, populate?: boolean): ArrayBuffer;
  writeFile(path: string, size: number, parts: [number, ArrayBufferView][]): void;
  unmap(ab: ArrayBuffer): void;
}

/**
 * Writable mappings of large object files this process wrote, kept (up to a byte budget) so
 * that writing into a recycled file again (the store reuses freed files, see store.ts) is a
 * plain memcpy: no page-table setup, no unmapping. Keyed by inode, which survives the store's
 * renames; used only when the file at the path still has exactly the mapped size. A cached
 * mapping is only ever written when the store hands this process that file for a new object,
 * at which point no one else uses it.
 *
 * A mapping keeps its file's pages even after the store deletes the file (an object a reader
 * mapped is never recycled; the pool gives files up under pressure), and the store no longer
 * counts them. So each cached mapping keeps a descriptor of its file, and mappings whose file
 * is gone (no links left) are dropped before every write and every
 * `object_write_map_check_ms` while any are cached.
 */
interface CachedMap { ab: ArrayBuffer; fd: number }

class WriteMapCache {
  private maps = new Map<string, CachedMap>();
  private bytes = 0;
  private native: Native;
  private timer: NodeJS.Timeout | undefined;
  constructor(native: Native) { this.native = native; }

  /** Bytes of mappings held now (tests, diagnostics). */
  get cachedBytes(): number { return this.bytes; }

  write(p: string, size: number, parts: [number, ArrayBufferView][]): void {
    checkParts(size, parts);
    this.dropDeleted();
    const budget = config("object_write_map_cache_bytes");
    let key: string | undefined;
    let ab: ArrayBuffer | undefined;
    if (size <= budget) {
      const st = fs.statSync(p, { throwIfNoEntry: false });
      if (st) {
        key = `${st.dev}:${st.ino}`;
        ab = this.maps.get(key)?.ab;
        if (ab && (ab.byteLength !== size || st.size !== size)) { this.drop(key); ab = undefined; }
      }
    }
    if (!ab) {
      if (size > budget) { this.native.writeFile(p, size, parts); return; }
      ab = this.native.mapFileWritable(p, size, true);
      let fd: number;
      try { fd = fs.openSync(p, fs.constants.O_RDONLY); } catch (e) { this.native.unmap(ab); throw e; }
      const st = fs.fstatSync(fd);
      key = `${st.dev}:${st.ino}`;
      this.maps.set(key, { ab, fd });
      this.bytes += size;
      for (const [k, m] of this.maps) {
        if (this.bytes <= budget || k === key) break;
        this.drop(k, m);
      }
      this.armCheck();
    } else {
      const m = this.maps.get(key!)!;
      this.maps.delete(key!); // most recently used goes last
      this.maps.set(key!, m);
    }
    const dst = new Uint8Array(ab);
    for (const [offset, data] of parts) dst.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
  }

  /** Unmap every cached mapping whose file has been deleted. */
  dropDeleted(): void {
    for (const [k, m] of this.maps) {
      let gone: boolean;
      try { gone = fs.fstatSync(m.fd).nlink === 0; } catch { gone = true; }
      if (gone) this.drop(k, m);
    }
  }

  private armCheck(): void {
    if (this.timer || this.maps.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dropDeleted();
      this.armCheck();
    }, config("object_write_map_check_ms"));
    this.timer.unref();
  }

  private drop(key: string, m = this.maps.get(key)): void {
    if (!m) return;
    this.maps.delete(key);
    this.bytes -= m.ab.byteLength;
    this.native.unmap(m.ab);
    try { fs.closeSync(m.fd); } catch { /* already closed */ }
  }
}

function checkParts(size: number, parts: [number, ArrayBufferView][]): void {
  for (const [offset, data] of parts) {
    if (!(offset >= 0) || offset + data.byteLength > size) {
      throw new RangeError(`a part of ${data.byteLength} bytes at offset ${offset} does not fit in an object of ${size} bytes`);
    }
  }
}

function writeWithSyscalls(p: string, size: number, parts: [number, ArrayBufferView][]): void {
  checkParts(size, parts);
  const fd = fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    fs.ftruncateSync(fd, size);
    for (const [offset, data] of parts) {
      let off = 0;
      while (off < data.byteLength) off += fs.writeSync(fd, data as NodeJS.ArrayBufferView, off, data.byteLength - off, offset + off);
    }
  } finally {
    fs.closeSync(fd);
  }
}

let mapper: ShmMapper | undefined;

/** Below this size a mapping costs more than it saves: plain pwrite is used. */
const BULK_WRITE_BYTES = 1 << 20;

function loadNative(): Native | undefined {
  if (process.env.STINGRAY_DISABLE_SHM_ADDON === "1") return undefined;
  try {
    return createRequire(import.meta.url)("./native/build/shm.node") as Native;
  } catch {
    return undefined;
  }
}

export function shmMapper(): ShmMapper {
  if (mapper) return mapper;
  const native = loadNative();
  const cache = native && new WriteMapCache(native);
  mapper = native && cache
    ? { zeroCopy: true, mapFile: (p) => native.mapFile(p), mapFileWritable: (p, n) => native.mapFileWritable(p, n),
      writeFile: (p, n, parts) => n >= BULK_WRITE_BYTES ? cache.write(p, n, parts) : writeWithSyscalls(p, n, parts),
      cachedWriteBytes: () => cache.cachedBytes }
    : {
      zeroCopy: false,
      mapFile: (p) => {
        const b = fs.readFileSync(p);
        return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength
          ? (b.buffer as ArrayBuffer) : (b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
      },
      mapFileWritable: () => null,
      writeFile: writeWithSyscalls,
      cachedWriteBytes: () => 0,
    };
  return mapper;
}
