/**
 * @module protocol/connection
 * A framed, authenticated, pipelined RPC connection over TCP (optionally TLS).
 *
 * Wire format of one frame body (msgpack array): [kind, id, method, payload], the method as its
 * number (messages.ts, `methodCode`).
 *   kind 0 request, 1 ok reply, 2 error reply, 3 notification, 4 hello, 5 welcome, 6 reject.
 * The first frame a client sends is `hello` with the protocol version and the cluster token; the
 * server answers `welcome` or `reject` (then closes). Until then frames are limited to
 * `max_unauthenticated_frame_bytes`. Outgoing frames are queued and written with one syscall per
 * tick, so bursts (thousands of task submissions) batch naturally while a lone request still goes
 * out within the same event-loop turn. Every inbound payload is validated against the method's
 * schema; a malformed message is answered with a ProtocolError and never reaches a handler, and
 * undecodable bytes close only that connection.
 */
import net from "node:net";
import tls from "node:tls";
import { EventEmitter } from "node:events";
import { timingSafeEqual, createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Packr, RESERVE_START_SPACE } from "msgpackr";
import { FrameDecoder, HEADER_BYTES, frameHeader } from "./frame.ts";
import { PendingTable } from "./pending.ts";
import { METHODS, METHOD_NAMES, PROTOCOL_VERSION, methodCode, type MethodName, type Req, type Res } from "./messages.ts";
import { config } from "../common/config.ts";
import {
  AuthError, ConnectionError, ProtocolError, VersionMismatchError, fromWire, toWire,
  type WireError,
} from "../common/errors.ts";

const K_REQ = 0, K_OK = 1, K_ERR = 2, K_NOTE = 3, K_HELLO = 4, K_WELCOME = 5, K_REJECT = 6;

/** Handshake frames (hello, welcome, reject): plain msgpack that any version can read. */
const plainPackr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: "number" });
/**
 * Everything after the handshake uses msgpack records in sequential mode: the first message of a
 * shape carries its key list, later ones refer to it, so repeated shapes (task specs, replies)
 * are smaller and decode several times faster. This makes the encoder and decoder stateful: one
 * pair per connection, every packed frame must be sent, in order (a failed encode closes the
 * connection rather than desynchronise it).
 */
function recordPackr(): Packr {
  return new Packr({ useRecords: true, sequential: true, mapsAsObjects: true, int64AsType: "number" });
}

export interface TlsOptions { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer }
export interface PeerInfo { role: string; id: string; [k: string]: unknown }

export type RequestHandler = (method: MethodName, payload: unknown, conn: Connection) => unknown;

/** A typed handler per method a service serves. */
export type Handler<M extends MethodName> = (req: Req<M>, conn: Connection) => Res<M> | Promise<Res<M>>;
export type Handlers = { [M in MethodName]?: Handler<M> };

/** A request handler that dispatches to `handlers`; other methods get a ProtocolError naming `service`. */
/** Latency bucket bounds (ms) of RpcStats, as Ray's gRPC server histograms. */
export const RPC_LATENCY_BUCKETS_MS = [0.1, 0.5, 1, 5, 10, 50, 100, 500, 1000, 5000];

/** Per-method request counts, errors and handling time of one server (exported by metrics). */
export class RpcStats {
  readonly methods = new Map<string, { calls: number; errors: number; buckets: number[]; sumMs: number }>();
  record(method: string, ms: number, failed: boolean): void {
    let m = this.methods.get(method);
    if (!m) this.methods.set(method, (m = { calls: 0, errors: 0, buckets: new Array<number>(RPC_LATENCY_BUCKETS_MS.length + 1).fill(0), sumMs: 0 }));
    m.calls++;
    if (failed) m.errors++;
    m.sumMs += ms;
    let i = 0;
    while (i < RPC_LATENCY_BUCKETS_MS.length && ms > RPC_LATENCY_BUCKETS_MS[i]!) i++;
    m.buckets[i]!++;
  }
}

