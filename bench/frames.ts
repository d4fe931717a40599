/**
 * Length-prefixed msgpackr frames between two processes: the least code that does what an RPC
 * layer does, as the yardstick for Stingray's own round trips. Used by the "limit" section
 * (bench/sections/limits.ts) and by the interleaved sync comparison
 * (bench/sections/stingray_drivers/sync_vs_frame.ts).
 *
 * A frame is a 4-byte little-endian length and a msgpackr-packed small object. The echo process
 * (bench/sections/drivers/frame_echo.ts) decodes each request and encodes a reply, one write per
 * chunk read.
 */
import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Packr } from "msgpackr";

const packr = new Packr({ useRecords: false });

// ---------------------------------------------------------------------------------------------
// Frames: encoding, decoding, and the echo server (runs in the child).

/** Encode messages as length-prefixed frames, all in one buffer (one write). */
export function encodeFrames(messages: unknown[]): Buffer {
  const bodies = messages.map((m) => packr.pack(m));
  let size = 0;
  for (const b of bodies) size += 4 + b.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const b of bodies) {
    out.writeUInt32LE(b.length, at);
    b.copy(out, at + 4);
    at += 4 + b.length;
  }
  return out;
}

/** Split a byte stream into frames; calls `onFrames` with the decoded messages of each chunk. */
export function frameReader(onFrames: (messages: unknown[]) => void): (chunk: Buffer) => void {
  let pending: Buffer | null = null;
  return (chunk) => {
    const buf: Buffer = pending ? Buffer.concat([pending, chunk]) : chunk;
    const messages: unknown[] = [];
    let at = 0;
    while (buf.length - at >= 4) {
      const len = buf.readUInt32LE(at);
      if (buf.length - at - 4 < len) break;
      messages.push(packr.unpack(buf.subarray(at + 4, at + 4 + len)));
      at += 4 + len;
    }
    pending = at < buf.length ? buf.subarray(at) : null;
    if (messages.length > 0) onFrames(messages);
  };
}

interface Request { id: number; method: string; args: unknown[] }

/** Child: listen where the parent says, answer every request frame, one write per chunk read. */
export function runFrameEchoServer(address: string): void {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on("data", frameReader((requests) => {
      socket.write(encodeFrames((requests as Request[]).map((r) => ({ id: r.id, ok: true, result: null }))));
    }));
    socket.on("error", () => socket.destroy());
  });
  const ready = (): void => {
    const a = server.address();
    process.send!({ ready: true, port: typeof a === "object" && a ? a.port : 0 });
  };
  if (address === "tcp") server.listen(0, "127.0.0.1", ready);
  else server.listen(address, ready);
}

// ---------------------------------------------------------------------------------------------
// Frame client (parent).

export class FrameClient {
  private socket: net.Socket;
  private replies = 0;
  private waiting: { target: number; resolve: () => void } | null = null;
  private nextId = 0;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", frameReader((messages) => {
      this.replies += messages.length;
      if (this.waiting && this.replies >= this.waiting.target) {
        const w = this.waiting;
        this.waiting = null;
        w.resolve();
      }
    }));
  }

  static async connect(options: net.NetConnectOpts): Promise<FrameClient> {
    const socket = net.connect(options);
    await new Promise<void>((resolve, reject) => { socket.once("connect", resolve); socket.once("error", reject); });
    socket.setNoDelay(true);
    return new FrameClient(socket);
  }

  private request(): Request { return { id: this.nextId++, method: "ping", args: [] }; }

  /** Resolves once `count` more replies than now have arrived. */
  private repliesAfter(count: number): Promise<void> {
    const target = this.replies + count;
    return new Promise((resolve) => { this.waiting = { target, resolve }; });
  }

  /** Mean round trip of `n` sequential requests, in microseconds. */
  async roundTripUs(n: number): Promise<number> {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const reply = this.repliesAfter(1);
      this.socket.write(encodeFrames([this.request()]));
      await reply;
    }
    return ((performance.now() - t0) / n) * 1000;
  }

  /** Mean round trip of sequential requests sent for `ms` milliseconds, in microseconds. */
  async roundTripUsFor(ms: number): Promise<number> {
    let n = 0;
    const t0 = performance.now();
    do {
      const reply = this.repliesAfter(1);
      this.socket.write(encodeFrames([this.request()]));
      await reply;
      n++;
    } while (performance.now() - t0 < ms);
    return ((performance.now() - t0) / n) * 1000;
  }

  /** Send `n` requests in writes of `batch` frames without waiting for replies; replies per second. */
  async pipelinedPerSecond(n: number, batch: number): Promise<number> {
    const t0 = performance.now();
    const done = this.repliesAfter(n);
    for (let sent = 0; sent < n; sent += batch) {
      const frames = Array.from({ length: Math.min(batch, n - sent) }, () => this.request());
      if (!this.socket.write(encodeFrames(frames))) await new Promise((resolve) => this.socket.once("drain", resolve));
    }
    await done;
    return n / ((performance.now() - t0) / 1000);
  }

  close(): void { this.socket.destroy(); }
}

// ---------------------------------------------------------------------------------------------
// An echo process and a client connected to it.

export type FrameTransport = "unix" | "tcp";

export interface FrameEcho {
  client: FrameClient;
  /** Close the connection, stop the echo process and remove its socket directory. */
  close(): Promise<void>;
}

const echoEntry = path.join(path.dirname(fileURLToPath(import.meta.url)), "sections", "drivers", "frame_echo.ts");

/** Fork an echo process listening on a Unix socket (in a fresh temp dir) or on TCP loopback, and connect. */
export async function startFrameEcho(transport: FrameTransport): Promise<FrameEcho> {
  const dir = transport === "unix" ? fs.mkdtempSync(path.join(os.tmpdir(), "bench-frames-")) : null;
  const address = dir ? path.join(dir, "echo.sock") : "tcp";
  let child: ChildProcess | null = null;
  let client: FrameClient | null = null;
  const close = async (): Promise<void> => {
    client?.close();
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once("exit", resolve));
      child.kill();
      await exited;
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    child = fork(echoEntry, [address], { stdio: "inherit" });
    const forked = child;
    process.once("exit", () => forked.kill("SIGKILL")); // last resort, if close() did not run
    const port = await new Promise<number>((resolve, reject) => {
      forked.once("message", (m) => resolve((m as { port: number }).port));
      forked.once("error", reject);
      forked.once("exit", (code) => reject(new Error(`frame echo process exited with ${code} before it was ready`)));
    });
    client = await FrameClient.connect(dir ? { path: address } : { host: "127.0.0.1", port });
    return { client, close };
  } catch (e) {
    await close();
    throw e;
  }
}
