/**
 * @module cli/commands/microbenchmark_tasks
 * The remote functions and actors `stingray microbenchmark` measures. They live in their own
 * module that imports only the public API, because their code is shipped to workers (a worker
 * re-imports just what a function uses; `noop` below is re-created there for the client actors).
 */
import v8 from "node:v8";
import vm from "node:vm";
import * as ray from "../../api/index.ts";

/** The no-op task. */
export const noop = ray.remote(() => 0);

/** The target of actor calls: a plain method, and an async one for the maxConcurrency metric. */
export class Target {
  ping(): number { return 0; }
  pingArg(_x: number): number { return 0; }
  async pingAsync(): Promise<number> { return 0; }
}
export const TargetActor = ray.remote(Target);

/** An actor whose methods are async (Ray's "async actor"). */
export class AsyncTarget {
  async ping(): Promise<number> { return 0; }
  async pingArg(_x: number): Promise<number> { return 0; }
}
export const AsyncTargetActor = ray.remote(AsyncTarget);

/** A client actor that drives load itself: batches of no-op tasks, or of calls to its own target actor. */
export class Client {
  target: ray.ActorHandle<Target> | undefined;
  asyncTarget: ray.ActorHandle<AsyncTarget> | undefined;
  ready(): number { return 0; }
  setTarget(t: ray.ActorHandle<Target>): number { this.target = t; return 0; }
  setAsyncTarget(t: ray.ActorHandle<AsyncTarget>): number { this.asyncTarget = t; return 0; }
  /** A batch of calls to the async target actor. */
  async asyncCalls(n: number): Promise<number> {
    const t = this.asyncTarget!;
    await ray.get(Array.from({ length: n }, () => t.ping.remote()));
    return n;
  }
  /** A batch of calls that each pass an argument stored in the object store (a ref), as Ray's does. */
  async callsWithArg(n: number): Promise<number> {
    const t = this.target!;
    const x = await ray.put(0);
    await ray.get(Array.from({ length: n }, () => t.pingArg.remote(x)));
    return n;
  }
  async tasks(n: number): Promise<number> {
    await ray.get(Array.from({ length: n }, () => noop.remote()));
    return n;
  }
  async calls(n: number): Promise<number> {
    const t = this.target!;
    await ray.get(Array.from({ length: n }, () => t.ping.remote()));
    return n;
  }
}
export const ClientActor = ray.remote(Client);

/** `n` small puts, one after another (multi_client_put_calls runs several of these at once). */
export const putSmall = ray.remote(async (n: number) => {
  for (let i = 0; i < n; i++) await ray.put(i);
  return n;
});

/**
 * `k` puts of a `bytes`-byte array (multi_client_put_gigabytes). Each dropped ref is collected
 * and freed before the next put, as Python's reference count frees it at once in Ray's loop;
 * the collection is part of the timed work here.
 */
export const putLarge = ray.remote(async (bytes: number, k: number) => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const a = new Uint8Array(bytes).fill(1);
  for (let i = 0; i < k; i++) {
    await ray.put(a);
    gc();
    await new Promise((r) => setTimeout(r, 1));
  }
  return k;
});
