/**
 * @module worker/memory_store
 * The owner's in-process table of objects: for each object this process owns (or has fetched),
 * either "pending" (its task has not finished) or the ReturnValue that describes it (an inline
 * value, a location in a node's object store, or an error). `get`, `wait` and dependency
 * resolution all wait here.
 */
import type { ReturnValue } from "../protocol/messages.ts";

interface Pending { waiters: Array<(v: ReturnValue) => void> }

export class MemoryStore {
  private ready = new Map<string, ReturnValue>();
  private pending = new Map<string, Pending>();

  /** Declare an object that will be produced later (a task return). */
  expect(id: string): void {
    if (!this.ready.has(id) && !this.pending.has(id)) this.pending.set(id, { waiters: [] });
  }

  put(v: ReturnValue): void {
    this.ready.set(v.id, v);
    const p = this.pending.get(v.id);
    if (p) {
      this.pending.delete(v.id);
      for (const w of p.waiters) w(v);
    }
  }

  get(id: string): ReturnValue | undefined { return this.ready.get(id); }
  isPending(id: string): boolean { return this.pending.has(id); }
  knows(id: string): boolean { return this.ready.has(id) || this.pending.has(id); }

  /** Resolve when the object is ready. Unknown ids resolve only if someone later puts them. */
  wait(id: string): Promise<ReturnValue> {
    const r = this.ready.get(id);
    if (r) return Promise.resolve(r);
    let p = this.pending.get(id);
    if (!p) this.pending.set(id, (p = { waiters: [] }));
    const pp = p;
    return new Promise((resolve) => pp.waiters.push(resolve));
  }

  /** Callback form of wait, for the hot path. */
  onReady(id: string, cb: (v: ReturnValue) => void): void {
    const r = this.ready.get(id);
    if (r) { cb(r); return; }
    let p = this.pending.get(id);
    if (!p) this.pending.set(id, (p = { waiters: [] }));
    p.waiters.push(cb);
  }

  delete(id: string): void {
    this.ready.delete(id);
    this.pending.delete(id);
  }

  get size(): number { return this.ready.size + this.pending.size; }
}
