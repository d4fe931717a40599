/**
 * @module worker/memory_store
 * The owner's in-process table of objects: for each object this process owns (or has fetched),
 * either "pending" (its task has not finished) or the ReturnValue that describes it (an inline
 * value, a location in a node's object store, or an error). `get`, `wait` and dependency
 * resolution all wait here.
 */
import type { ReturnValue } from "../protocol/messages.ts";

type Waiter = (v: ReturnValue) => void;

export class MemoryStore {
  private ready = new Map<string, ReturnValue>();
  /** Pending objects and who waits for them; null until someone does (a queued task costs no array). */
  private pending = new Map<string, Waiter[] | null>();

  /** Declare an object that will be produced later (a task return). */
  expect(id: string): void {
    if (!this.ready.has(id) && !this.pending.has(id)) this.pending.set(id, null);
  }

  put(v: ReturnValue): void {
    this.ready.set(v.id, v);
    const waiters = this.pending.get(v.id);
    if (waiters !== undefined) {
      this.pending.delete(v.id);
      if (waiters) for (const w of waiters) w(v);
    }
  }

  private waitersOf(id: string): Waiter[] {
    let w = this.pending.get(id);
    if (!w) this.pending.set(id, (w = []));
    return w;
  }

  get(id: string): ReturnValue | undefined { return this.ready.get(id); }
  isPending(id: string): boolean { return this.pending.has(id); }
  knows(id: string): boolean { return this.ready.has(id) || this.pending.has(id); }

  /** Resolve when the object is ready. Unknown ids resolve only if someone later puts them. */
  wait(id: string): Promise<ReturnValue> {
    const r = this.ready.get(id);
    if (r) return Promise.resolve(r);
    const waiters = this.waitersOf(id);
    return new Promise((resolve) => waiters.push(resolve));
  }

  /** Callback form of wait, for the hot path. */
  onReady(id: string, cb: (v: ReturnValue) => void): void {
    const r = this.ready.get(id);
    if (r) { cb(r); return; }
    this.waitersOf(id).push(cb);
  }

  delete(id: string): void {
    this.ready.delete(id);
    this.pending.delete(id);
  }

  get size(): number { return this.ready.size + this.pending.size; }
}
