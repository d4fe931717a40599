/**
 * @module protocol/frame
 * Length-prefixed framing: every frame is a 4-byte little-endian length followed by that many
 * bytes of msgpack. The decoder accumulates chunks without copying more than needed and rejects
 * frames over the current limit before buffering them, so a hostile peer cannot make a daemon
 * allocate unbounded memory.
 */
import { ProtocolError } from "../common/errors.ts";

export const HEADER_BYTES = 4;

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1;
  maxFrameBytes: number;
  constructor(maxFrameBytes: number) { this.maxFrameBytes = maxFrameBytes; }

  /** Feed bytes; returns the complete frames they finish. Throws ProtocolError on a bad length. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const err = this.feed(chunk, (f) => { out.push(f); return true; });
    if (err) throw err;
    return out;
  }

  /**
   * Feed bytes and hand each frame they complete to `onFrame`, which returns false to stop (its
   * connection closed). Returns the ProtocolError of a bad length instead of throwing it, so a
   * caller can tell the peer's fault from an exception thrown by its own `onFrame`. Frames are
   * views into the chunks (no copy unless a frame spans chunks).
   */
  feed(chunk: Buffer, onFrame: (frame: Buffer) => boolean): ProtocolError | undefined {
    let off = 0;
    if (this.buffered === 0 && this.need < 0) {
      // Nothing held over (the usual case): frames are views into the chunk, nothing is queued.
      while (chunk.length - off >= HEADER_BYTES) {
        const len = chunk.readUInt32LE(off);
        if (len > this.maxFrameBytes) return this.tooLarge(len);
        if (chunk.length - off - HEADER_BYTES < len) break;
        const frame = chunk.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len);
        off += HEADER_BYTES + len;
        if (!onFrame(frame)) return undefined;
      }
      if (off === chunk.length) return undefined;
    }
    return this.feedSlow(off ? chunk.subarray(off) : chunk, onFrame);
  }

  private tooLarge(len: number): ProtocolError {
    return new ProtocolError(
      `frame of ${len} bytes exceeds the limit of ${this.maxFrameBytes} bytes ` +
      `(raise STINGRAY_MAX_FRAME_BYTES if this is legitimate)`);
  }

  /** Frames across chunks: hold bytes until a frame is complete. */
  private feedSlow(chunk: Buffer, onFrame: (frame: Buffer) => boolean): ProtocolError | undefined {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < HEADER_BYTES) break;
        const head = this.take(HEADER_BYTES);
        const len = head.readUInt32LE(0);
        if (len > this.maxFrameBytes) return this.tooLarge(len);
        this.need = len;
      }
      if (this.buffered < this.need) break;
      const frame = this.take(this.need);
      this.need = -1;
      if (!onFrame(frame)) break;
    }
    return undefined;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) {
      const res = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return res;
    }
    const res = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      c.copy(res, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return res;
  }
}

export function frameHeader(len: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h.writeUInt32LE(len, 0);
  return h;
}
