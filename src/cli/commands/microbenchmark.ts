/**
 * @module cli/commands/microbenchmark
 * `stingray microbenchmark`: Ray's core microbenchmarks, by Ray's metric names, against a local
 * cluster this command starts. Each metric runs a warm-up step, then several time-boxed trials; a
 * line `<name> <rate> +- <stddev> <unit>` is printed as soon as a metric is measured (`--json`
 * prints one JSON document at the end instead, `--quick` uses tiny sizes for smoke runs).
 *
 * The remote functions and actors live in ./microbenchmark_tasks.ts, which imports only the
 * public API: their code is shipped to workers.
 */
import os from "node:os";
import v8 from "node:v8";
import vm from "node:vm";
import { parse, help, UsageError, type FlagSpec } from "../args.ts";
import * as ray from "../../api/index.ts";
import { AsyncTargetActor, ClientActor, TargetActor, noop, putLarge, putSmall } from "./microbenchmark_tasks.ts";

const FLAGS: FlagSpec = {
  quick: { type: "boolean", help: "Tiny sizes and short trials: a smoke run of a few seconds, not a measurement." },
  json: { type: "boolean", help: "Print one JSON document {metrics, machine} at the end instead of lines." },
  filter: { type: "string", help: "Run only the metrics whose name contains this substring." },
  trials: { type: "string", help: "Timed trials per metric (default 5, 2 with --quick)." },
  help: { type: "boolean", short: "h", help: "Show this help." },
};

export interface Metric {
  name: string; rate: number; spread: number; unit: string;
  /** The rate of each trial (for the benchmark suite's median, min and max). */
  samples: number[];
}

/** One benchmark: `step` does `units` operations; `setup` runs once, untimed, only if the metric is selected. */
interface Bench {
  name: string;
  units: number;
  unit?: string;
  setup?: () => Promise<void>;
  step: () => Promise<unknown>;
  /** Untimed work between steps (freeing what the step made). */
  between?: () => Promise<void> | void;
}

/** A way to run a full V8 collection: refs dropped by a put loop are freed only when V8 collects them. */
function gcFunction(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === "function") return g;
  try {
    v8.setFlagsFromString("--expose-gc");
    return vm.runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
}