export function serve(handlers: Handlers, service: string, stats?: RpcStats): RequestHandler {
  const table = handlers as Record<string, ((p: unknown, c: Connection) => unknown) | undefined>;
  if (!stats) {
    return (method, payload, conn) => {
      const h = table[method];
      if (!h) throw new ProtocolError(`${service} does not serve ${method}`);
      return h(payload, conn);
    };
  }
  return (method, payload, conn) => {
    const h = table[method];
    if (!h) throw new ProtocolError(`${service} does not serve ${method}`);
    const t0 = performance.now();
    let r: unknown;
    try {
      r = h(payload, conn);
    } catch (e) {
      stats.record(method, performance.now() - t0, true);
      throw e;
    }
    if (r instanceof Promise) {
      return r.then((v: unknown) => { stats.record(method, performance.now() - t0, false); return v; },
        (e: unknown) => { stats.record(method, performance.now() - t0, true); throw e; });
    }
    stats.record(method, performance.now() - t0, false);
    return r;
  };
}
export type NotifyHandler = (method: MethodName, payload: unknown, conn: Connection) => void;

/** A request awaiting its reply: a callback (the hot path) or a promise's resolve/reject. */
interface Pending { done(e: Error | undefined, v: unknown, ctx: unknown): void; method: number; ctx: unknown }
/** A reply callback; `ctx` is what the caller passed to `call` (so one callback can serve many calls). */
export type ReplyCallback<M extends MethodName, C = undefined> = (err: Error | undefined, reply: Res<M> | undefined, ctx: C) => void;

/** The schemas of each method, by wire number (an array index instead of a property lookup). */
const SPECS = METHOD_NAMES.map((n) => METHODS[n]);

export class Connection extends EventEmitter {
  peer: PeerInfo = { role: "unknown", id: "" };
  closed = false;
  private nextId = 1;
  private pending = new PendingTable<Pending>();
  /** Frames waiting for the next write: the first, then any more (most writes carry one frame). */
  private outHead: Buffer | undefined;
  private outMore: Buffer[] | undefined;
  private outBytes = 0;
  private flushBytes = config("rpc_flush_bytes");
  private flushScheduled = false;
  private decoder: FrameDecoder;
  private encodeState = recordPackr();
  private decodeState = recordPackr();
  onRequest: RequestHandler = () => { throw new ProtocolError("this endpoint serves no requests"); };
  onNotify: NotifyHandler = () => {};

  readonly socket: net.Socket;
  constructor(socket: net.Socket, authenticated: boolean) {
    super();
    this.setMaxListeners(0); // one "close" listener per pending lease or subscription is normal
    this.socket = socket;
    this.decoder = new FrameDecoder(authenticated
      ? config("max_frame_bytes") : config("max_unauthenticated_frame_bytes"));
    socket.setNoDelay(true);
    socket.once("connect", () => { void this.remote; });
    void this.remote;
    socket.on("error", (e) => this.emit("socketError", e));
    socket.on("close", () => this.teardown(new ConnectionError(
      `connection to ${this.peer.role} ${this.remote} closed`)));
  }

  private remoteAddr: string | undefined;
  /** Name the peer (sockets without an IP address, such as local ones). */
  setRemote(name: string): void { this.remoteAddr = name; }
  /** The peer's address (remembered: a closed socket no longer knows it). */
  get remote(): string {
    if (!this.remoteAddr && this.socket.remoteAddress) this.remoteAddr = `${this.socket.remoteAddress}:${this.socket.remotePort}`;
    return this.remoteAddr ?? "an unconnected peer";
  }

  private onFrame: (msg: unknown[]) => void = () => {};

  /**
   * Internal: begin reading frames and dispatching them to `onFrame`. A client socket that
   * reads into a `ReadSlab` (see connectOnce) already delivers its bytes to `receive`; others use 'data'.
   */
  startReading(onFrame: (msg: unknown[]) => void): void {
    this.onFrame = onFrame;
    if (!this.userBuffer) this.socket.on("data", (chunk: Buffer) => this.receive(chunk));
  }
  /** Set when the socket reads into this connection's `ReadSlab`. */
  userBuffer = false;

