/**
 * @module client/transfer
 * Values between a remote client and its proxy: encoded in the object-store layout (so binary
 * payloads stay out of band), sent inline when small and in chunks when large, so a value of any
 * size crosses without one giant frame.
 */
import { encodeForStore, storeHead, storeLayout, type Encoded } from "../worker/serialization.ts";

export const INLINE_LIMIT = 4 * 1024 * 1024;
export const CHUNK = 8 * 1024 * 1024;

/** An encoded value laid out as store bytes, readable in pieces without assembling it. */
export class LaidOut {
  readonly size: number;
  private parts: Array<{ off: number; bytes: Uint8Array }>;
  constructor(enc: Encoded) {
    const { size, offsets, headerLen } = storeLayout(enc);
    this.size = size;
    this.parts = [{ off: 0, bytes: storeHead(enc, offsets, headerLen) },
      ...enc.buffers.map((b, i) => ({ off: offsets[i]!, bytes: b }))];
  }
  static of(value: unknown): LaidOut { return new LaidOut(encodeForStore(value)); }

  /** Bytes [offset, offset + length) of the layout (zero padding between parts). */
  read(offset: number, length: number): Buffer {
    const end = Math.min(this.size, offset + length);
    const out = Buffer.alloc(Math.max(0, end - offset));
    for (const p of this.parts) {
      const a = Math.max(offset, p.off);
      const b = Math.min(end, p.off + p.bytes.byteLength);
      if (a < b) out.set(p.bytes.subarray(a - p.off, b - p.off), a - offset);
    }
    return out;
  }

  all(): Buffer { return this.read(0, this.size); }
}

/** An exact ArrayBuffer holding a Uint8Array's bytes (decodeStore needs offset 0). */
export function ownBuffer(u: Uint8Array): ArrayBuffer {
  return Uint8Array.prototype.slice.call(u).buffer as ArrayBuffer;
}
