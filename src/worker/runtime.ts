/**
 * @module worker/runtime
 * What the public API needs from the process's runtime, and where to find it. Two runtimes
 * implement `Runtime`: the core worker (drivers on a node, and worker processes) and the remote
 * client (a driver with no node of its own, talking to a proxy on the head, Ray Client's role).
 */
import type { ObjectRef } from "./object_ref.ts";
import type { Described } from "./function_manager.ts";
import type { ActorInfo, FunctionDescriptorWire, NodeInfo, SchedulingStrategy } from "../protocol/messages.ts";
import { RuntimeStateError } from "../common/errors.ts";

export interface TaskOptions {
  numReturns: number;   // -1: streaming
  resources: Record<string, number>;
  maxRetries: number;
  retryExceptions: boolean;
  envVars?: Record<string, string> | undefined;
  maxCalls?: number | undefined;
  strategy?: SchedulingStrategy | undefined;
  name: string;
  /** Use this task id (a remote client chose it) instead of a new one. */
  taskId?: string | undefined;
}

export interface ActorOptions {
  resources: Record<string, number>;
  name?: string | undefined;
  namespace?: string | undefined;
  detached: boolean;
  maxRestarts: number;
  maxTaskRetries: number;
  maxConcurrency?: number | undefined;
  envVars?: Record<string, string> | undefined;
  strategy?: SchedulingStrategy | undefined;
  className: string;
  /** Use this actor id (a remote client chose it) instead of a new one. */
  actorId?: string | undefined;
}

export interface RuntimeInfo {
  jobId: string;
  nodeId: string;
  nodeIp: string;
  workerId: string;
  namespace: string;
  mode: "driver" | "worker" | "client";
}

export interface Runtime {
  readonly info: RuntimeInfo;
  describe(target: Function, callerUrl: string | undefined): Described;
  submitTask(d: Described, args: unknown[], o: TaskOptions): { refs: ObjectRef[]; taskId: string };
  createActor(d: Described, args: unknown[], o: ActorOptions): string;
  submitActorTask(actorId: string, fn: FunctionDescriptorWire, method: string, args: unknown[],
    o: { numReturns: number; name: string; taskId?: string | undefined }): { refs: ObjectRef[]; taskId: string };
  trackActor(actorId: string, maxTaskRetries: number): void;
  nextStreamItem(taskId: string, index: number): Promise<ObjectRef | undefined>;
  get(refs: ObjectRef[], timeoutMs: number | undefined): Promise<unknown[]>;
  /** `get` of one ref (the common `await get(f.remote())`, without the arrays). */
  getOne(ref: ObjectRef, timeoutMs: number | undefined): Promise<unknown>;
  put<T>(value: T): Promise<ObjectRef<T>>;
  wait(refs: ObjectRef[], numReturns: number, timeoutMs: number | undefined): Promise<[ObjectRef[], ObjectRef[]]>;
  cancel(ref: ObjectRef, force: boolean): void;
  killActor(actorId: string, noRestart: boolean): Promise<void>;
  getActorInfo(name: string, namespace: string | undefined): Promise<ActorInfo | undefined>;
  nodes(): Promise<NodeInfo[]>;
  /** Replace the cluster's standing resource request (the autoscaler sizes the cluster to hold these bundles at once). */
  requestResources(bundles: Array<Record<string, number>>): Promise<void>;
  /** The actor this process hosts, if any. */
  hostedActorId(): string | undefined;
}

let current: Runtime | undefined;

export function setRuntime(r: Runtime | undefined): void { current = r; }
export function maybeRuntime(): Runtime | undefined { return current; }
export function runtime(): Runtime {
  if (!current) {
    throw new RuntimeStateError("Stingray is not initialised in this process: call `await init()` first " +
      "(or `init({ address: \"auto\" })` to join a running cluster)");
  }
  return current;
}
