/**
 * @module api/remote
 * `remote(fn)` and `remote(Class)`: typed remote functions, actor classes and actor handles.
 * Each keeps the call site's module URL (for code shipping) and describes its code lazily on the
 * first `.remote()` call, so defining remote functions before `init()` is fine.
 */
import { ObjectRef, type RefOr } from "../worker/object_ref.ts";
import { ObjectRefGenerator, ActorHandleBase, makeActorHandle } from "../worker/handles.ts";
import { runtime } from "../worker/runtime.ts";
import { callerModuleUrl } from "../worker/code/index.ts";
import type { Described } from "../worker/function_manager.ts";
import type { FunctionDescriptorWire } from "../protocol/messages.ts";
import { configOnce } from "../common/config.ts";
import { defaultEnvVars } from "./init.ts";
import type { TaskOptions } from "../worker/runtime.ts";
import { ValueError } from "../common/errors.ts";
import {
  resourcesOf, strategyOf, validateActorOptions, validateTaskOptions,
  type ActorOptionsInput, type TaskOptionsInput,
} from "./options.ts";

/* eslint-disable @typescript-eslint/no-explicit-any -- generic function/constructor shapes */
type AnyFn = (...args: any[]) => any;
type AnyCtor = abstract new (...args: any[]) => any;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Arguments of a remote call: each may be the value or a ref to it. */
export type RemoteArgs<A extends readonly unknown[]> = { [K in keyof A]: RefOr<A[K]> };

type Yielded<R> = R extends AsyncGenerator<infer T, unknown, unknown> ? T
  : R extends Generator<infer T, unknown, unknown> ? T : never;
// Tuple-wrapped so that `never` (a function that always throws) is not distributed into a generator.
type IsGenerator<R> = [R] extends [never] ? false
  : [R] extends [AsyncGenerator<unknown, unknown, unknown> | Generator<unknown, unknown, unknown>] ? true : false;

/** What `.remote()` returns for a function returning R. */
export type RemoteResult<R> = IsGenerator<R> extends true ? ObjectRefGenerator<Yielded<R>> : ObjectRef<Awaited<R>>;

type RefsOf<T> = { -readonly [K in keyof T]: ObjectRef<T[K]> };
type MultiReturn<R> = Awaited<R> extends readonly unknown[] ? RefsOf<Awaited<R>> : ObjectRef<unknown>[];

export interface RemoteFunction<F extends AnyFn, Out = RemoteResult<ReturnType<F>>> {
  remote(...args: RemoteArgs<Parameters<F>>): Out;
  options<const O extends TaskOptionsInput>(o: O): RemoteFunction<F,
    O extends { numReturns: "streaming" } ? ObjectRefGenerator<Yielded<ReturnType<F>>>
      : O extends { numReturns: 0 } ? void
        : O extends { numReturns: number } ? (O["numReturns"] extends 1 ? Out : MultiReturn<ReturnType<F>>) : Out>;
}

type Methods<T> = { [K in keyof T as T[K] extends AnyFn ? K : never]: T[K] extends AnyFn ? ActorMethod<T[K]> : never };

export interface ActorMethod<F extends AnyFn, Out = RemoteResult<ReturnType<F>>> {
  remote(...args: RemoteArgs<Parameters<F>>): Out;
  options<const O extends { numReturns?: number | "streaming"; name?: string }>(o: O): ActorMethod<F,
    O extends { numReturns: "streaming" } ? ObjectRefGenerator<Yielded<ReturnType<F>>>
      : O extends { numReturns: number } ? (O["numReturns"] extends 1 ? Out : MultiReturn<ReturnType<F>>) : Out>;
}

/** A handle to a running actor: every method of T as an ActorMethod. */
export type ActorHandle<T> = Methods<T> & { readonly actorId: string; readonly className: string };

export interface ActorClass<C extends AnyCtor> {
  remote(...args: RemoteArgs<ConstructorParameters<C>>): ActorHandle<InstanceType<C>>;
  options(o: ActorOptionsInput): ActorClass<C>;
}

function fnName(f: AnyFn | AnyCtor): string { return (f as { name?: string }).name || "anonymous"; }

class RemoteCode {
  readonly target: AnyFn | AnyCtor;
  readonly callerUrl: string | undefined;
  constructor(target: AnyFn | AnyCtor, callerUrl: string | undefined) {
    this.target = target;
    this.callerUrl = callerUrl;
  }
  describe(): Described {
    // Cheap after the first call (cached per function); `uploaded` becomes undefined once the
    // code package is in the GCS, which lets submission skip a promise hop.
    return runtime().describe(this.target as unknown as Function, this.callerUrl);
  }
}

