/**
 * @module cli/commands/microbenchmark_tasks
 * The remote functions and actors `stingray microbenchmark` measures. They live in their own
 * module that imports only the public API, because their code is shipped to workers.
 */
import * as ray from "../../api/index.ts";

export const noop = ray.remote(() => 0);

class Target {
  ping(): number { return 0; }
  async pingAsync(): Promise<number> { return 0; }
}
export const TargetActor = ray.remote(Target);

class AsyncTarget {
  async ping(): Promise<number> { return 0; }
}
export const AsyncTargetActor = ray.remote(AsyncTarget);

/** A client actor that drives load itself: tasks, or calls to its own target actor. */
class Client {
  target: ray.ActorHandle<Target> | undefined;
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
