/**
 * Benchmark section "peer": what a TypeScript user would pick instead of Stingray, doing the same
 * no-op work as Stingray's task and actor benchmarks.
 *
 * - BullMQ (Redis job queue): this script starts its own redis-server on a free port (installing
 *   it with apt-get when it is missing and we are root), and a BullMQ worker in a forked process
 *   (peer_workers/bullmq_worker.ts, concurrency 50), since Stingray's workers are processes too.
 * - Moleculer (microservices): a second broker in a forked process (peer_workers/moleculer_service.ts)
 *   with a no-op action, reached through the Redis transporter of the same redis-server.
 * - Piscina (worker-thread pool): a no-op task (peer_workers/piscina_worker.ts), one thread per CPU.
 *
 * For each: the sequential round trip of one no-op (submit, wait for its result) and the rate of a
 * batch submitted at once. Every process started here is stopped at the end, also on failure.
 *   node bench/sections/peers.ts --out FILE [--quick] [--runs N]
 */
import { fork, spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { repeat, sectionOptions, writeResults, type Measurement } from "../lib.ts";

const { runs, quick, out } = sectionOptions();

const SIZES = quick
  ? { bullmqRoundTrips: 20, bullmqJobs: 200, moleculerRoundTrips: 20, moleculerCalls: 200, piscinaRoundTrips: 50, piscinaTasks: 500 }
  : { bullmqRoundTrips: 500, bullmqJobs: 20_000, moleculerRoundTrips: 2000, moleculerCalls: 20_000, piscinaRoundTrips: 5000, piscinaTasks: 10_000 };
const BULLMQ_CONCURRENCY = 50;
const CPUS = os.availableParallelism();

const METRICS: Record<string, Pick<Measurement, "unit" | "better" | "description">> = {
  bullmq_job_round_trip: { unit: "us", better: "lower",
    description: `BullMQ: add one no-op job and await job.waitUntilFinished(queueEvents), sequentially (mean of ${SIZES.bullmqRoundTrips}).` },
  bullmq_jobs_async: { unit: "per second", better: "higher",
    description: `BullMQ: addBulk ${SIZES.bullmqJobs} no-op jobs, until all completed; worker in another process, concurrency ${BULLMQ_CONCURRENCY}.` },
  moleculer_call_round_trip: { unit: "us", better: "lower",
    description: `Moleculer: broker.call of a no-op action in another process via the Redis transporter, sequentially (mean of ${SIZES.moleculerRoundTrips}).` },
  moleculer_calls_async: { unit: "per second", better: "higher",
    description: `Moleculer: ${SIZES.moleculerCalls} broker.call of a no-op action in another process via Redis, all in flight at once.` },
  piscina_task_round_trip: { unit: "us", better: "lower",
    description: `Piscina: await pool.run(x) of a no-op task on worker threads, sequentially (mean of ${SIZES.piscinaRoundTrips}).` },
  piscina_tasks_async: { unit: "per second", better: "higher",
    description: `Piscina: ${SIZES.piscinaTasks} pool.run of a no-op task at once, ${CPUS} worker threads, await all.` },
};

function measured(name: string, samples: number[]): Measurement {
  return { group: "peer", name, samples, ...METRICS[name]! };
}

function skipped(names: string[], reason: string): Measurement[] {
  return names.map((name) => ({ group: "peer", name, samples: [], ...METRICS[name]!, skipped: reason }));
}

/** Import an optional dev dependency; null when it is not installed. */
async function importPeer<T>(load: () => Promise<T>): Promise<T | null> {
  try {
    return await load();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") return null;
    throw err;
  }
}

const notInstalled = (pkg: string): string => `npm package ${pkg} is not installed — run npm install (it is a devDependency)`;

// ---------------------------------------------------------------------------------------------
// Child processes.

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
// Last resort, when the section dies before its finally blocks ran: kill what is left.
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(128 + os.constants.signals[signal]));

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Fork a script of peer_workers/ and wait for its `{ ready: true }` message. */
async function forkWorker(file: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = track(fork(path.join(import.meta.dirname, "peer_workers", file), [], { env: { ...process.env, ...env }, stdio: "inherit" }));
  try {
    await new Promise((resolve, reject) => {
      child.once("message", resolve);
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`${file} exited with ${code} before it was ready`)));
    });
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  return child;
}

/** Ask a process to stop (a "stop" message, else SIGTERM), SIGKILL it after 5 s; wait for its exit. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  if (child.connected) child.send("stop");
  else child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// redis-server: find or install it, start our own instance.

function onPath(cmd: string): boolean {
  return !spawnSync(cmd, ["--version"], { stdio: "ignore" }).error;
}

/** null when redis-server is on PATH (possibly after installing it), otherwise why it is not. */
function ensureRedisServer(): string | null {
  if (onPath("redis-server")) return null;
  const fix = "install it (Debian/Ubuntu: apt-get install redis-server) and put redis-server on PATH";
  if (process.getuid?.() !== 0 || !onPath("apt-get")) return `redis-server is not on PATH — ${fix}`;
  console.error("peers: redis-server not found; installing it: apt-get install -y --no-install-recommends redis-server");
  const aptGet = (...args: string[]): boolean =>
    spawnSync("apt-get", args, { stdio: ["ignore", 2, 2], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, timeout: 300_000 }).status === 0;
  const install = (): boolean => aptGet("install", "-y", "--no-install-recommends", "redis-server");
  if (!install() && !(aptGet("update") && install())) return `redis-server is not on PATH and apt-get install redis-server failed — ${fix}`;
  return onPath("redis-server") ? null : `redis-server is still not on PATH after apt-get install — ${fix}`;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => { server.once("error", reject); server.listen(0, "127.0.0.1", resolve); });
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Redis { port: number; stop(): Promise<void> }