  /** Internal: bytes that arrived on the socket. */
  receive(chunk: Buffer): void {
    // What the handlers answer at once goes out in one write right after this chunk, without
    // waiting for the end of the tick.
    this.receiving = true;
    try {
      const err = this.decoder.feed(chunk, this.onFrameBytes);
      if (err) this.fail(err);
    } finally {
      this.receiving = false;
      if (this.outHead) this.flush();
    }
  }
  private receiving = false;

  /** One frame's bytes: decode, check the envelope, dispatch. False once the connection closed. */
  private onFrameBytes = (f: Buffer): boolean => {
    let msg: unknown;
    try {
      msg = this.decodeState.unpack(f);
    } catch {
      this.fail(new ProtocolError("undecodable frame (not msgpack)"));
      return false;
    }
    if (!Array.isArray(msg) || msg.length < 3 || typeof msg[0] !== "number") {
      this.fail(new ProtocolError("frame is not a [kind, id, method, payload] message"));
      return false;
    }
    this.onFrame(msg);
    return !this.closed;
  };

  setMaxFrame(bytes: number): void { this.decoder.maxFrameBytes = bytes; }

  /** Send a request and await its reply. */
  request<M extends MethodName>(method: M, payload: Req<M>): Promise<Res<M>> {
    if (this.closed) return Promise.reject(new ConnectionError(`connection to ${this.peer.role} ${this.remote} is closed`));
    const id = this.nextId++;
    return new Promise<Res<M>>((resolve, reject) => {
      const code = methodCode(method);
      this.pending.set(id, { done: (e, v) => (e ? reject(e) : resolve(v as Res<M>)), method: code, ctx: undefined });
      this.write([K_REQ, id, code, payload]);
    });
  }

  /** `request` with a callback instead of a promise (one allocation less per call, for per-task traffic). */
  call<M extends MethodName, C = undefined>(method: M, payload: Req<M>, cb: ReplyCallback<M, C>, ctx?: C): void {
    if (this.closed) { cb(new ConnectionError(`connection to ${this.peer.role} ${this.remote} is closed`), undefined, ctx as C); return; }
    const id = this.nextId++;
    const code = methodCode(method);
    this.pending.set(id, { done: cb as Pending["done"], method: code, ctx });
    this.write([K_REQ, id, code, payload]);
  }

  /** Send a one-way message. */
  notify<M extends MethodName>(method: M, payload: Req<M>): void {
    if (!this.closed) this.write([K_NOTE, 0, methodCode(method), payload]);
  }

  /** Internal: write a raw message array. */
  write(msg: unknown[]): void {
    let frame: Buffer;
    const kind = msg[0];
    if (kind === K_HELLO || kind === K_WELCOME || kind === K_REJECT) {
      const body = plainPackr.pack(msg);
      frame = Buffer.concat([frameHeader(body.length), body]);
    } else {
      try {
        // The encoder leaves room for the length header in front: one buffer per frame, no copy.
        frame = this.encodeState.pack(msg, RESERVE_START_SPACE | HEADER_BYTES);
      } catch (e) {
        const what = kind === K_REQ || kind === K_NOTE ? METHOD_NAMES[msg[2] as number] ?? "a request" : "a reply";
        const err = new ProtocolError(`cannot encode ${what}: ${(e as Error).message}`);
        this.fail(err);
        throw err;
      }
      frame.writeUInt32LE(frame.length - HEADER_BYTES, 0);
    }
    if (!this.outHead) this.outHead = frame;
    else (this.outMore ??= []).push(frame);
    this.outBytes += frame.length;
    // A burst is sent in slices rather than all at the end of the tick, so the peer starts on
    // the first messages while this process is still producing the rest (a pipeline).
    if (this.outBytes >= this.flushBytes) { this.flush(); return; }
    if (!this.flushScheduled && !this.receiving) {
      this.flushScheduled = true;
      process.nextTick(this.flush);
    }
  }

  private flush = (): void => {
    this.flushScheduled = false;
    const head = this.outHead;
    if (!head || this.closed) return;
    const more = this.outMore;
    this.outHead = undefined;
    this.outMore = undefined;
    this.outBytes = 0;
    this.socket.write(more ? Buffer.concat([head, ...more]) : head);
  };

