/**
 * @module worker/memory_store
 * The owner's in-process table of objects: for each object this process owns (or has fetched),
 * either "pending" (its task has not finished) or the ReturnValue that describes it (an inline
 * value, a location in a node's object store, or an error). `get`, `wait` and dependency
 * resolution all wait here.
 */
import type { ReturnValue } from "../protocol/messages.ts";

type Waiter = (v: ReturnValue) => void;

/** A pending object nobody waits for yet (shared: a queued task's result costs no object of its own). */
const PENDING: readonly Waiter[] = Object.freeze([]);
/**
 * One table for both states (one lookup per transition): the ReturnValue when ready; else its
 * waiter (one function: the usual single `get`), its waiters (an array), or PENDING.
 */
type Slot = ReturnValue | Waiter | readonly Waiter[] | Waiter[];

function isReady(s: Slot | undefined): s is ReturnValue {
  return s !== undefined && typeof s !== "function" && !Array.isArray(s);
}

export class MemoryStore {
  private slots = new Map<string, Slot>();

  /** Declare an object that will be produced later (a task return). */
  expect(id: string): void {
    if (!this.slots.has(id)) this.slots.set(id, PENDING);
  }

  /** `expect` for an id that cannot be known yet (a task just made): one insert, no lookup. */
  expectNew(id: string): void {
    this.slots.set(id, PENDING);
  }

  put(v: ReturnValue): void {
    const prev = this.slots.get(v.id);
    this.slots.set(v.id, v);
    if (typeof prev === "function") prev(v);
    else if (prev !== undefined && prev !== PENDING && Array.isArray(prev)) for (const w of prev as Waiter[]) w(v);
  }

  private addWaiter(id: string, w: Waiter): void {
    this.addWaiterTo(id, this.slots.get(id), w);
  }

  /** Add a waiter to a slot that is not ready (`s`: what the table holds for `id` now). */
  private addWaiterTo(id: string, s: Slot | undefined, w: Waiter): void {
    if (typeof s === "function") this.slots.set(id, [s, w]);
    else if (s !== undefined && s !== PENDING && Array.isArray(s)) (s as Waiter[]).push(w);
    else this.slots.set(id, w);
  }

  get(id: string): ReturnValue | undefined {
    const s = this.slots.get(id);
    return isReady(s) ? s : undefined;
  }
  isPending(id: string): boolean {
    const s = this.slots.get(id);
    return s !== undefined && !isReady(s);
  }
  knows(id: string): boolean { return this.slots.has(id); }

  /** Resolve when the object is ready. Unknown ids resolve only if someone later puts them. */
  wait(id: string): Promise<ReturnValue> {
    const r = this.slots.get(id);
    if (isReady(r)) return Promise.resolve(r);
    return new Promise((resolve) => this.addWaiter(id, resolve));
  }

  /** Callback form of wait, for the hot path. */
  onReady(id: string, cb: (v: ReturnValue) => void): void {
    const r = this.slots.get(id);
    if (isReady(r)) { cb(r); return; }
    this.addWaiterTo(id, r, cb);
  }

  delete(id: string): void {
    this.slots.delete(id);
  }

  /**
   * Remove a ready object and return it (undefined if unknown); a pending one stays, and the
   * answer is "pending".
   */
  take(id: string): ReturnValue | undefined | "pending" {
    const s = this.slots.get(id);
    if (s === undefined) return undefined;
    if (!isReady(s)) return "pending";
    this.slots.delete(id);
    return s;
  }

  get size(): number { return this.slots.size; }
}
