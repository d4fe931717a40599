/**
 * @module stingray
 * The public API: Ray's model for TypeScript. `init()` a cluster, make functions and classes
 * remote, pass ObjectRefs around, `get` results.
 *
 *   import * as ray from "stingray";
 *   await ray.init();
 *   const square = ray.remote((x: number) => x * x);
 *   await ray.get(square.remote(3)); // 9
 */
import { ObjectRef } from "../worker/object_ref.ts";
import { runtime, maybeRuntime } from "../worker/runtime.ts";
import { taskStorage } from "../worker/executor.ts";
import { ActorHandleBase, makeActorHandle } from "./remote.ts";
import type { ActorHandle } from "./remote.ts";
import { NameError, ValueError } from "../common/errors.ts";
import type { NodeInfo } from "../protocol/messages.ts";
import { add } from "../common/resources.ts";

export { init, shutdown, isInitialized, type InitOptions, type InitInfo } from "./init.ts";
export { remote, ObjectRefGenerator } from "./remote.ts";
export type { RemoteFunction, ActorClass, ActorHandle, ActorMethod, RemoteArgs, RemoteResult } from "./remote.ts";
export type { TaskOptionsInput, ActorOptionsInput, Scheduling } from "./options.ts";
export { ObjectRef } from "../worker/object_ref.ts";
export type { RefOr } from "../worker/object_ref.ts";
export * from "../common/errors.ts";
/** Application metrics exported with the node's Prometheus metrics (Ray's ray.util.metrics). */
export * as metrics from "./metrics.ts";
/** The autoscaler SDK (Ray's ray.autoscaler.sdk): `autoscaler.requestResources({ numCpus, bundles })`. */
export * as autoscaler from "./autoscaler.ts";
export { requestResources, type ResourceRequest } from "./autoscaler.ts";

/** Get the value of a ref, or of each ref in an array. Throws the task's error, or GetTimeoutError. */
export function get<T>(ref: ObjectRef<T>, options?: { timeout?: number }): Promise<T>;
export function get<const R extends readonly ObjectRef<unknown>[]>(refs: R, options?: { timeout?: number }):
  Promise<{ -readonly [K in keyof R]: R[K] extends ObjectRef<infer T> ? T : never }>;
export function get(refs: ObjectRef | readonly ObjectRef[], options?: { timeout?: number }): Promise<unknown> {
  // Not an async function: one promise per get instead of two (errors still arrive as rejections).
  try {
    const timeoutMs = options?.timeout === undefined ? undefined : options.timeout * 1000;
    if (refs instanceof ObjectRef) return runtime().getOne(refs, timeoutMs);
    if (!Array.isArray(refs)) throw new ValueError("get() takes an ObjectRef or an array of ObjectRefs");
    for (const r of refs) {
      if (!(r instanceof ObjectRef)) throw new ValueError(`get() takes ObjectRefs, got ${typeof r} in the array`);
    }
    return runtime().get(refs as ObjectRef[], timeoutMs);
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Store a value in the cluster; returns its ref. Large binary data is stored once per node, in shared memory. */
export function put<T>(value: T): Promise<ObjectRef<T>> {
  return runtime().put(value);
}

/** Wait until `numReturns` of the refs are ready (or `timeout` seconds pass). Returns [ready, notReady]. */
export async function wait<T>(refs: ObjectRef<T>[], options: { numReturns?: number; timeout?: number; fetchLocal?: boolean } = {}):
  Promise<[ObjectRef<T>[], ObjectRef<T>[]]> {
  if (!Array.isArray(refs)) throw new ValueError("wait() takes an array of ObjectRefs");
  const n = options.numReturns ?? 1;
  const [a, b] = await runtime().wait(refs, n, options.timeout === undefined ? undefined : options.timeout * 1000);
  return [a as ObjectRef<T>[], b as ObjectRef<T>[]];
}

/** Cancel the task that produces `ref`: queued tasks never run; running ones are interrupted (force: the worker is killed). */
export function cancel(ref: ObjectRef, options: { force?: boolean } = {}): void {
  runtime().cancel(ref, options.force ?? false);
}

/** Kill an actor. With noRestart: false it restarts if it has restarts left. */
export async function kill(actor: ActorHandle<unknown>, options: { noRestart?: boolean } = {}): Promise<void> {
  await runtime().killActor(actor.actorId, options.noRestart ?? true);
}

/** A handle to a named actor. Throws NameError if there is none. */
export async function getActor<T = unknown>(name: string, options: { namespace?: string } = {}): Promise<ActorHandle<T>> {
  const info = await runtime().getActorInfo(name, options.namespace);
  if (!info) throw new NameError(`no actor named "${name}" in namespace "${options.namespace ?? runtime().info.namespace}"`);
  return makeActorHandle(new ActorHandleBase(info.actorId, info.className,
    { id: "", name: info.className, kind: "class", pkgHash: "", entry: "" }, 0)) as ActorHandle<T>;
}

export interface ClusterNode {
  nodeId: string;
  alive: boolean;
  nodeIp: string;
  hostname: string;
  isHead: boolean;
  resources: Record<string, number>;
  available: Record<string, number>;
  labels: Record<string, string>;
}

function toNode(n: NodeInfo): ClusterNode {
  return { nodeId: n.nodeId, alive: n.state === "ALIVE", nodeIp: n.ip, hostname: n.hostname, isHead: n.isHead,
    resources: n.resources, available: n.available, labels: n.labels };
}

/** Every node the cluster has seen, alive or dead. */
export async function nodes(): Promise<ClusterNode[]> {
  return (await runtime().nodes()).map(toNode);
}

/** Total resources of the alive nodes. */
export async function clusterResources(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of await nodes()) if (n.alive) add(out, n.resources);
  return out;
}

/** Resources not in use right now on the alive nodes. */
export async function availableResources(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of await nodes()) if (n.alive) add(out, n.available);
  return out;
}

export interface RuntimeContext {
  jobId: string;
  nodeId: string;
  nodeIp: string;
  workerId: string;
  namespace: string;
  taskId: string | undefined;
  actorId: string | undefined;
  /** Aborted when the current task is cancelled. */
  signal: AbortSignal | undefined;
  isDriver: boolean;
}

/** Where this code runs: job, node, worker, current task and actor. */
export function getRuntimeContext(): RuntimeContext {
  const rt = runtime();
  const i = rt.info;
  const t = taskStorage.getStore();
  return {
    jobId: t?.jobId ?? i.jobId, nodeId: i.nodeId, nodeIp: i.nodeIp, workerId: i.workerId,
    namespace: i.namespace, taskId: t?.taskId, actorId: t?.actorId ?? rt.hostedActorId(), signal: t?.signal,
    isDriver: i.mode !== "worker",
  };
}

/** GPU ids assigned to the current task or actor (from CUDA_VISIBLE_DEVICES). */
export function getGpuIds(): number[] {
  const v = process.env.CUDA_VISIBLE_DEVICES;
  if (!v || maybeRuntime()?.info.mode !== "worker") return [];
  return v.split(",").filter((x) => x !== "").map(Number);
}