  /** Dispatch an authenticated frame. */
  dispatch(msg: unknown[]): void {
    const [kind, id, code, payload] = msg as [number, number, unknown, unknown];
    if (kind === K_OK || kind === K_ERR) {
      const p = this.pending.get(id);
      if (!p) return; // reply to a request we gave up on
      this.pending.delete(id);
      if (kind === K_OK) {
        const err = SPECS[p.method]!.res.test(payload);
        if (err !== null) p.done(new ProtocolError(`malformed ${METHOD_NAMES[p.method]} reply${err}`), undefined, p.ctx);
        else p.done(undefined, payload, p.ctx);
      } else {
        p.done(fromWire(asWireError(payload)), undefined, p.ctx);
      }
      return;
    }
    if (kind !== K_REQ && kind !== K_NOTE) {
      this.fail(new ProtocolError(`unexpected message kind ${kind}`));
      return;
    }
    const method = typeof code === "number" ? METHOD_NAMES[code] : undefined;
    if (method === undefined) {
      if (kind === K_REQ) this.replyError(id, new ProtocolError(`unknown method number ${JSON.stringify(code)}; is the peer another version?`));
      return;
    }
    const rel = SPECS[code as number]!.req.test(payload);
    if (rel !== null) {
      const err = method + rel;
      if (kind === K_REQ) this.replyError(id, new ProtocolError(`malformed ${err}`));
      else this.emit("protocolWarning", new ProtocolError(`malformed ${err}`));
      return;
    }
    if (kind === K_NOTE) {
      try {
        this.onNotify(method, payload, this);
      } catch (e) {
        this.emit("handlerError", e);
      }
      return;
    }
    let result: unknown;
    try {
      result = this.onRequest(method, payload, this);
    } catch (e) {
      this.replyError(id, e);
      return;
    }
    if (result instanceof Promise) {
      result.then((v) => this.reply(id, v), (e: unknown) => this.replyError(id, e));
    } else {
      this.reply(id, result);
    }
  }

  /** Send a reply; a reply that cannot be encoded has already closed the connection (see write). */
  private reply(id: number, v: unknown): void {
    if (this.closed) return;
    try { this.write([K_OK, id, 0, v ?? null]); } catch (e) { this.emit("handlerError", e); }
  }

  private replyError(id: number, e: unknown): void {
    if (this.closed) return;
    try { this.write([K_ERR, id, 0, toWire(e)]); } catch (e2) { this.emit("handlerError", e2); }
  }

  /** Close because the peer violated the protocol. */
  fail(e: Error): void {
    this.emit("protocolError", e);
    this.close();
    this.teardown(e);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.teardown(new ConnectionError(`connection to ${this.peer.role} ${this.remote} closed`));
  }

  private teardown(e: Error): void {
    if (this.closed && this.pending.size === 0) {
      if (!this.listenerCount("close") || this.emittedClose) return;
    }
    this.closed = true;
    const p = this.pending;
    this.pending = new PendingTable();
    for (const x of p.values()) x.done(e, undefined, x.ctx);
    if (!this.emittedClose) {
      this.emittedClose = true;
      this.emit("close", e);
    }
  }
  private emittedClose = false;
}

function asWireError(v: unknown): WireError {
  if (typeof v === "object" && v !== null && typeof (v as WireError).code === "string" &&
      typeof (v as WireError).message === "string") return v as WireError;
  return { code: "PROTOCOL", message: "malformed error reply" };
}

function tokenDigest(t: string): Buffer {
  return createHash("sha256").update(t).digest();
}

/** TLS settings from the tunables (STINGRAY_TLS_CERT/KEY/CA), read once per process. */
let envTls: TlsOptions | null | undefined;
function tlsFromConfig(): TlsOptions | undefined {
  if (envTls === undefined) {
    const cert = config("tls_cert"), key = config("tls_key"), ca = config("tls_ca");
    envTls = cert && key ? { cert: readFileSync(cert), key: readFileSync(key), ca: ca ? readFileSync(ca) : undefined } : null;
  }
  return envTls ?? undefined;
}

