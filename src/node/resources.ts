/**
 * @module node/resources
 * What a node offers by default: CPUs, GPUs (from `nvidia-smi`), memory, and the object store
 * size (30% of memory, as Ray). Flags and init options override each.
 */
import os from "node:os";
import { execFileSync } from "node:child_process";
import { config } from "../common/config.ts";

export function detectGpus(): number {
  if (process.env.STINGRAY_NUM_GPUS) return Number(process.env.STINGRAY_NUM_GPUS);
  try {
    const out = execFileSync("nvidia-smi", ["--query-gpu=index", "--format=csv,noheader"],
      { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] });
    return out.split("\n").filter((l) => l.trim() !== "").length;
  } catch {
    return 0;
  }
}

export interface NodeResourceOptions {
  numCpus?: number | undefined;
  numGpus?: number | undefined;
  memory?: number | undefined;
  resources?: Record<string, number> | undefined;
  objectStoreMemory?: number | undefined;
}

export function nodeResources(o: NodeResourceOptions): { resources: Record<string, number>; objectStoreMemory: number } {
  const total = os.totalmem();
  const objectStoreMemory = o.objectStoreMemory ?? Math.floor(total * config("object_store_memory_fraction"));
  const resources: Record<string, number> = {
    CPU: o.numCpus ?? os.availableParallelism(),
    memory: o.memory ?? Math.max(0, total - objectStoreMemory),
    object_store_memory: objectStoreMemory,
    ...o.resources,
  };
  const gpus = o.numGpus ?? detectGpus();
  if (gpus > 0) resources.GPU = gpus;
  return { resources, objectStoreMemory };
}

/** This host's address as other nodes see it: the first non-internal IPv4 address. */
export function detectNodeIp(): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}
