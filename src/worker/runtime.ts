/**
 * @module worker/runtime
 * The process's current core worker (a driver's after `init()`, or the worker process's own), so
 * the public API and user code running on workers reach the same runtime.
 */
import type { CoreWorker } from "./core_worker.ts";
import { RuntimeStateError } from "../common/errors.ts";

let current: CoreWorker | undefined;

export function setCoreWorker(cw: CoreWorker | undefined): void { current = cw; }
export function maybeCoreWorker(): CoreWorker | undefined { return current; }
export function coreWorker(): CoreWorker {
  if (!current) {
    throw new RuntimeStateError("Stingray is not initialised in this process: call `await init()` first " +
      "(or `init({ address: \"auto\" })` to join a running cluster)");
  }
  return current;
}