export interface ServerOptions {
  token: string;
  host: string;
  port: number;
  tls?: TlsOptions;
  /**
   * Also accept connections from processes of this host on the abstract Unix socket of this
   * name (see `localSocketName`), with the same handshake. Ignored where unavailable.
   */
  localName?: string;
  /**
   * Read accepted connections into slabs (as client connections do): cheaper per message, but a
   * value decoded from a frame is a view that keeps its 64 KiB slab alive. For a server whose
   * messages are short-lived (a core worker's task channel); not for one that stores what it
   * receives (the GCS tables), where Node's per-read buffers keep the retained bytes small.
   */
  slabReads?: boolean;
  /** Called for every authenticated connection. */
  onConnection(conn: Connection): void;
  /** Called when a client fails to authenticate (for logging on the server). */
  onAuthFailure?(remote: string, reason: string): void;
}

export interface RpcServer { server: net.Server; port: number; close(): Promise<void> }

/** Listen for authenticated connections. */
export async function listen(opts: ServerOptions): Promise<RpcServer> {
  const expected = tokenDigest(opts.token);
  const handle = (socket: net.Socket): void => {
    const conn = new Connection(socket, false);
    if (!(socket instanceof tls.TLSSocket)) startAccepted(socket, conn, opts.slabReads === true);
    let authed = false;
    const timer = setTimeout(() => {
      if (!authed) {
        opts.onAuthFailure?.(conn.remote, "no handshake within the timeout");
        socket.destroy();
      }
    }, config("handshake_timeout_ms"));
    timer.unref();
    conn.on("protocolError", (e: Error) => {
      if (!authed) opts.onAuthFailure?.(conn.remote, e.message);
    });
    conn.startReading((msg) => {
      if (authed) {
        conn.dispatch(msg);
        return;
      }
      const reject = (code: string, message: string): void => {
        opts.onAuthFailure?.(conn.remote, message);
        conn.write([K_REJECT, 0, 0, { code, message }]);
        conn.close();
      };
      if (msg[0] !== K_HELLO || typeof msg[3] !== "object" || msg[3] === null) {
        reject("AUTH", "the first message must be a hello with the cluster token");
        return;
      }
      const hello = msg[3] as { version?: unknown; token?: unknown; role?: unknown; id?: unknown };
      if (hello.version !== PROTOCOL_VERSION) {
        reject("VERSION_MISMATCH", `protocol version mismatch: this cluster speaks v${PROTOCOL_VERSION}, ` +
          `the client speaks v${String(hello.version)}; use the same Stingray version on every node and driver`);
        return;
      }
      if (typeof hello.token !== "string" || hello.token === "") {
        reject("AUTH", "missing auth token: set STINGRAY_AUTH_TOKEN (print it on the head with `stingray get-auth-token`)");
        return;
      }
      if (!timingSafeEqual(tokenDigest(hello.token), expected)) {
        reject("AUTH", "wrong auth token: the token does not match this cluster's; " +
          "print the right one on the head with `stingray get-auth-token`");
        return;
      }
      authed = true;
      clearTimeout(timer);
      conn.peer = { ...(hello as Record<string, unknown>), role: String(hello.role ?? "unknown"), id: String(hello.id ?? "") };
      delete (conn.peer as Record<string, unknown>).token;
      conn.setMaxFrame(config("max_frame_bytes"));
      conn.write([K_WELCOME, 0, 0, { version: PROTOCOL_VERSION }]);
      opts.onConnection(conn);
    });
  };
  const t = opts.tls ?? tlsFromConfig();
  const server = t
    ? tls.createServer({ cert: t.cert, key: t.key, ca: t.ca }, handle)
    : net.createServer({ pauseOnConnect: true }, handle); // reading starts in startAccepted
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => { server.off("error", reject); resolve(); });
  });
  server.on("error", () => {});
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => { sockets.add(s); s.on("close", () => sockets.delete(s)); };
  server.on("connection", track);
  const local = opts.localName && !t && localSocketsEnabled() ? await listenLocal(opts.localName, handle) : undefined;
  local?.on("connection", track);
  return {
    server, port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      local?.close();
      server.close(() => resolve());
    }),
  };
}

