/**
 * Benchmark section "limit": what this machine allows at best, as a yardstick for Stingray's own
 * figures. Each figure is measured with the least code that does the job:
 *
 * - Frames over a Unix domain socket and over TCP loopback: 4-byte little-endian length + a
 *   msgpackr-packed small object, between this process and a forked echo process that decodes each
 *   request and encodes a reply. Round trip: one request at a time. Pipelined: many requests in
 *   flight, coalesced into one write per batch on both sides, as an RPC layer does.
 * - `child_process.fork` IPC (`process.send`), round trip and pipelined.
 * - Memory copy of 256 MB (`Buffer.prototype.copy`), into touched pages and into fresh pages.
 * - Starting a Node process (`node -e 0`) and waiting for it to exit.
 *
 * The echo processes are this same file, forked with BENCH_LIMITS_CHILD set.
 *   node bench/sections/limits.ts --out FILE [--quick] [--runs N]
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Packr } from "msgpackr";
import { repeat, sectionOptions, timeMs, writeResults, type Measurement } from "../lib.ts";

const CHILD_ENV = "BENCH_LIMITS_CHILD";
const packr = new Packr({ useRecords: false });

// ---------------------------------------------------------------------------------------------
// Frames: encoding, decoding, and the echo server (runs in the child).

/** Encode messages as length-prefixed frames, all in one buffer (one write). */
function encodeFrames(messages: unknown[]): Buffer {
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
function frameReader(onFrames: (messages: unknown[]) => void): (chunk: Buffer) => void {
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
function runFrameEchoServer(address: string): void {
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
// Child processes.

const children = new Set<ChildProcess>();
process.on("exit", () => { for (const c of children) c.kill("SIGKILL"); }); // last resort, if a finally did not run
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(128 + os.constants.signals[signal]));

/** Fork this file in a child role and wait for its first message (`{ ready: true, ... }`). */
async function forkChild(role: string, extraEnv: Record<string, string> = {}): Promise<{ child: ChildProcess; hello: { port: number } }> {
  const child = fork(import.meta.filename, [], { env: { ...process.env, [CHILD_ENV]: role, ...extraEnv }, stdio: "inherit" });
  children.add(child);
  child.once("exit", () => children.delete(child));
  const hello = await new Promise<{ port: number }>((resolve, reject) => {
    child.once("message", (m) => resolve(m as { port: number }));
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${role} child exited with ${code} before it was ready`)));
  });
  return { child, hello };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill();
  await exited;
}

// ---------------------------------------------------------------------------------------------
// Frame client (parent).

class FrameClient {
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
// The measurements.

interface Sizes { roundTrips: number; pipelined: number; batch: number; ipcRoundTrips: number; ipcMessages: number; copyBytes: number; copiesPerSample: number; spawnsPerSample: number }

const FULL: Sizes = { roundTrips: 5000, pipelined: 300_000, batch: 256, ipcRoundTrips: 3000, ipcMessages: 100_000, copyBytes: 256 * 2 ** 20, copiesPerSample: 4, spawnsPerSample: 5 };
const QUICK: Sizes = { roundTrips: 200, pipelined: 5000, batch: 256, ipcRoundTrips: 200, ipcMessages: 2000, copyBytes: 16 * 2 ** 20, copiesPerSample: 1, spawnsPerSample: 1 };

function measurement(name: string, unit: string, better: "higher" | "lower", description: string, samples: number[]): Measurement {
  return { group: "limit", name, unit, samples, better, description };
}

async function frameMeasurements(transport: "unix" | "tcp", runs: number, s: Sizes): Promise<Measurement[]> {
  const label = transport === "unix" ? "Unix domain socket" : "TCP loopback (127.0.0.1, no Nagle)";
  const dir = transport === "unix" ? fs.mkdtempSync(path.join(os.tmpdir(), "bench-limits-")) : null;
  const address = dir ? path.join(dir, "echo.sock") : "tcp";
  let child: ChildProcess | null = null;
  let client: FrameClient | null = null;
  try {
    const forked = await forkChild("frame-echo", { BENCH_LIMITS_ADDRESS: address });
    child = forked.child;
    client = await FrameClient.connect(dir ? { path: address } : { host: "127.0.0.1", port: forked.hello.port });
    const c = client;
    const rtt = await repeat(runs, () => c.roundTripUs(s.roundTrips));
    const rate = await repeat(runs, () => c.pipelinedPerSecond(s.pipelined, s.batch));
    return [
      measurement(`${transport}_frame_round_trip`, "us", "lower",
        `Sequential request/reply of a small msgpackr frame over a ${label} to another process (mean of ${s.roundTrips}).`, rtt),
      measurement(`${transport}_frames_pipelined`, "per second", "higher",
        `Replies per second with ${s.pipelined} small msgpackr frames in flight over a ${label}, ${s.batch} frames per write.`, rate),
    ];
  } finally {
    client?.close();
    if (child) await stopChild(child);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function ipcMeasurements(runs: number, s: Sizes): Promise<Measurement[]> {
  const { child } = await forkChild("ipc-echo");
  try {
    let replies = 0;
    let waiting: { target: number; resolve: () => void } | null = null;
    child.on("message", () => {
      replies++;
      if (waiting && replies >= waiting.target) { const w = waiting; waiting = null; w.resolve(); }
    });
    const repliesAfter = (n: number): Promise<void> => new Promise((resolve) => { waiting = { target: replies + n, resolve }; });
    const rtt = await repeat(runs, async () => {
      const t0 = performance.now();
      for (let i = 0; i < s.ipcRoundTrips; i++) {
        const reply = repliesAfter(1);
        child.send({ id: i, method: "ping" });
        await reply;
      }
      return ((performance.now() - t0) / s.ipcRoundTrips) * 1000;
    });
    const rate = await repeat(runs, async () => {
      const t0 = performance.now();
      const done = repliesAfter(s.ipcMessages);
      for (let i = 0; i < s.ipcMessages; i++) child.send({ id: i, method: "ping" });
      await done;
      return s.ipcMessages / ((performance.now() - t0) / 1000);
    });
    return [
      measurement("fork_ipc_round_trip", "us", "lower",
        `Sequential child_process.fork IPC message and echo (process.send, JSON), mean of ${s.ipcRoundTrips}.`, rtt),
      measurement("fork_ipc_messages_per_second", "per second", "higher",
        `Echoes per second with ${s.ipcMessages} small child_process.fork IPC messages sent without waiting.`, rate),
    ];
  } finally {
    await stopChild(child);
  }
}

async function copyMeasurements(runs: number, s: Sizes): Promise<Measurement[]> {
  const mb = s.copyBytes / 2 ** 20;
  const src = Buffer.allocUnsafeSlow(s.copyBytes).fill(1);
  const dst = Buffer.allocUnsafeSlow(s.copyBytes).fill(0); // touched: no page faults while copying
  const gb = s.copyBytes / 1e9;
  const touched = async (): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < s.copiesPerSample; i++) src.copy(dst);
    return (gb * s.copiesPerSample) / ((performance.now() - t0) / 1000);
  };
  const fresh = async (): Promise<number> => {
    const t0 = performance.now();
    const into = Buffer.allocUnsafeSlow(s.copyBytes);
    src.copy(into);
    const seconds = (performance.now() - t0) / 1000;
    if (into[s.copyBytes - 1] !== 1) throw new Error("copy went wrong");
    return gb / seconds;
  };
  return [
    measurement("memory_copy_bandwidth", "GB per second", "higher",
      `Buffer.copy of ${mb} MB between two buffers whose pages are already touched (GB = 1e9 bytes).`, await repeat(runs, touched)),
    measurement("memory_copy_fresh_pages_bandwidth", "GB per second", "higher",
      `Buffer.copy of ${mb} MB into a new Buffer.allocUnsafeSlow, page faults included.`, await repeat(runs, fresh)),
  ];
}

async function processStart(runs: number, s: Sizes): Promise<Measurement> {
  const once = (): Promise<void> => new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
    p.once("error", reject);
    p.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`node -e 0 exited with ${code}`))));
  });
  const samples = await repeat(runs, async () => {
    let total = 0;
    for (let i = 0; i < s.spawnsPerSample; i++) total += await timeMs(once);
    return total / s.spawnsPerSample;
  });
  return measurement("process_start", "ms", "lower",
    `Spawn \`node -e 0\` (${process.version}) and wait for it to exit (mean of ${s.spawnsPerSample}).`, samples);
}

async function main(): Promise<void> {
  const { runs, quick, out } = sectionOptions();
  const s = quick ? QUICK : FULL;
  const results: Measurement[] = [
    ...await frameMeasurements("unix", runs, s),
    ...await frameMeasurements("tcp", runs, s),
    ...await ipcMeasurements(runs, s),
    ...await copyMeasurements(runs, s),
    await processStart(runs, s),
  ];
  writeResults(out, results);
}

// ---------------------------------------------------------------------------------------------
// Entry: a child role, or the section itself.

const role = process.env[CHILD_ENV];
if (role) {
  process.on("disconnect", () => process.exit(0)); // the parent is gone
  if (role === "frame-echo") runFrameEchoServer(process.env.BENCH_LIMITS_ADDRESS ?? "tcp");
  else if (role === "ipc-echo") {
    process.on("message", (m) => process.send!(m));
    process.send!({ ready: true, port: 0 });
  } else throw new Error(`unknown child role ${role}`);
} else {
  await main();
}
