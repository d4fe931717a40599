/**
 * One sample of `broadcast_1gb_3_hosts_s`, run on the head of a running cluster:
 *   node bench/sections/drivers/broadcast.ts BYTES
 * Untimed: a warm-up task pinned to every node, taking a 1 MB put (starts this job's worker on
 * each node, ships the function, exercises the pull path); then a put of a fresh BYTES-long
 * Uint8Array. Timed: the submit of one task per node (hard node affinity), each taking that object
 * as its argument and returning its length, until every result is in. Prints one JSON line:
 * { seconds, bytes, nodes: [ips of the nodes the tasks ran on] }.
 */
import * as ray from "stingray";

const lengthOf = ray.remote((a: Uint8Array) => ({ length: a.length, nodeIp: ray.getRuntimeContext().nodeIp }));

const bytes = Number(process.argv[2]);
if (!Number.isInteger(bytes) || bytes <= 0) throw new Error(`usage: broadcast.ts BYTES (got ${process.argv[2]})`);

await ray.init({ address: "auto", logToDriver: false });
try {
  const nodes = (await ray.nodes()).filter((n) => n.alive);
  const on = (n: ray.ClusterNode) => ({ scheduling: { nodeId: n.nodeId, soft: false } }) as const;
  const toEvery = (ref: ray.ObjectRef<Uint8Array>) => nodes.map((n) => lengthOf.options(on(n)).remote(ref));

  const small = await ray.put(new Uint8Array(1 << 20).fill(1));
  await ray.get(toEvery(small));

  const big = await ray.put(new Uint8Array(bytes).fill(7));
  const t0 = performance.now();
  const results = await ray.get(toEvery(big));
  const seconds = (performance.now() - t0) / 1000;

  const bad = results.filter((r) => r.length !== bytes);
  if (bad.length) throw new Error(`tasks saw lengths ${bad.map((r) => r.length).join(", ")}, not ${bytes}`);
  const ips = results.map((r) => r.nodeIp);
  const want = nodes.map((n) => n.nodeIp);
  if (ips.some((ip, i) => ip !== want[i])) throw new Error(`tasks ran on ${ips.join(", ")}, not pinned to ${want.join(", ")}`);
  process.stdout.write(`${JSON.stringify({ seconds, bytes, nodes: ips })}\n`);
} finally {
  await ray.shutdown();
}
