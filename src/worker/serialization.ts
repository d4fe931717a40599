/**
 * @module worker/serialization
 * How user values become bytes. msgpack (msgpackr) with extensions for what Stingray needs:
 *  - ObjectRef (nested refs stay refs; the hooks let the owner's reference counter see them),
 *  - Map (kept as Map, not turned into an object), Set, Date, BigInt, Errors, RegExp (msgpackr),
 *  - typed arrays, Buffers, ArrayBuffers and DataViews: inline in small values; in store objects,
 *    binary payloads of `inline_binary_threshold` bytes or more go *out of band*: they are written
 *    after the msgpack body at 64-byte aligned offsets, and on read they become views onto the
 *    mapped shared memory, so a 400 MB Float64Array is never copied on its way to a reader.
 * Functions and symbols are rejected with a SerializationError naming the problem.
 *
 * Store object layout: "SRO1" | u32 bodyLen | u32 nBuffers | (u64 offset, u64 length) * n |
 *                      body (msgpack) | padding | buffer 0 | padding | buffer 1 ...
 */
import { createRequire } from "node:module";
import type * as Msgpackr from "msgpackr";
import { ObjectRef } from "./object_ref.ts";
import { SerializationError } from "../common/errors.ts";
import type { Address } from "../protocol/messages.ts";
import { configOnce } from "../common/config.ts";

// msgpackr keeps extensions in a module-wide registry. User-value extensions (typed arrays,
// Maps, refs) must not leak into the wire protocol's encoder, so this module loads its own
// instance of msgpackr (the CommonJS build) and keeps the protocol on the ESM one.
const { Packr, addExtension: addExt } = createRequire(import.meta.url)("msgpackr") as typeof Msgpackr;
/** Register an extension for user values (e.g. actor handles). */
export const addExtension: typeof Msgpackr.addExtension = addExt;

export interface RefHooks {
  /** A ref is being serialized (it escapes this process). */
  onSerialize(ref: ObjectRef): void;
  /** Build a ref found while deserializing (a borrowed ref). */
  make(id: string, owner: Address): ObjectRef;
}

const defaultHooks: RefHooks = {
  onSerialize() {},
  make: (id, owner) => new ObjectRef(id, owner),
};

let hooks: RefHooks = defaultHooks;
export function setRefHooks(h: RefHooks): void { hooks = h; }

// Encoding context: when `oob` is set, large binaries are collected instead of inlined.
let oob: Uint8Array[] | null = null;
let oobThreshold = Infinity;
let readBuffers: Uint8Array[] | null = null;
const containedRefs: ObjectRef[] = [];

const BINARY_KINDS = [
  Uint8Array, Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
] as const;
type BinaryCtor = (typeof BINARY_KINDS)[number];
const BUFFER_KIND = BINARY_KINDS.length;      // Node Buffer
const ARRAYBUFFER_KIND = BINARY_KINDS.length + 1;

