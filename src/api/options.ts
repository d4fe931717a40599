/**
 * @module api/options
 * The options users pass to `remote()`, `.options()` and `init()`, and their validation: every
 * bad option is rejected at the call site with a message that names the option and the fix.
 */
import { ValueError } from "../common/errors.ts";
import type { SchedulingStrategy } from "../protocol/messages.ts";

export type Scheduling = "DEFAULT" | "SPREAD" | { nodeId: string; soft?: boolean };

export interface TaskOptionsInput {
  /** CPUs the task needs while it runs (default 1). */
  numCpus?: number;
  numGpus?: number;
  /** Memory in bytes reserved for the task (a scheduling resource, like Ray's). */
  memory?: number;
  resources?: Record<string, number>;
  /** Retries when the worker dies (default 3; -1 retries forever). */
  maxRetries?: number;
  /** Also retry when the task throws (true, or a list of error class names). */
  retryExceptions?: boolean;
  /** Number of return objects, or "streaming" for a generator task. */
  numReturns?: number | "streaming";
  /** Recycle the worker process after this many tasks. */
  maxCalls?: number;
  runtimeEnv?: { envVars?: Record<string, string> };
  scheduling?: Scheduling;
  /** Run only on nodes whose labels match: { zone: "a" } or { zone: "!a" } to exclude. */
  labelSelector?: Record<string, string>;
  name?: string;
}

export interface ActorOptionsInput {
  numCpus?: number;
  numGpus?: number;
  memory?: number;
  resources?: Record<string, number>;
  name?: string;
  namespace?: string;
  lifetime?: "detached" | "non_detached";
  maxRestarts?: number;
  maxTaskRetries?: number;
  maxConcurrency?: number;
  runtimeEnv?: { envVars?: Record<string, string> };
  scheduling?: Scheduling;
  labelSelector?: Record<string, string>;
}

const TASK_KEYS = new Set(["numCpus", "numGpus", "memory", "resources", "maxRetries", "retryExceptions",
  "numReturns", "maxCalls", "runtimeEnv", "scheduling", "labelSelector", "name"]);
const ACTOR_KEYS = new Set(["numCpus", "numGpus", "memory", "resources", "name", "namespace", "lifetime",
  "maxRestarts", "maxTaskRetries", "maxConcurrency", "runtimeEnv", "scheduling", "labelSelector"]);

function nonNeg(where: string, key: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new ValueError(`${where}: options.${key} must be a non-negative number, got ${JSON.stringify(v)}`);
  }
}
function intMin(where: string, key: string, v: unknown, min: number): void {
  if (v === undefined) return;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new ValueError(`${where}: options.${key} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
}

function checkKeys(where: string, o: object, allowed: Set<string>): void {
  for (const k of Object.keys(o)) {
    if (!allowed.has(k)) {
      throw new ValueError(`${where}: unknown option "${k}"; valid options are ${[...allowed].join(", ")}`);
    }
  }
}

function checkCommon(where: string, o: TaskOptionsInput | ActorOptionsInput): void {
  nonNeg(where, "numCpus", o.numCpus);
  nonNeg(where, "numGpus", o.numGpus);
  nonNeg(where, "memory", o.memory);
  if (o.numGpus !== undefined && o.numGpus > 1 && !Number.isInteger(o.numGpus)) {
    throw new ValueError(`${where}: options.numGpus above 1 must be a whole number, got ${o.numGpus}`);
  }
  if (o.resources !== undefined) {
    if (typeof o.resources !== "object" || o.resources === null) throw new ValueError(`${where}: options.resources must be an object like { "accelerator": 1 }`);
    for (const [k, v] of Object.entries(o.resources)) {
      if (k === "CPU" || k === "GPU") throw new ValueError(`${where}: use options.num${k === "CPU" ? "Cpus" : "Gpus"} instead of resources.${k}`);
      nonNeg(where, `resources.${k}`, v);
    }
  }
  const env = o.runtimeEnv?.envVars;
  if (env !== undefined) {
    for (const [k, v] of Object.entries(env)) {
      if (typeof v !== "string") throw new ValueError(`${where}: runtimeEnv.envVars.${k} must be a string`);
    }
  }
  if (o.labelSelector !== undefined) {
    if (typeof o.labelSelector !== "object" || o.labelSelector === null) throw new ValueError(`${where}: options.labelSelector must be an object like { "zone": "a" }`);
    for (const [k, v] of Object.entries(o.labelSelector)) {
      if (typeof v !== "string") throw new ValueError(`${where}: options.labelSelector.${k} must be a string`);
    }
  }
  const s = o.scheduling;
  if (s !== undefined && s !== "DEFAULT" && s !== "SPREAD" && (typeof s !== "object" || typeof s.nodeId !== "string")) {
    throw new ValueError(`${where}: options.scheduling must be "DEFAULT", "SPREAD" or { nodeId, soft }`);
  }
}

export function validateTaskOptions(where: string, o: TaskOptionsInput): void {
  if (typeof o !== "object" || o === null) throw new ValueError(`${where}: options must be an object`);
  checkKeys(where, o, TASK_KEYS);
  checkCommon(where, o);
  intMin(where, "maxRetries", o.maxRetries, -1);
  intMin(where, "maxCalls", o.maxCalls, 0);
  if (o.numReturns !== undefined && o.numReturns !== "streaming") intMin(where, "numReturns", o.numReturns, 0);
  if (o.retryExceptions !== undefined && typeof o.retryExceptions !== "boolean") {
    throw new ValueError(`${where}: options.retryExceptions must be a boolean`);
  }
}

export function validateActorOptions(where: string, o: ActorOptionsInput): void {
  if (typeof o !== "object" || o === null) throw new ValueError(`${where}: options must be an object`);
  checkKeys(where, o, ACTOR_KEYS);
  checkCommon(where, o);
  intMin(where, "maxRestarts", o.maxRestarts, -1);
  intMin(where, "maxTaskRetries", o.maxTaskRetries, -1);
  intMin(where, "maxConcurrency", o.maxConcurrency, 1);
  if (o.lifetime !== undefined && o.lifetime !== "detached" && o.lifetime !== "non_detached") {
    throw new ValueError(`${where}: options.lifetime must be "detached" or "non_detached"`);
  }
  if (o.name !== undefined && (typeof o.name !== "string" || o.name === "")) {
    throw new ValueError(`${where}: options.name must be a non-empty string`);
  }
}

export function resourcesOf(o: { numCpus?: number | undefined; numGpus?: number | undefined; memory?: number | undefined;
  resources?: Record<string, number> | undefined }, defaultCpus: number): Record<string, number> {
  const r: Record<string, number> = { ...o.resources };
  const cpu = o.numCpus ?? defaultCpus;
  if (cpu) r.CPU = cpu;
  if (o.numGpus) r.GPU = o.numGpus;
  if (o.memory) r.memory = o.memory;
  return r;
}

export function strategyOf(s: Scheduling | undefined, labels?: Record<string, string>): SchedulingStrategy | undefined {
  if ((s === undefined || s === "DEFAULT") && !labels) return undefined;
  if (s === undefined || s === "DEFAULT") return { type: "DEFAULT", labels };
  if (s === "SPREAD") return { type: "SPREAD", labels };
  return { type: "NODE_AFFINITY", nodeId: s.nodeId, soft: s.soft ?? false, labels };
}