export async function microbenchmarkCommand(argv: string[]): Promise<number> {
  const { values: v } = parse("microbenchmark", argv, FLAGS);
  if (v.help) {
    process.stdout.write(help("microbenchmark [--quick] [--json] [--filter SUBSTR]",
      "Run Ray's core microbenchmarks (tasks, actor calls, put/get/wait) against a local cluster.\n" +
      "Prints `<name> <rate> +- <stddev> <unit>` per metric. See bench/README.md.", FLAGS));
    return 0;
  }
  const quick = v.quick === true;
  const asJson = v.json === true;
  const filter = (v.filter as string | undefined) ?? "";
  const trials = v.trials === undefined ? (quick ? 2 : 5) : Number(v.trials);
  if (!Number.isInteger(trials) || trials < 1) throw new UsageError(`--trials must be a positive integer, got ${String(v.trials)}`);
  const trialMs = quick ? 150 : 1500;
  const warmupMs = quick ? 100 : 1000;
  const batch = quick ? 100 : 1000;
  const cpus = os.availableParallelism();
  // n for the 1:n and n:n metrics: one per CPU, at least 2, at most 8 (each actor is a process).
  const n = Math.max(2, Math.min(cpus, 8));
  const putBytes = quick ? 10e6 : 400e6;
  const selected = (name: string): boolean => name.includes(filter);

  const metrics: Metric[] = [];
  const emit = (m: Metric): void => {
    metrics.push(m);
    if (!asJson) process.stdout.write(`${m.name} ${fmt(m.rate)} +- ${fmt(m.spread)} ${m.unit}\n`);
  };

  // A hung metric should fail the run, not hang it (CI): the exit hook of init() stops the cluster.
  let current = "local_cluster_init_ms";
  let deadline = Date.now() + (quick ? 60_000 : 180_000);
  const watchdog = setInterval(() => {
    if (Date.now() < deadline) return;
    process.stderr.write(`stingray microbenchmark: ${current} did not finish in time; giving up\n`);
    process.exit(1);
  }, 500);
  watchdog.unref();

  const t0 = performance.now();
  await ray.init({ numCpus: cpus, logToDriver: false });
  try {
    await ray.get(noop.remote());
    const initMs = performance.now() - t0;
    if (selected("local_cluster_init_ms")) emit({ name: "local_cluster_init_ms", rate: initMs, spread: 0, unit: "ms", samples: [initMs] });

    // Actors and objects shared by several metrics, made on first use.
    let clients: ray.ActorHandle<InstanceType<typeof import("./microbenchmark_tasks.ts").Client>>[] | undefined;
    const getClients = async (): Promise<NonNullable<typeof clients>> => {
      if (!clients) {
        clients = Array.from({ length: n }, () => ClientActor.remote());
        await ray.get(clients.map((c) => c.ready.remote()));
      }
      return clients;
    };
    let target: ray.ActorHandle<InstanceType<typeof import("./microbenchmark_tasks.ts").Target>> | undefined;
    let concurrent: typeof target;
    let targets: NonNullable<typeof target>[] = [];
    let asyncTarget: ray.ActorHandle<InstanceType<typeof import("./microbenchmark_tasks.ts").AsyncTarget>> | undefined;
    let asyncTargets: NonNullable<typeof asyncTarget>[] = [];
    const putsPerClient = quick ? 2 : 5;
    let small: ray.ObjectRef<number> | undefined;
    let payload: Float64Array | undefined;
    let holder: ray.ObjectRef<ray.ObjectRef<number>[]> | undefined;
    let readyRefs: ray.ObjectRef<number>[] = [];
    const gc = gcFunction();
    const nTasks = (): ray.ObjectRef<number>[] => Array.from({ length: batch }, () => noop.remote());
    /** Give each client actor its own target actor (the n:n metrics). */
    const pairClientsWithTargets = async (): Promise<void> => {
      const cs = await getClients();
      if (targets.length !== n) targets = Array.from({ length: n }, () => TargetActor.remote());
      await ray.get(cs.map((c, i) => c.setTarget.remote(targets[i]!)));
    };

    const benches: Bench[] = [
      { name: "single_client_tasks_sync", units: 1, step: () => ray.get(noop.remote()) },
      { name: "single_client_tasks_async", units: batch, step: () => ray.get(nTasks()) },
      { name: "multi_client_tasks_async", units: batch * n, setup: async () => { await getClients(); },
        step: () => ray.get(clients!.map((c) => c.tasks.remote(batch))) },
      { name: "1_1_actor_calls_sync", units: 1,
        setup: async () => { target = TargetActor.remote(); await ray.get(target.ping.remote()); },
        step: () => ray.get(target!.ping.remote()) },
      { name: "1_1_actor_calls_async", units: batch,
        setup: async () => { target ??= TargetActor.remote(); await ray.get(target.ping.remote()); },
        step: () => ray.get(Array.from({ length: batch }, () => target!.ping.remote())) },
      { name: "1_1_actor_calls_concurrent", units: batch,
        setup: async () => { concurrent = TargetActor.options({ maxConcurrency: 16 }).remote(); await ray.get(concurrent.ping.remote()); },
        step: () => ray.get(Array.from({ length: batch }, () => concurrent!.pingAsync.remote())) },
      { name: "1_n_actor_calls_async", units: batch * n,
        setup: async () => {
          targets = Array.from({ length: n }, () => TargetActor.remote());
          await ray.get(targets.map((t) => t.ping.remote()));
        },
        step: () => ray.get(targets.flatMap((t) => Array.from({ length: batch }, () => t.ping.remote()))) },
      { name: "n_n_actor_calls_async", units: batch * n, setup: pairClientsWithTargets,
        step: () => ray.get(clients!.map((c) => c.calls.remote(batch))) },
      { name: "n_n_actor_calls_with_arg_async", units: batch * n, setup: pairClientsWithTargets,
        step: () => ray.get(clients!.map((c) => c.callsWithArg.remote(batch))) },
      { name: "1_1_async_actor_calls_sync", units: 1,
        setup: async () => { asyncTarget = AsyncTargetActor.remote(); await ray.get(asyncTarget.ping.remote()); },
        step: () => ray.get(asyncTarget!.ping.remote()) },
      { name: "1_1_async_actor_calls_async", units: batch,
        setup: async () => { asyncTarget ??= AsyncTargetActor.remote(); await ray.get(asyncTarget.ping.remote()); },
        step: () => ray.get(Array.from({ length: batch }, () => asyncTarget!.ping.remote())) },
      { name: "1_1_async_actor_calls_with_args_async", units: batch,
        setup: async () => { asyncTarget ??= AsyncTargetActor.remote(); small ??= await ray.put(1); await ray.get(asyncTarget.ping.remote()); },
        step: () => ray.get(Array.from({ length: batch }, () => asyncTarget!.pingArg.remote(small!))) },
      { name: "1_n_async_actor_calls_async", units: batch * n,
        setup: async () => {
          asyncTargets = Array.from({ length: n }, () => AsyncTargetActor.remote());
          await ray.get(asyncTargets.map((t) => t.ping.remote()));
        },
        step: () => ray.get(asyncTargets.flatMap((t) => Array.from({ length: batch }, () => t.ping.remote()))) },
      { name: "n_n_async_actor_calls_async", units: batch * n,
        setup: async () => {
          const cs = await getClients();
          if (asyncTargets.length !== n) asyncTargets = Array.from({ length: n }, () => AsyncTargetActor.remote());
          await ray.get(cs.map((c, i) => c.setAsyncTarget.remote(asyncTargets[i]!)));
        },
        step: () => ray.get(clients!.map((c) => c.asyncCalls.remote(batch))) },
      { name: "single_client_put_calls", units: batch,
        step: async () => { for (let i = 0; i < batch; i++) await ray.put(i); } },
      { name: "single_client_get_calls", units: batch,
        setup: async () => { small = await ray.put(1); },
        step: async () => { for (let i = 0; i < batch; i++) await ray.get(small!); } },
      { name: "single_client_put_gigabytes", units: putBytes / 1e9, unit: "GB per second",
        setup: async () => { payload = new Float64Array(putBytes / 8).fill(1); },
        step: () => ray.put(payload!),
        // The dropped ref is freed when V8 collects it (Python's refcount frees it at once);
        // without a collection the store fills and later puts would measure spilling instead.
        // The waits let the finalizer run and the free reach the raylet before the next put.
        between: async () => { gc?.(); await tick(); await tick(); } },
      { name: "multi_client_put_calls", units: batch * n,
        step: () => ray.get(Array.from({ length: n }, () => putSmall.remote(batch))) },
      { name: "multi_client_put_gigabytes", units: (putsPerClient * putBytes) / 1e9, unit: "GB per second",
        step: () => ray.get(Array.from({ length: n }, () => putLarge.remote(putBytes / n, putsPerClient))) },
      { name: "single_client_tasks_and_get_batch", units: batch, step: () => ray.get(nTasks()) },
      { name: "single_client_get_object_containing_10k_refs", units: 1,
        setup: async () => {
          const refs = await Promise.all(Array.from({ length: 10_000 }, (_, i) => ray.put(i)));
          holder = await ray.put(refs);
          readyRefs = refs.slice(0, 1000);
        },
        step: () => ray.get(holder!) },
      { name: "single_client_wait_1k_refs", units: 1,
        setup: async () => {
          if (readyRefs.length === 0) readyRefs = await Promise.all(Array.from({ length: 1000 }, (_, i) => ray.put(i)));
        },
        step: () => ray.wait(readyRefs, { numReturns: readyRefs.length }) },
    ];

    for (const b of benches) {
      if (!selected(b.name)) continue;
      current = b.name;
      deadline = Date.now() + (quick ? 60_000 : 180_000);
      const rates: number[] = [];
      try {
        await b.setup?.();
        // Warm-up, time-boxed like Ray's timeit (1 s): the JIT needs a moment of load to
        // compile the hot paths, and the first trial would otherwise measure the interpreter.
        const warm = performance.now();
        do {
          await b.step();
          await b.between?.();
        } while (performance.now() - warm < warmupMs);
        for (let t = 0; t < trials; t++) {
          let done = 0;
          let busyMs = 0;
          const start = performance.now();
          while (performance.now() - start < trialMs) {
            const s = performance.now();
            await b.step();
            busyMs += performance.now() - s;
            done += b.units;
            await b.between?.();
          }
          rates.push(done / (busyMs / 1000));
        }
      } catch (e) {
        process.stderr.write(`stingray microbenchmark: ${b.name} failed\n`);
        throw e;
      }
      emit({ name: b.name, rate: mean(rates), spread: stddev(rates), unit: b.unit ?? "per second", samples: rates });
    }
  } finally {
    current = "shutdown";
    deadline = Date.now() + 60_000;
    await ray.shutdown();
    clearInterval(watchdog);
  }
  if (asJson) {
    process.stdout.write(JSON.stringify({
      metrics, machine: { cpus, node: process.version, platform: `${os.platform()} ${os.arch()}` },
    }, null, 2) + "\n");
  }
  return 0;
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));
function mean(xs: number[]): number { return xs.reduce((a, b) => a + b, 0) / xs.length; }
function stddev(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
}
/** Like Ray's report: about three significant digits, no exponent. */
function fmt(x: number): string {
  if (x === 0) return "0";
  if (x >= 1000) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}