/**
 * Same-host links: Linux abstract Unix sockets. They live in the network namespace (so "this
 * host" means exactly what a TCP address on it means), need no file to clean up, and a message
 * costs less kernel work than on TCP loopback. The handshake and the token check are the same as
 * on TCP. A cluster configured for TLS does not use them: every link then speaks TLS, with the
 * client certificates it may require. The name of a process's socket is derived from the cluster token and the process's
 * node and worker ids, so a local process without the token can neither connect nor take the
 * name first and collect the tokens of clients (a name, once bound, cannot be bound again).
 */
export function localSocketName(token: string, nodeId: string, workerId: string): string {
  return `stingray-${createHash("sha256").update(`${token}\n${nodeId}\n${workerId}`).digest("hex").slice(0, 40)}`;
}

function localSocketsEnabled(): boolean {
  return process.platform === "linux" && config("local_sockets");
}

/** Listen on an abstract socket; a name already taken (or any failure) just means no local socket. */
function listenLocal(name: string, handle: (s: net.Socket) => void): Promise<net.Server | undefined> {
  const server = net.createServer({ pauseOnConnect: true }, handle);
  return new Promise((resolve) => {
    server.once("error", () => resolve(undefined));
    server.listen({ path: `\0${name}` }, () => {
      server.removeAllListeners("error");
      server.on("error", () => {});
      resolve(server);
    });
  });
}

export interface ConnectOptions {
  host: string;
  port: number;
  token: string;
  role: string;
  id: string;
  info?: Record<string, unknown>;
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; servername?: string };
  /** Keep retrying refused connections for this long (daemons that are still starting). */
  retryMs?: number;
  /** The peer's abstract socket name when it runs on this host (tried first, TCP otherwise). */
  localName?: string;
}

/** Connect and authenticate. Rejects with AuthError / VersionMismatchError / ConnectionError. */
export async function connect(opts: ConnectOptions): Promise<Connection> {
  if (opts.localName && !(opts.tls ?? tlsFromConfig()) && localSocketsEnabled()) {
    try {
      return await connectOnce(opts, opts.localName);
    } catch (e) {
      // Not listening locally (another host after all, an older peer, local sockets off there):
      // TCP. A refused handshake is an answer, not a transport problem.
      if (!(e instanceof ConnectionError)) throw e;
    }
  }
  const deadline = Date.now() + (opts.retryMs ?? 0);
  for (let attempt = 0; ; attempt++) {
    try {
      return await connectOnce(opts);
    } catch (e) {
      if (!(e instanceof ConnectionError) || Date.now() >= deadline) throw e;
      await new Promise((r) => setTimeout(r, Math.min(20 * 2 ** attempt, 500)));
    }
  }
}

/**
 * How a plain client socket reads: into a slab its connection owns, each read into the unused
 * rest of it, and a new slab when little is left. That saves the buffer Node would allocate and
 * trim for every read (a few microseconds per message on a request/reply link), while frames and
 * the values decoded from them may still be views into what was read: a slab is never written
 * twice, and it lives as long as any view into it (as a per-read buffer did).
 */
const SLAB_BYTES = 64 * 1024;
const MIN_READ_BYTES = 16 * 1024;
class ReadSlab {
  conn: Connection | undefined;
  private slab = Buffer.allocUnsafe(SLAB_BYTES);
  private used = 0;
  readonly onread = {
    buffer: (): Buffer => {
      if (this.slab.length - this.used < MIN_READ_BYTES) { this.slab = Buffer.allocUnsafe(SLAB_BYTES); this.used = 0; }
      return this.slab.subarray(this.used);
    },
    callback: (n: number, buf: Uint8Array): boolean => {
      this.used += n;
      this.conn?.receive((buf as Buffer).subarray(0, n));
      return true;
    },
  };
}

/**
 * Node gives `onread` (reads into a caller's buffer) to sockets it connects, not to those a
 * server accepts. It keeps a socket's onread state under symbols it does not export; they are
 * found once, by name, on a socket made with `onread`. An accepted socket (created paused) gets
 * the same state, so its connection reads into a ReadSlab as a client's does. Where a Node
 * version names them otherwise, accepted sockets keep Node's stream reads (slower, the same bytes).
 */
