/**
 * @module cli/commands/microbenchmark_tasks
 * The remote functions and actors `stingray microbenchmark` measures. They live in their own
 * module that imports only the public API, because their code is shipped to workers (a worker
 * re-imports just what a function uses; `noop` below is re-created there for the client actors).
 */
import * as ray from "../../api/index.ts";

/** The no-op task. */
export const noop = ray.remote(() => 0);

/** The target of actor calls: a plain method, and an async one for the maxConcurrency metric. */
export class Target {
  ping(): number { return 0; }
  async pingAsync(): Promise<number> { return 0; }
}
export const TargetActor = ray.remote(Target);

/** An actor whose methods are async (Ray's "async actor"). */
export class AsyncTarget {
  async ping(): Promise<number> { return 0; }
}
export const AsyncTargetActor = ray.remote(AsyncTarget);

/** A client actor that drives load itself: batches of no-op tasks, or of calls to its own target actor. */
export class Client {
  target: ray.ActorHandle<Target> | undefined;
  ready(): number { return 0; }
  setTarget(t: ray.ActorHandle<Target>): number { this.target = t; return 0; }
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
