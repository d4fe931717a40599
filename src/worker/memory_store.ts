/**
 * @module worker/memory_store
 * The owner's in-process table of objects: for each object this process owns (or has fetched),
 * either "pending" (its task has not finished) or the ReturnValue that describes it (an inline
 * value, a location in a node's object store, or an error). `get`, `wait` and dependency
 * resolution all wait here.
 *
 * The same entry counts the live local ObjectRefs to the object (the reference counter's local
 * counts, see `LocalRefs`): a task's result is then one table entry, not one here and one in the
 * reference counter. Each operation on these tables (thousands of entries while a loop runs,
 * because V8 frees refs only at full collections) is a cache miss, and Map work was a fifth of
 * the driver's CPU in an async task loop.
 */
import type { ReturnValue } from "../protocol/messages.ts";
import type { LocalRefs } from "./reference_counter.ts";
import { detached } from "./serialization.ts";

type Waiter = (v: ReturnValue) => void;

/** A pending object nobody waits for yet (shared: a queued task's result costs no object of its own). */
const PENDING: readonly Waiter[] = Object.freeze([]);
/**
 * The object's state: the ReturnValue when ready; else its waiter (one function: the usual
 * single `get`), its waiters (an array), or PENDING.
 */
type Slot = ReturnValue | Waiter | readonly Waiter[] | Waiter[];

function isReady(s: Slot | undefined): s is ReturnValue {
  return s !== undefined && typeof s !== "function" && !Array.isArray(s);
}

/** One object: its slot (undefined while only refs are counted) and its live local refs. */
class Entry {
  slot: Slot | undefined;
  refs: number;
  constructor(slot: Slot | undefined, refs: number) { this.slot = slot; this.refs = refs; }
}

export class MemoryStore implements LocalRefs {
  private entries = new Map<string, Entry>();
  /** Entries with a slot (what `size` reports). */
  private slots = 0;

  /** Declare an object that will be produced later (a task return). */
  expect(id: string): void {
    const e = this.entries.get(id);
    if (!e) { this.entries.set(id, new Entry(PENDING, 0)); this.slots++; }
    else if (e.slot === undefined) { e.slot = PENDING; this.slots++; }
  }

  /**
   * `expect` for an id that cannot be known yet (a task just made): one insert, no lookup.
   * `refs`: local refs already made to it (counted here, see `ReferenceCounter.firstOwnedRef`).
   */
  expectNew(id: string, refs = 0): void {
    this.entries.set(id, new Entry(PENDING, refs));
    this.slots++;
  }

  /**
   * Store a value (waking its waiters); returns how many local refs it has. Inline bytes that are
   * a small part of a larger buffer (a socket's read slab, msgpack's output buffer) are copied
   * out first, so that keeping the value does not keep that buffer.
   */
  put(v: ReturnValue): number {
    if (v.v) v.v = detached(v.v);
    const e = this.entries.get(v.id);
    if (!e) { this.entries.set(v.id, new Entry(v, 0)); this.slots++; return 0; }
    const prev = e.slot;
    e.slot = v;
    if (prev === undefined) this.slots++;
    else if (typeof prev === "function") prev(v);
    else if (prev !== PENDING && Array.isArray(prev)) for (const w of prev as Waiter[]) w(v);
    return e.refs;
  }

  private addWaiter(id: string, w: Waiter): void {
    this.addWaiterTo(id, this.entries.get(id), w);
  }

  /** Add a waiter to an object that is not ready (`e`: its entry now, if any). */
  private addWaiterTo(id: string, e: Entry | undefined, w: Waiter): void {
    if (!e) { this.entries.set(id, new Entry(w, 0)); this.slots++; return; }
    const s = e.slot;
    if (typeof s === "function") e.slot = [s, w];
    else if (s !== undefined && s !== PENDING && Array.isArray(s)) (s as Waiter[]).push(w);
    else { if (s === undefined) this.slots++; e.slot = w; }
  }

  get(id: string): ReturnValue | undefined {
    const s = this.entries.get(id)?.slot;
    return isReady(s) ? s : undefined;
  }
  isPending(id: string): boolean {
    const s = this.entries.get(id)?.slot;
    return s !== undefined && !isReady(s);
  }
  knows(id: string): boolean { return this.entries.get(id)?.slot !== undefined; }

  /** Resolve when the object is ready. Unknown ids resolve only if someone later puts them. */
  wait(id: string): Promise<ReturnValue> {
    const s = this.entries.get(id)?.slot;
    if (isReady(s)) return Promise.resolve(s);
    return new Promise((resolve) => this.addWaiter(id, resolve));
  }

  /** Callback form of wait, for the hot path. */
  onReady(id: string, cb: (v: ReturnValue) => void): void {
    const e = this.entries.get(id);
    const s = e?.slot;
    if (isReady(s)) { cb(s); return; }
    this.addWaiterTo(id, e, cb);
  }

  delete(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    if (e.slot !== undefined) { e.slot = undefined; this.slots--; }
    if (e.refs <= 0) this.entries.delete(id);
  }

  /**
   * Remove a ready object and return it (undefined if unknown); a pending one stays, and the
   * answer is "pending".
   */
  take(id: string): ReturnValue | undefined | "pending" {
    const e = this.entries.get(id);
    const s = e?.slot;
    if (s === undefined) return undefined;
    if (!isReady(s)) return "pending";
    this.slots--;
    if (e!.refs <= 0) this.entries.delete(id);
    else e!.slot = undefined;
    return s;
  }

  get size(): number { return this.slots; }

  // ----- local ref counts (LocalRefs) -----

  addRef(id: string): void {
    const e = this.entries.get(id);
    if (e) e.refs++;
    else this.entries.set(id, new Entry(undefined, 1));
  }

  dropRef(id: string): number {
    const e = this.entries.get(id);
    if (!e) return 0;
    const n = e.refs > 0 ? --e.refs : 0;
    if (n === 0 && e.slot === undefined) this.entries.delete(id);
    return n;
  }

  hasRefs(id: string): boolean { return (this.entries.get(id)?.refs ?? 0) > 0; }
}
