/**
 * Transport benchmark: Stingray's authenticated RPC connection over TCP loopback.
 * Measures the sequential round trip of a small request and the pipelined request rate.
 *   node bench/transport.ts
 */
import { connect, listen } from "../src/protocol/connection.ts";

const server = await listen({
  host: "127.0.0.1", port: 0, token: "t",
  onConnection: (c) => { c.onRequest = () => ({ time: 0 }); },
});
const c = await connect({ host: "127.0.0.1", port: server.port, token: "t", role: "bench", id: "b" });

function median(xs: number[]): number { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; }

// Warm up.
for (let i = 0; i < 2000; i++) await c.request("gcs.Ping", {});
const rtts: number[] = [];
for (let trial = 0; trial < 5; trial++) {
  const n = 5000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await c.request("gcs.Ping", {});
  rtts.push(((performance.now() - t0) / n) * 1000);
}
const rates: number[] = [];
for (let trial = 0; trial < 5; trial++) {
  const n = 200_000;
  const t0 = performance.now();
  const ps = new Array<Promise<unknown>>(n);
  for (let i = 0; i < n; i++) ps[i] = c.request("gcs.Ping", {});
  await Promise.all(ps);
  rates.push(n / ((performance.now() - t0) / 1000));
}
console.log(`rpc_round_trip_us ${median(rtts).toFixed(1)} (min ${Math.min(...rtts).toFixed(1)}, max ${Math.max(...rtts).toFixed(1)})`);
console.log(`rpc_pipelined_per_second ${median(rates).toFixed(0)} (min ${Math.min(...rates).toFixed(0)}, max ${Math.max(...rates).toFixed(0)})`);
c.close();
await server.close();