function bytesOf(v: ArrayBufferView | ArrayBuffer): Uint8Array {
  return v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** Extension payload: [kind u8][0 = inline bytes follow | 1 = u32 out-of-band index]. */
function packBinary(kind: number, v: ArrayBufferView | ArrayBuffer): Buffer {
  const bytes = bytesOf(v);
  if (oob !== null && bytes.byteLength >= oobThreshold) {
    oob.push(bytes);
    const b = Buffer.allocUnsafe(6);
    b[0] = kind; b[1] = 1; b.writeUInt32LE(oob.length - 1, 2);
    return b;
  }
  const b = Buffer.allocUnsafe(2 + bytes.byteLength);
  b[0] = kind; b[1] = 0;
  b.set(bytes, 2);
  return b;
}

function viewOf(kind: number, bytes: Uint8Array): unknown {
  if (kind === BUFFER_KIND) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (kind === ARRAYBUFFER_KIND) {
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      ? bytes.buffer : Uint8Array.prototype.slice.call(bytes).buffer;
  }
  const C = BINARY_KINDS[kind] as BinaryCtor | undefined;
  if (!C) throw new SerializationError(`unknown binary kind ${kind}`);
  if (C === DataView) return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const el = (C as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  let b = bytes;
  if (b.byteOffset % el !== 0) b = Uint8Array.prototype.slice.call(b); // inline bin data may be unaligned: copy once
  return new (C as unknown as new (buf: ArrayBufferLike, off: number, len: number) => unknown)(
    b.buffer, b.byteOffset, b.byteLength / el);
}

function unpackBinary(b: Uint8Array): unknown {
  if (b.length < 2) throw new SerializationError("malformed binary value");
  const kind = b[0]!;
  if (b[1] === 1) {
    const idx = Buffer.from(b.buffer, b.byteOffset, b.byteLength).readUInt32LE(2);
    const buf = readBuffers?.[idx];
    if (!buf) throw new SerializationError("out-of-band buffer missing");
    return viewOf(kind, buf);
  }
  // In-band bytes are copied: a view would alias the stored encoding (a caller changing what one
  // get() returned would change what the next get() returns) and would keep alive whatever the
  // encoding is a view of (a 64 KiB socket read slab, a msgpack target).
  const own = Uint8Array.prototype.slice.call(b, 2);
  return viewOf(kind, own);
}

let registered = false;
function register(): void {
  if (registered) return;
  registered = true;
  addExtension({
    Class: ObjectRef, type: 0x30,
    write(r: ObjectRef) { hooks.onSerialize(r); containedRefs.push(r); return [r.id, r.owner]; },
    read(a: [string, Address]) { return hooks.make(a[0], a[1]); },
  });
  BINARY_KINDS.forEach((C, kind) => {
    addExtension({ Class: C as unknown as new () => unknown, type: 0x31,
      pack: (v: ArrayBufferView) => packBinary(kind, v), unpack: unpackBinary });
  });
  addExtension({ Class: Buffer as unknown as new () => unknown, type: 0x31,
    pack: (v: Buffer) => packBinary(BUFFER_KIND, v), unpack: unpackBinary });
  addExtension({ Class: ArrayBuffer, type: 0x31,
    pack: (v: ArrayBuffer) => packBinary(ARRAYBUFFER_KIND, v), unpack: unpackBinary });
  addExtension({ Class: Map, type: 0x32,
    write: (m: Map<unknown, unknown>) => [...m], read: (e: [unknown, unknown][]) => new Map(e) });
  const fnCtors = [Function, (async () => {}).constructor, function* () {}.constructor,
    async function* () {}.constructor];
  for (const F of fnCtors) {
    addExtension({ Class: F as new () => unknown, type: 0x33,
      write(f: { name?: string }) {
        throw new SerializationError(`cannot serialize function ${f.name || "(anonymous)"}: ` +
          "functions do not travel as values; make it a remote function or pass its inputs instead");
      },
      read: () => undefined });
  }
}

const packr = new Packr({ moreTypes: true, useRecords: false, structuredClone: false });

// msgpackr writes any value whose `constructor === Map` as a msgpack map, which decodes as a plain
// object. For the duration of one synchronous pack we hide Map's constructor so Maps reach our
// extension (matched with instanceof) and come back as Maps.
const mapCtorDesc = Object.getOwnPropertyDescriptor(Map.prototype, "constructor")!;
class HiddenMapCtor {}

/** Bigger than this, msgpackr's output buffer is swapped for a fresh small one after a pack. */
const TARGET_KEEP_BYTES = 64 * 1024;
const TARGET_BYTES = 8192;

/**
 * msgpackr packs into one output buffer, returns views into it, and grows it to 4× the largest
 * value packed so far (keeping that size for every later buffer). Left alone, one 10 MB value
 * would make every later small value a view into a 40 MB buffer, kept alive as long as the
 * value is. After a large pack the next packs get a small buffer again.
 */
function packed(body: Buffer): Buffer {
  if (body.buffer.byteLength > TARGET_KEEP_BYTES) packr.useBuffer(Buffer.allocUnsafeSlow(TARGET_BYTES));
  return body;
}

/** Copies of at most this many bytes share small chunks (see `detached`). */
const SMALL_COPY_BYTES = 512;
const COPY_CHUNK_BYTES = 8192;
let copyChunk = Buffer.allocUnsafeSlow(COPY_CHUNK_BYTES);
let copyUsed = 0;

/**
 * `b`, or a copy of it when it is less than half of the buffer it is a view of (a socket read
 * slab, a msgpack output buffer, Node's 64 KiB Buffer pool), which holding it would keep alive.
 * For bytes kept for long, such as a value in the owner's memory store. Small copies are views
 * into 8 KiB chunks: a buffer of its own would cost ~0.7 µs more per decode (V8 moves a small
 * typed array off its heap when msgpackr asks for its ArrayBuffer), and what one kept value can
 * hold alive is at most one chunk.
 */
export function detached(b: Uint8Array): Uint8Array {
  const n = b.byteLength;
  if (n * 2 >= b.buffer.byteLength) return b;
  if (n > SMALL_COPY_BYTES) { const own = Buffer.allocUnsafeSlow(n); own.set(b); return own; }
  if (COPY_CHUNK_BYTES - copyUsed < n) { copyChunk = Buffer.allocUnsafeSlow(COPY_CHUNK_BYTES); copyUsed = 0; }
  const c = copyChunk.subarray(copyUsed, copyUsed + n);
  c.set(b);
  copyUsed = (copyUsed + n + 7) & ~7;
  return c;
}

function pack(v: unknown): Buffer {
  register();
  // A primitive holds no Map: skip redefining Map.prototype.constructor (a prototype change
  // that costs more than packing a number, and resets the inline caches of code using Maps).
  if (typeof v !== "object" || v === null) {
    try {
      return packed(packr.pack(v));
    } catch (e) {
      if (e instanceof SerializationError) throw e;
      throw new SerializationError(`cannot serialize value: ${(e as Error).message}`);
    }
  }
  Object.defineProperty(Map.prototype, "constructor", { ...mapCtorDesc, value: HiddenMapCtor });
  try {
    return packed(packr.pack(v));
  } catch (e) {
    if (e instanceof SerializationError) throw e;
    throw new SerializationError(`cannot serialize value: ${(e as Error).message}; ` +
      "values may hold primitives, arrays, plain objects, Map, Set, Date, BigInt, Error, " +
      "typed arrays, Buffers and ObjectRefs");
  } finally {
    Object.defineProperty(Map.prototype, "constructor", mapCtorDesc);
  }
}

export interface Encoded {
  /** msgpack body. */
  body: Buffer;
  /** Out-of-band binary payloads (only in store mode). */
  buffers: Uint8Array[];
  /** Refs contained in the value. */
  refs: ObjectRef[];
}

/** Encode for inline transport (everything in one msgpack buffer). */
export function encodeInline(v: unknown): Encoded {
  oob = null;
  containedRefs.length = 0;
  const body = pack(v);
  return { body, buffers: [], refs: containedRefs.splice(0) };
}

const NO_BUFFERS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];
const NO_REFS: ObjectRef[] = Object.freeze([]) as unknown as ObjectRef[];

/** Encode with large binaries out of band (for the object store). */
export function encodeForStore(v: unknown): Encoded {
  // A primitive (most task results) has no binaries or refs: no lists to collect them in.
  if (typeof v !== "object" || v === null) return { body: pack(v), buffers: NO_BUFFERS, refs: NO_REFS };
  oob = [];
  oobThreshold = configOnce("inline_binary_threshold");
  containedRefs.length = 0;
  try {
    const body = pack(v);
    return { body, buffers: oob, refs: containedRefs.splice(0) };
  } finally {
    oob = null;
  }
}

export function decodeInline(bytes: Uint8Array): unknown {
  register();
  readBuffers = null;
  return packr.unpack(bytes);
}

const MAGIC = 0x314f5253; // "SRO1" little-endian
const ALIGN = 64;
const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/**
 * Where an out-of-band buffer goes in the object file: at the same offset within a 4 KiB page
 * as the bytes it is copied from. Copying to a destination a few bytes (16–256) ahead of its
 * source modulo 4096 runs into the CPU's 4K-aliasing stall: 400 MB took 110–125 ms instead of
 * 38–43 ms here, which is what capped large puts at ~3.5 GB/s when buffers were placed at the
 * next 64-byte boundary. Large JS buffers start on a page (or 16 bytes into one, glibc's mmap
 * header), so matching the view's offset within its page puts the destination level with or
 * just behind the source. The padding is under a page per buffer of at least 64 KiB.
 */
const PAGE = 4096;
function placeBuffer(off: number, b: Uint8Array): number {
  return Math.ceil(off / PAGE) * PAGE + (b.byteOffset % PAGE);
}

/** Total size and layout of a store object. */
export function storeLayout(e: Encoded): { size: number; offsets: number[]; headerLen: number } {
  const headerLen = 12 + 16 * e.buffers.length;
  let off = align(headerLen + e.body.length);
  const offsets: number[] = [];
  for (const b of e.buffers) {
    off = placeBuffer(off, b);
    offsets.push(off);
    off = align(off + b.byteLength);
  }
  return { size: e.buffers.length ? off : headerLen + e.body.length, offsets, headerLen };
}

/** The header + body bytes of a store object (buffers are written separately at `offsets`). */
export function storeHead(e: Encoded, offsets: number[], headerLen: number): Buffer {
  const h = Buffer.alloc(headerLen + e.body.length);
  h.writeUInt32LE(MAGIC, 0);
  h.writeUInt32LE(e.body.length, 4);
  h.writeUInt32LE(e.buffers.length, 8);
  e.buffers.forEach((b, i) => {
    h.writeBigUInt64LE(BigInt(offsets[i]!), 12 + 16 * i);
    h.writeBigUInt64LE(BigInt(b.byteLength), 20 + 16 * i);
  });
  e.body.copy(h, headerLen);
  return h;
}

/** Decode a store object from its (mapped) bytes; binaries become views onto `ab`. */
export function decodeStore(ab: ArrayBuffer): unknown {
  register();
  const view = Buffer.from(ab);
  if (view.length < 12 || view.readUInt32LE(0) !== MAGIC) throw new SerializationError("not a Stingray object (bad magic)");
  const bodyLen = view.readUInt32LE(4);
  const n = view.readUInt32LE(8);
  const headerLen = 12 + 16 * n;
  if (headerLen + bodyLen > view.length) throw new SerializationError("truncated object");
  const bufs: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const off = Number(view.readBigUInt64LE(12 + 16 * i));
    const len = Number(view.readBigUInt64LE(20 + 16 * i));
    if (off + len > view.length) throw new SerializationError("truncated object buffer");
    bufs.push(new Uint8Array(ab, off, len));
  }
  readBuffers = bufs;
  try {
    return packr.unpack(view.subarray(headerLen, headerLen + bodyLen));
  } finally {
    readBuffers = null;
  }
}
