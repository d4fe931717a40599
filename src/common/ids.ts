/**
 * @module common/ids
 * Identifiers. Ids are short random hex strings; object ids returned by a task derive from the
 * task id plus the return index, so every process computes the same id without a round trip.
 */
import { randomBytes } from "node:crypto";

let counter = 0;
const prefix = randomBytes(6).toString("hex");

/** A unique id: 12 random hex chars per process plus a counter, cheap enough for the hot path. */
export function uniqueId(): string {
  counter = (counter + 1) >>> 0;
  return prefix + counter.toString(16).padStart(8, "0");
}

export function randomId(bytes = 14): string {
  return randomBytes(bytes).toString("hex");
}

export function returnObjectId(taskId: string, index: number): string {
  return `${taskId}r${index}`;
}

export function putObjectId(): string {
  return `${uniqueId()}p`;
}

export function shortId(id: string): string {
  return id.length > 12 ? id.slice(0, 12) : id;
}