/** Start a redis-server without persistence on a free loopback port, in a temp dir. */
async function startRedis(): Promise<Redis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-redis-"));
  tempDirs.add(dir);
  const server = track(spawn("redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: ["ignore", "pipe", "pipe"] }));
  const stop = async (): Promise<void> => {
    await stopProcess(server);
    fs.rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  };
  let log = "";
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${log}`)), 10_000);
      const onOutput = (chunk: Buffer): void => {
        log += chunk.toString();
        if (log.includes("Ready to accept connections")) { clearTimeout(timer); resolve(); }
      };
      server.stdout!.on("data", onOutput);
      server.stderr!.on("data", onOutput);
      server.once("error", reject);
      server.once("exit", (code) => { clearTimeout(timer); reject(new Error(`redis-server exited with ${code}:\n${log}`)); });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  server.stdout!.resume();
  server.stderr!.resume();
  return { port, stop };
}

// ---------------------------------------------------------------------------------------------
// The peers.

async function bullmq(redisPort: number): Promise<Measurement[]> {
  const names = ["bullmq_job_round_trip", "bullmq_jobs_async"];
  const mq = await importPeer(() => import("bullmq"));
  if (!mq) return skipped(names, notInstalled("bullmq"));
  const queueName = "bench";
  const connection = { host: "127.0.0.1", port: redisPort, maxRetriesPerRequest: null };
  const queue = new mq.Queue(queueName, { connection });
  const events = new mq.QueueEvents(queueName, { connection });
  let worker: ChildProcess | null = null;
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    worker = await forkWorker("bullmq_worker.ts",
      { BENCH_REDIS_PORT: String(redisPort), BENCH_QUEUE: queueName, BENCH_CONCURRENCY: String(BULLMQ_CONCURRENCY) });
    const roundTrip = await repeat(runs, async () => {
      const t0 = performance.now();
      for (let i = 0; i < SIZES.bullmqRoundTrips; i++) {
        const job = await queue.add("noop", { i });
        await job.waitUntilFinished(events);
      }
      return ((performance.now() - t0) / SIZES.bullmqRoundTrips) * 1000;
    });
    const rate = await repeat(runs, async () => {
      const n = SIZES.bullmqJobs;
      const before = await queue.getCompletedCount();
      const t0 = performance.now();
      for (let i = 0; i < n; i += 1000) {
        await queue.addBulk(Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ name: "noop", data: { i: i + j } })));
      }
      while ((await queue.getCompletedCount()) < before + n) await sleep(5);
      return n / ((performance.now() - t0) / 1000);
    });
    return [measured(names[0]!, roundTrip), measured(names[1]!, rate)];
  } finally {
    if (worker) await stopProcess(worker);
    await Promise.allSettled([queue.close(), events.close()]);
  }
}

async function moleculer(redisPort: number): Promise<Measurement[]> {
  const names = ["moleculer_call_round_trip", "moleculer_calls_async"];
  const mol = await importPeer(() => import("moleculer"));
  if (!mol) return skipped(names, notInstalled("moleculer"));
  const broker = new mol.ServiceBroker({ nodeID: `bench-caller-${process.pid}`, transporter: { type: "Redis", options: { host: "127.0.0.1", port: redisPort } }, logger: false });
  let service: ChildProcess | null = null;
  try {
    await broker.start();
    service = await forkWorker("moleculer_service.ts", { BENCH_REDIS_PORT: String(redisPort) });
    await broker.waitForServices("bench", 10_000);
    const roundTrip = await repeat(runs, async () => {
      const t0 = performance.now();
      for (let i = 0; i < SIZES.moleculerRoundTrips; i++) await broker.call("bench.noop", { i });
      return ((performance.now() - t0) / SIZES.moleculerRoundTrips) * 1000;
    });
    const rate = await repeat(runs, async () => {
      const n = SIZES.moleculerCalls;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: n }, (_, i) => broker.call("bench.noop", { i })));
      return n / ((performance.now() - t0) / 1000);
    });
    return [measured(names[0]!, roundTrip), measured(names[1]!, rate)];
  } finally {
    if (service) await stopProcess(service);
    await broker.stop();
  }
}

async function piscina(): Promise<Measurement[]> {
  const names = ["piscina_task_round_trip", "piscina_tasks_async"];
  const mod = await importPeer(() => import("piscina"));
  if (!mod) return skipped(names, notInstalled("piscina"));
  const pool = new mod.Piscina({
    filename: new URL("./peer_workers/piscina_worker.ts", import.meta.url).href,
    minThreads: CPUS,
    maxThreads: CPUS,
  });
  try {
    const roundTrip = await repeat(runs, async () => {
      const t0 = performance.now();
      for (let i = 0; i < SIZES.piscinaRoundTrips; i++) await pool.run(i);
      return ((performance.now() - t0) / SIZES.piscinaRoundTrips) * 1000;
    });
    const rate = await repeat(runs, async () => {
      const n = SIZES.piscinaTasks;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: n }, (_, i) => pool.run(i)));
      return n / ((performance.now() - t0) / 1000);
    });
    return [measured(names[0]!, roundTrip), measured(names[1]!, rate)];
  } finally {
    await pool.destroy();
  }
}

// ---------------------------------------------------------------------------------------------

const results: Measurement[] = [];
const noRedis = ensureRedisServer();
if (noRedis) {
  results.push(...skipped(["bullmq_job_round_trip", "bullmq_jobs_async", "moleculer_call_round_trip", "moleculer_calls_async"], noRedis));
} else {
  const redis = await startRedis();
  try {
    results.push(...await bullmq(redis.port));
    results.push(...await moleculer(redis.port));
  } finally {
    await redis.stop();
  }
}
results.push(...await piscina());
writeResults(out, results);
