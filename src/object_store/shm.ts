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

export interface ShmMapper {
  readonly zeroCopy: boolean;
  /** Map a whole file read-only. Zero-copy when native, else reads it into a fresh ArrayBuffer. */
  mapFile(path: string): ArrayBuffer;
  /** Create (or truncate) a file of `size` bytes and map it writable; the fallback returns null. */
  mapFileWritable(path: string, size: number): ArrayBuffer | null;
}

interface Native {
  mapFile(path: string): ArrayBuffer;
  mapFileWritable(path: string, size: number): ArrayBuffer;
}

let mapper: ShmMapper | undefined;

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
  mapper = native
    ? { zeroCopy: true, mapFile: (p) => native.mapFile(p), mapFileWritable: (p, n) => native.mapFileWritable(p, n) }
    : {
      zeroCopy: false,
      mapFile: (p) => {
        const b = fs.readFileSync(p);
        return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength
          ? (b.buffer as ArrayBuffer) : (b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
      },
      mapFileWritable: () => null,
    };
  return mapper;
}
