/**
 * @module worker/handles
 * Handles user code holds: actor handles (a Proxy that turns \`handle.method.remote(...)\` into
 * actor calls, serializable so handles can be passed to tasks and other actors) and the
 * ObjectRefGenerator of streaming tasks.
 */
import { addExtension } from "./serialization.ts";
import { runtime } from "./runtime.ts";
import type { ObjectRef } from "./object_ref.ts";
import type { FunctionDescriptorWire } from "../protocol/messages.ts";

/** A streaming generator task's results: iterate to get one ref per yielded value. */
export class ObjectRefGenerator<T> implements AsyncIterable<ObjectRef<T>> {
  readonly taskId: string;
  private index = 0;
  constructor(taskId: string) { this.taskId = taskId; }
  /** The next yielded value's ref, or undefined when the generator is done. Throws the task's error. */
  async next(): Promise<ObjectRef<T> | undefined> {
    const r = await runtime().nextStreamItem(this.taskId, this.index);
    if (r) this.index++;
    return r as ObjectRef<T> | undefined;
  }
  async *[Symbol.asyncIterator](): AsyncIterator<ObjectRef<T>> {
    for (;;) {
      const r = await this.next();
      if (!r) return;
      yield r;
    }
  }
}

/** Base of actor handles; the Proxy around it turns property reads into method stubs. */
export class ActorHandleBase {
  readonly actorId: string;
  readonly className: string;
  readonly descriptor: FunctionDescriptorWire;
  readonly maxTaskRetries: number;
  constructor(actorId: string, className: string, descriptor: FunctionDescriptorWire, maxTaskRetries: number) {
    this.actorId = actorId;
    this.className = className;
    this.descriptor = descriptor;
    this.maxTaskRetries = maxTaskRetries;
  }
}

function method(h: ActorHandleBase, name: string, opts: { numReturns?: number | "streaming"; name?: string }): unknown {
  return {
    remote: (...args: unknown[]) => {
      const streaming = opts.numReturns === "streaming";
      const { refs, taskId } = runtime().submitActorTask(h.actorId, h.descriptor, name, args, {
        numReturns: streaming ? -1 : (opts.numReturns as number | undefined) ?? 1,
        name: opts.name ?? `${h.className}.${name}`,
      });
      if (streaming) return new ObjectRefGenerator(taskId);
      if ((opts.numReturns ?? 1) === 1) return refs[0];
      return refs;
    },
    options: (o: { numReturns?: number | "streaming"; name?: string }) => method(h, name, { ...opts, ...o }),
  };
}

export function makeActorHandle(base: ActorHandleBase): unknown {
  runtime().trackActor(base.actorId, base.maxTaskRetries);
  return new Proxy(base, {
    get(target, prop) {
      if (prop === "constructor") return ActorHandleBase;
      if (typeof prop !== "string" || prop === "then" || prop in target) {
        return (target as unknown as Record<string | symbol, unknown>)[prop];
      }
      return method(target, prop, {});
    },
  });
}

// Registered when this module loads (core_worker imports it), so handles inside task arguments
// decode before any user code has run in the process.
addExtension({
    Class: ActorHandleBase, type: 0x34,
    write: (h: ActorHandleBase) => [h.actorId, h.className, h.descriptor, h.maxTaskRetries],
    read: (a: [string, string, FunctionDescriptorWire, number]) => makeActorHandle(new ActorHandleBase(...a)),
});