class RemoteFunctionImpl {
  private code: RemoteCode;
  private opts: TaskOptionsInput;
  constructor(code: RemoteCode, opts: TaskOptionsInput) {
    this.code = code;
    this.opts = opts;
  }
  options(o: TaskOptionsInput): RemoteFunctionImpl {
    validateTaskOptions(`${fnName(this.code.target)}.options()`, o);
    return new RemoteFunctionImpl(this.code, { ...this.opts, ...o });
  }
  /**
   * The submit options, resolved once and shared by every call (until the defaults they depend on
   * change): a million queued calls share one options object, and the submitter can recognise
   * their scheduling class by identity.
   */
  private resolved: { opts: TaskOptions; envVars: typeof defaultEnvVars; maxRetries: number } | undefined;
  private taskOptions(): TaskOptions {
    const maxRetries = configOnce("task_max_retries");
    const r = this.resolved;
    if (r && r.envVars === defaultEnvVars && r.maxRetries === maxRetries) return r.opts;
    const o = this.opts;
    const opts: TaskOptions = {
      name: o.name ?? fnName(this.code.target),
      numReturns: o.numReturns === "streaming" ? -1 : (o.numReturns as number | undefined) ?? 1,
      resources: resourcesOf(o, 1),
      maxRetries: o.maxRetries ?? maxRetries,
      retryExceptions: o.retryExceptions ?? false,
      envVars: o.runtimeEnv?.envVars ?? defaultEnvVars,
      maxCalls: o.maxCalls,
      strategy: strategyOf(o.scheduling, o.labelSelector),
    };
    this.resolved = { opts, envVars: defaultEnvVars, maxRetries };
    return opts;
  }
  remote(...args: unknown[]): unknown {
    const o = this.opts;
    const cw = runtime();
    const streaming = o.numReturns === "streaming";
    const { refs, taskId } = cw.submitTask(this.code.describe(), args, this.taskOptions());
    if (streaming) return new ObjectRefGenerator(taskId);
    if ((o.numReturns ?? 1) === 1) return refs[0];
    if (o.numReturns === 0) return undefined;
    return refs;
  }
}

class ActorClassImpl {
  private code: RemoteCode;
  private opts: ActorOptionsInput;
  constructor(code: RemoteCode, opts: ActorOptionsInput) {
    this.code = code;
    this.opts = opts;
  }
  options(o: ActorOptionsInput): ActorClassImpl {
    validateActorOptions(`${fnName(this.code.target)}.options()`, o);
    return new ActorClassImpl(this.code, { ...this.opts, ...o });
  }
  remote(...args: unknown[]): unknown {
    const o = this.opts;
    const cw = runtime();
    const d = this.code.describe();
    const className = fnName(this.code.target);
    const maxTaskRetries = o.maxTaskRetries ?? 0;
    const actorId = cw.createActor(d, args, {
      className, resources: resourcesOf(o, 0), name: o.name, namespace: o.namespace,
      detached: o.lifetime === "detached", maxRestarts: o.maxRestarts ?? 0, maxTaskRetries,
      maxConcurrency: o.maxConcurrency, envVars: o.runtimeEnv?.envVars ?? defaultEnvVars, strategy: strategyOf(o.scheduling, o.labelSelector),
    });
    return makeActorHandle(new ActorHandleBase(actorId, className, d.descriptor as FunctionDescriptorWire, maxTaskRetries));
  }
}

function isClass(x: unknown): boolean {
  return typeof x === "function" && /^class[\s{]/.test(Function.prototype.toString.call(x));
}

/** Make a function a remote function, or a class an actor class. */
export function remote<C extends AnyCtor>(cls: C): ActorClass<C>;
export function remote<F extends AnyFn>(fn: F): RemoteFunction<F>;
export function remote(target: AnyFn | AnyCtor, ..._rest: never[]): unknown {
  if (typeof target !== "function") {
    throw new ValueError(`remote() takes a function or a class, got ${target === null ? "null" : typeof target}`);
  }
  const code = new RemoteCode(target, callerModuleUrl(new Error().stack));
  return isClass(target) ? new ActorClassImpl(code, {}) : new RemoteFunctionImpl(code, {});
}

export { ObjectRef, ObjectRefGenerator, ActorHandleBase, makeActorHandle };
