/**
 * Benchmark section "limit": what this machine allows at best, as a yardstick for Stingray's own
 * figures. Each figure is measured with the least code that does the job:
 *
 * - Frames over a Unix domain socket and over TCP loopback: 4-byte little-endian length + a
 *   msgpackr-packed small object, between this process and a forked echo process that decodes each
 *   request and encodes a reply (bench/frames.ts). Round trip: one request at a time. Pipelined:
 *   many requests in flight, coalesced into one write per batch on both sides, as an RPC layer does.
 * - `child_process.fork` IPC (`process.send`), round trip and pipelined.
 * - Memory copy of 256 MB (`Buffer.prototype.copy`), into touched pages and into fresh pages.
 * - Starting a Node process (`node -e 0`) and waiting for it to exit.
 *
 * The IPC echo process is this same file, forked with BENCH_LIMITS_CHILD set.
 *   node bench/sections/limits.ts --out FILE [--quick] [--runs N]
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import { startFrameEcho, type FrameTransport } from "../frames.ts";
import { repeat, sectionOptions, timeMs, writeResults, type Measurement } from "../lib.ts";

const CHILD_ENV = "BENCH_LIMITS_CHILD";

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
// The measurements.

interface Sizes { roundTrips: number; pipelined: number; batch: number; ipcRoundTrips: number; ipcMessages: number; copyBytes: number; copiesPerSample: number; spawnsPerSample: number }

const FULL: Sizes = { roundTrips: 5000, pipelined: 300_000, batch: 256, ipcRoundTrips: 3000, ipcMessages: 100_000, copyBytes: 256 * 2 ** 20, copiesPerSample: 4, spawnsPerSample: 5 };
const QUICK: Sizes = { roundTrips: 200, pipelined: 5000, batch: 256, ipcRoundTrips: 200, ipcMessages: 2000, copyBytes: 16 * 2 ** 20, copiesPerSample: 1, spawnsPerSample: 1 };

function measurement(name: string, unit: string, better: "higher" | "lower", description: string, samples: number[]): Measurement {
  return { group: "limit", name, unit, samples, better, description };
}

async function frameMeasurements(transport: FrameTransport, runs: number, s: Sizes): Promise<Measurement[]> {
  const label = transport === "unix" ? "Unix domain socket" : "TCP loopback (127.0.0.1, no Nagle)";
  const echo = await startFrameEcho(transport);
  try {
    const c = echo.client;
    const rtt = await repeat(runs, () => c.roundTripUs(s.roundTrips));
    const rate = await repeat(runs, () => c.pipelinedPerSecond(s.pipelined, s.batch));
    return [
      measurement(`${transport}_frame_round_trip`, "us", "lower",
        `Sequential request/reply of a small msgpackr frame over a ${label} to another process (mean of ${s.roundTrips}).`, rtt),
      measurement(`${transport}_frames_pipelined`, "per second", "higher",
        `Replies per second with ${s.pipelined} small msgpackr frames in flight over a ${label}, ${s.batch} frames per write.`, rate),
    ];
  } finally {
    await echo.close();
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
  if (role === "ipc-echo") {
    process.on("message", (m) => process.send!(m));
    process.send!({ ready: true, port: 0 });
  } else throw new Error(`unknown child role ${role}`);
} else {
  await main();
}
