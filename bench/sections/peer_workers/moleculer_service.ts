/**
 * Moleculer node for bench/sections/peers.ts: a broker with a service "bench" whose action
 * "noop" returns null, reached through the Redis transporter at BENCH_REDIS_PORT. Sends
 * `{ ready: true }` once started, and stops the broker when told "stop" or when the parent goes.
 */
import { ServiceBroker } from "moleculer";

const broker = new ServiceBroker({
  nodeID: `bench-service-${process.pid}`,
  transporter: { type: "Redis", options: { host: "127.0.0.1", port: Number(process.env.BENCH_REDIS_PORT) } },
  logger: false,
});
broker.createService({ name: "bench", actions: { noop: () => null } });

async function stop(): Promise<void> {
  await broker.stop();
  process.exit(0);
}
process.on("message", (m) => { if (m === "stop") void stop(); });
process.on("disconnect", () => void stop());

await broker.start();
process.send!({ ready: true });