const onreadState = ((): { kBuffer: symbol; kBufferCb: symbol; kBufferGen: symbol } | undefined => {
  const probe = new net.Socket({ onread: { buffer: () => Buffer.allocUnsafe(1), callback: () => true } });
  const syms = Object.getOwnPropertySymbols(probe);
  const find = (name: string): symbol | undefined => {
    const found = syms.filter((x) => x.description === name);
    return found.length === 1 ? found[0] : undefined;
  };
  const kBuffer = find("kBuffer"), kBufferCb = find("kBufferCb"), kBufferGen = find("kBufferGen");
  probe.destroy();
  return kBuffer && kBufferCb && kBufferGen ? { kBuffer, kBufferCb, kBufferGen } : undefined;
})();

/** Start reading an accepted (paused) socket: into a slab for `conn` if asked and possible, else with Node's stream reads. */
function startAccepted(socket: net.Socket, conn: Connection, slabs: boolean): void {
  const h = (socket as unknown as { _handle?: { useUserBuffer?: (b: Uint8Array) => void } })._handle;
  if (slabs && onreadState && h && typeof h.useUserBuffer === "function") {
    const slab = new ReadSlab();
    slab.conn = conn;
    const first = slab.onread.buffer();
    const st = socket as unknown as Record<symbol, unknown>;
    st[onreadState.kBuffer] = first;
    st[onreadState.kBufferGen] = slab.onread.buffer;
    st[onreadState.kBufferCb] = slab.onread.callback;
    h.useUserBuffer(first);
    conn.userBuffer = true;
  }
  socket.resume();
}

/** Whether accepted sockets read into slabs on this Node (tests check it does on the supported one). */
export const acceptedSocketsUseSlabs = onreadState !== undefined;

function connectOnce(opts: ConnectOptions, localName?: string): Promise<Connection> {
  return new Promise<Connection>((resolve, reject) => {
    const slab = new ReadSlab();
    const t = localName ? undefined : opts.tls ?? tlsFromConfig();
    // Cluster certificates are trusted through the cluster CA; nodes are addressed by IP, so the
    // certificate's host name is not checked (the CA is what vouches for the peer).
    const socket = t
      ? tls.connect({ host: opts.host, port: opts.port, ca: t.ca, cert: t.cert, key: t.key,
        servername: "servername" in t ? (t as { servername?: string }).servername : undefined,
        checkServerIdentity: () => undefined })
      : localName ? net.connect({ path: `\0${localName}`, onread: slab.onread }) : net.connect({ host: opts.host, port: opts.port, onread: slab.onread });
    const conn = new Connection(socket, false);
    if (!t) { conn.userBuffer = true; slab.conn = conn; }
    if (localName) conn.setRemote(`${opts.host}:${opts.port} (local socket)`);
    let settled = false;
    const done = (e?: Error): void => {
      if (settled) return;
      settled = true;
      if (e) { socket.destroy(); reject(e); } else resolve(conn);
    };
    socket.once("error", (e: NodeJS.ErrnoException) => done(new ConnectionError(
      `cannot reach ${opts.role === "driver" ? "the cluster" : "peer"} at ${opts.host}:${opts.port} (${e.code ?? e.message}); ` +
      `check that the address is right and the node is running`)));
    socket.once("close", () => done(new ConnectionError(`connection to ${opts.host}:${opts.port} closed during the handshake`)));
    conn.startReading((msg) => {
      if (settled) { conn.dispatch(msg); return; }
      if (msg[0] === K_WELCOME) {
        conn.setMaxFrame(config("max_frame_bytes"));
        conn.peer = { role: "server", id: `${opts.host}:${opts.port}` };
        done();
      } else if (msg[0] === K_REJECT) {
        const w = asWireError(msg[3]);
        done(w.code === "VERSION_MISMATCH" ? new VersionMismatchError(w.message) : new AuthError(w.message));
      } else {
        done(new ProtocolError("peer did not answer the handshake"));
      }
    });
    const onOpen = (): void => {
      conn.write([K_HELLO, 0, 0, { version: PROTOCOL_VERSION, token: opts.token, role: opts.role, id: opts.id, ...opts.info }]);
    };
    if (t) socket.once("secureConnect", onOpen); else socket.once("connect", onOpen);
  });
}
