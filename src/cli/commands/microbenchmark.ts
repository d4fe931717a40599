/**
 * @module cli/commands/microbenchmark
 * `stingray microbenchmark`: Ray's core microbenchmarks, by Ray's metric names, against a local
 * cluster. Each metric runs several time-boxed trials; a line `<name> <rate> +- <stddev> <unit>`
 * is printed as soon as it is measured (`--json` for machines, `--quick` for smoke runs).
 */
import os from "node:os";
import { parse, help, type FlagSpec } from "../args.ts";
import * as ray from "../../api/index.ts";
import { AsyncTargetActor, ClientActor, TargetActor, noop } from "./microbenchmark_tasks.ts";

const FLAGS: FlagSpec = {
  quick: { type: "boolean", help: "Tiny sizes and short trials (a smoke test)." },
  json: { type: "boolean", help: "Print one JSON document instead of lines." },
  filter: { type: "string", help: "Run only metrics whose name contains this." },
  help: { type: "boolean", short: "h", help: "Show this help." },
};

interface Metric { name: string; rate: number; spread: number; unit: string }

export async function microbenchmarkCommand(argv: string[]): Promise<number> {
  const { values: v } = parse("microbenchmark", argv, FLAGS);
  if (v.help) { process.stdout.write(help("microbenchmark [--quick] [--json] [--filter S]", "Ray's core microbenchmarks on a local cluster.", FLAGS)); return 0; }
  const quick = v.quick === true;
  const filter = (v.filter as string | undefined) ?? "";
  const trials = quick ? 2 : 5;
  const trialMs = quick ? 150 : 1500;
  const batch = quick ? 100 : 1000;
  const metrics: Metric[] = [];
  const emit = (m: Metric): void => {
    metrics.push(m);
    if (!v.json) process.stdout.write(`${m.name} ${fmt(m.rate)} +- ${fmt(m.spread)} ${m.unit}\n`);
  };

  const t0 = performance.now();
  const cpus = os.availableParallelism();
  await ray.init({ numCpus: cpus, logToDriver: false });
  await ray.get(noop.remote());
  const initMs = performance.now() - t0;
  if ("local_cluster_init_ms".includes(filter)) emit({ name: "local_cluster_init_ms", rate: initMs, spread: 0, unit: "ms" });

  /** Run `step` (which does `unitsPerStep` operations) repeatedly for trialMs, `trials` times. */
  const rate = async (name: string, unitsPerStep: number, step: () => Promise<unknown>, unit = "per second"): Promise<void> => {
    if (!name.includes(filter)) return;
    await step(); // warm up
    const rates: number[] = [];
    for (let t = 0; t < trials; t++) {
      let n = 0;
      const start = performance.now();
      while (performance.now() - start < trialMs) { await step(); n += unitsPerStep; }
      rates.push(n / ((performance.now() - start) / 1000));
    }
    emit({ name, rate: mean(rates), spread: stddev(rates), unit });
  };

  try {
    await rate("single_client_tasks_sync", 1, () => ray.get(noop.remote()));
    await rate("single_client_tasks_async", batch, () => ray.get(Array.from({ length: batch }, () => noop.remote())));
    const nClients = Math.max(2, cpus);
    const clients = Array.from({ length: nClients }, () => ClientActor.remote());
    await rate("multi_client_tasks_async", batch * nClients, () => ray.get(clients.map((c) => c.tasks.remote(batch))));
    const a = TargetActor.remote();
    await rate("1_1_actor_calls_sync", 1, () => ray.get(a.ping.remote()));
    await rate("1_1_actor_calls_async", batch, () => ray.get(Array.from({ length: batch }, () => a.ping.remote())));
    const conc = TargetActor.options({ maxConcurrency: 16 }).remote();
    await rate("1_1_actor_calls_concurrent", batch, () => ray.get(Array.from({ length: batch }, () => conc.pingAsync.remote())));
    const many = Array.from({ length: nClients }, () => TargetActor.remote());
    await rate("1_n_actor_calls_async", batch * nClients, () => ray.get(many.flatMap((m) => Array.from({ length: batch }, () => m.ping.remote()))));
    const targets = Array.from({ length: nClients }, () => TargetActor.remote());
    await ray.get(clients.map((c, i) => c.setTarget.remote(targets[i]!)));
    await rate("n_n_actor_calls_async", batch * nClients, () => ray.get(clients.map((c) => c.calls.remote(batch))));
    const aa = AsyncTargetActor.remote();
    await rate("1_1_async_actor_calls_sync", 1, () => ray.get(aa.ping.remote()));
    await rate("1_1_async_actor_calls_async", batch, () => ray.get(Array.from({ length: batch }, () => aa.ping.remote())));
    await rate("single_client_put_calls", batch, async () => { for (let i = 0; i < batch; i++) await ray.put(i); });
    const small = await ray.put(1);
    await rate("single_client_get_calls", batch, async () => { for (let i = 0; i < batch; i++) await ray.get(small); });
    const gb = quick ? 0.01 : 0.4;
    const payload = new Float64Array((gb * 1e9) / 8).fill(1);
    await rate("single_client_put_gigabytes", gb, () => ray.put(payload), "GB per second");
    await rate("single_client_tasks_and_get_batch", batch, () => ray.get(Array.from({ length: batch }, () => noop.remote())));
    const nRefs = quick ? 1000 : 10_000;
    const refs = await Promise.all(Array.from({ length: nRefs }, (_, i) => ray.put(i)));
    const holder = await ray.put(refs);
    await rate("single_client_get_object_containing_10k_refs", 1, () => ray.get(holder));
    const ready = refs.slice(0, 1000);
    await rate("single_client_wait_1k_refs", 1, () => ray.wait(ready, { numReturns: ready.length }));
  } finally {
    await ray.shutdown();
  }
  if (v.json) {
    process.stdout.write(JSON.stringify({ metrics, machine: { cpus, node: process.version, platform: `${os.platform()} ${os.arch()}` } }, null, 2) + "\n");
  }
  return 0;
}

function mean(xs: number[]): number { return xs.reduce((a, b) => a + b, 0) / xs.length; }
function stddev(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
}
function fmt(x: number): string { return x >= 100 ? x.toFixed(0) : x.toFixed(2); }
