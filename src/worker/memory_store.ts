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
type Slot = ReturnValue | readonly Waiter[] | Waiter[];

function isReady(s: Slot | undefined): s is ReturnValue {
  return s !== undefined && !Array.isArray(s);
}

export class MemoryStore {
  /** One table for both states (one lookup per transition): a ReturnValue when ready, else its waiters. */
  private slots = new Map<string, Slot>();

  /** Declare an object that will be produced later (a task return). */
  expect(id: string): void {
    if (!this.slots.has(id)) this.slots.set(id, PENDING);
  }

  put(v: ReturnValue): void {
    const prev = this.slots.get(v.id);
    this.slots.set(v.id, v);
    if (prev !== undefined && prev !== PENDING && Array.isArray(prev)) for (const w of prev as Waiter[]) w(v);
  }

  private waitersOf(id: string): Waiter[] {
    const s = this.slots.get(id);
    if (s !== undefined && s !== PENDING && Array.isArray(s)) return s as Waiter[];
    const w: Waiter[] = [];
    this.slots.set(id, w);
    return w;
  }

  get(id: string): ReturnValue | undefined {
    const s = this.slots.get(id);
    return isReady(s) ? s : undefined;
  }
  isPending(id: string): boolean { return Array.isArray(this.slots.get(id)); }
  knows(id: string): boolean { return this.slots.has(id); }

  /** Resolve when the object is ready. Unknown ids resolve only if someone later puts them. */
  wait(id: string): Promise<ReturnValue> {
    const r = this.slots.get(id);
    if (isReady(r)) return Promise.resolve(r);
    const waiters = this.waitersOf(id);
    return new Promise((resolve) => waiters.push(resolve));
  }

  /** Callback form of wait, for the hot path. */
  onReady(id: string, cb: (v: ReturnValue) => void): void {
    const r = this.slots.get(id);
    if (isReady(r)) { cb(r); return; }
    this.waitersOf(id).push(cb);
  }

  delete(id: string): void {
    this.slots.delete(id);
  }

  get size(): number { return this.slots.size; }
}
