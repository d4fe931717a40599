/**
 * BullMQ worker process for bench/sections/peers.ts: runs no-op jobs of one queue.
 * Forked with BENCH_REDIS_PORT, BENCH_QUEUE and BENCH_CONCURRENCY in its environment; sends
 * `{ ready: true }` once connected, and closes the worker when told "stop" or when the parent goes.
 */
import { Worker } from "bullmq";

const worker = new Worker(process.env.BENCH_QUEUE!, async () => null, {
  connection: { host: "127.0.0.1", port: Number(process.env.BENCH_REDIS_PORT), maxRetriesPerRequest: null },
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 50),
});
worker.on("error", (err) => console.error("bullmq worker:", err));

async function stop(): Promise<void> {
  await worker.close();
  process.exit(0);
}
process.on("message", (m) => { if (m === "stop") void stop(); });
process.on("disconnect", () => void stop());

await worker.waitUntilReady();
process.send!({ ready: true });
