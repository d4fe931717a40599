/** @module object_store/shm (temporary copying fallback; replaced by the native mapper) */
import fs from "node:fs";
export interface ShmMapper { readonly zeroCopy: boolean; mapFile(path: string): ArrayBuffer; mapFileWritable(path: string, size: number): ArrayBuffer | null }
let m: ShmMapper | undefined;
export function shmMapper(): ShmMapper {
  m ??= { zeroCopy: false, mapFile: (p) => { const b = fs.readFileSync(p); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer; }, mapFileWritable: () => null };
  return m;
}
