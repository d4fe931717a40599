/**
 * @module worker/reference_counter
 * Distributed reference counting, a simplified form of Ray's ownership protocol.
 *
 * Owner side: an object stays while any of these holds it: a live ObjectRef in this process
 * (tracked with a FinalizationRegistry), a queued or running task that received it as an
 * argument (the submitter keeps the refs alive), another object that contains it (a `put()`
 * value holding refs keeps them until it is freed itself), or a borrower process that registered
 * (`worker.AddBorrower`). When the last holder goes, `onFree` runs.
 *
 * Borrower side: deserializing a ref owned by another process registers this process as a
 * borrower with the owner (batched per owner); when the last local ObjectRef to it is collected
 * the borrow is released. An executor does not reply to a task until the borrows of the task's
 * arguments are registered, and the caller keeps the arguments alive until the reply, so the
 * owner can never free an object between hand-over and registration.
 *
 * Refs that leave this process inside a task's *return value* are pinned until this process
 * exits (Ray tracks these through the caller; Stingray does not yet): workers are per job, so
 * the pin ends with the job at the latest.
 */
import type { Connection } from "../protocol/connection.ts";
import type { Address } from "../protocol/messages.ts";
import { ObjectRef } from "./object_ref.ts";

/**
 * Counts of live local ObjectRefs per owned object. The core worker passes its MemoryStore, so a
 * result's state and its count share one table entry; tests use the Map-based default.
 */
export interface LocalRefs {
  addRef(id: string): void;
  /** One ref fewer; returns how many are left. */
  dropRef(id: string): number;
  hasRefs(id: string): boolean;
}

/** LocalRefs in a Map of its own. */
export class MapLocalRefs implements LocalRefs {
  private counts = new Map<string, number>();
  addRef(id: string): void { this.counts.set(id, (this.counts.get(id) ?? 0) + 1); }
  dropRef(id: string): number {
    const n = (this.counts.get(id) ?? 1) - 1;
    if (n > 0) this.counts.set(id, n); else this.counts.delete(id);
    return Math.max(n, 0);
  }
  hasRefs(id: string): boolean { return this.counts.has(id); }
}

export interface RefCounterDeps {
  self(): Address;
  /** Where local ref counts live (default: a Map of the counter's own). */
  local?: LocalRefs;
  connect(addr: Address): Promise<Connection>;
  /**
   * Nothing holds the object any more: drop it, unless it is still being produced (its task not
   * finished; it is dropped when it arrives unheld). Returns whether it was dropped.
   */
  freeIfDone(id: string): boolean;
}

export class ReferenceCounter {
  private local: LocalRefs;
  private pinned = new Set<string>();
  private containedBy = new Map<string, ObjectRef[]>();
  private borrowers = new Map<string, number>();
  private borrowsByConn = new Map<Connection, Map<string, number>>();
  private borrowed = new Map<string, { count: number; owner: Address; registered: Promise<void> | undefined }>();
  private pendingAdds = new Map<string, { owner: Address; ids: string[] }>();
  private inflightAdds: Promise<void>[] = [];
  // The held value is just the id (no per-ref token object): one registry per kind of ref.
  private ownedRegistry = new FinalizationRegistry<string>((id) => this.decLocal(id));
  private borrowedRegistry = new FinalizationRegistry<string>((id) => this.releaseBorrowed(id));
  private deps: RefCounterDeps;
  /** What encoding is in progress: arguments keep refs via the task, puts via the container. */
  mode: "return" | "arg" | "put" = "return";

  constructor(deps: RefCounterDeps) { this.deps = deps; this.local = deps.local ?? new MapLocalRefs(); }

  // ----- owner side -----

  ownedRef<T>(id: string): ObjectRef<T> {
    const r = new ObjectRef<T>(id, this.deps.self());
    this.local.addRef(id);
    this.ownedRegistry.register(r, id);
    return r;
  }

  /**
   * The first ref to an object just made (a task's return). `counted`: the caller has already
   * counted it in the local table (`MemoryStore.expectNew(id, 1)`), so nothing is looked up.
   */
  firstOwnedRef<T>(id: string, counted = false): ObjectRef<T> {
    const r = new ObjectRef<T>(id, this.deps.self());
    if (!counted) this.local.addRef(id);
    this.ownedRegistry.register(r, id);
    return r;
  }

  private decLocal(id: string): void {
    if (this.local.dropRef(id) === 0) this.freeUnreferenced(id);
  }

  /**
   * Is anything still holding this owned object? (Every task's result asks this, and every
   * collected ref: the empty tables are skipped, each lookup in a large table is a cache miss.)
   */
  held(id: string): boolean {
    return this.local.hasRefs(id) || this.heldOtherwise(id);
  }

  /** Held by something other than a local ref: a pin or a borrower. */
  private heldOtherwise(id: string): boolean {
    return (this.pinned.size > 0 && this.pinned.has(id)) ||
      (this.borrowers.size > 0 && (this.borrowers.get(id) ?? 0) > 0);
  }

  maybeFree(id: string): void {
    if (!this.local.hasRefs(id)) this.freeUnreferenced(id);
  }

  /** Free an object no local ref holds, unless a pin or borrower does (or it is still pending). */
  freeUnreferenced(id: string): void {
    if (this.heldOtherwise(id) || !this.deps.freeIfDone(id)) return;
    // Dropping the array of refs it contains lets those be collected.
    if (this.containedBy.size > 0) this.containedBy.delete(id);
  }

  /** A ref was serialized in this process (hook from the serializer). */
  onSerialize(ref: ObjectRef): void {
    if (ref.owner.workerId !== this.deps.self().workerId) return;
    if (this.mode === "return") this.pinned.add(ref.id);
  }

  /** `containerId` (a stored object) holds `refs`; they live as long as it does. */
  contain(containerId: string, refs: ObjectRef[]): void {
    if (refs.length) this.containedBy.set(containerId, refs);
  }

  addBorrower(conn: Connection, ids: string[]): void {
    let mine = this.borrowsByConn.get(conn);
    if (!mine) {
      this.borrowsByConn.set(conn, (mine = new Map()));
      conn.once("close", () => {
        const m = this.borrowsByConn.get(conn);
        this.borrowsByConn.delete(conn);
        for (const [id, n] of m ?? []) this.dropBorrower(id, n);
      });
    }
    for (const id of ids) {
      mine.set(id, (mine.get(id) ?? 0) + 1);
      this.borrowers.set(id, (this.borrowers.get(id) ?? 0) + 1);
    }
  }

  removeBorrower(conn: Connection, ids: string[]): void {
    const mine = this.borrowsByConn.get(conn);
    for (const id of ids) {
      const n = mine?.get(id) ?? 0;
      if (n <= 0) continue;
      if (n === 1) mine!.delete(id); else mine!.set(id, n - 1);
      this.dropBorrower(id, 1);
    }
  }

  private dropBorrower(id: string, k: number): void {
    const n = (this.borrowers.get(id) ?? 0) - k;
    if (n > 0) this.borrowers.set(id, n);
    else { this.borrowers.delete(id); this.maybeFree(id); }
  }

  // ----- borrower side -----

  borrowedRef<T>(id: string, owner: Address): ObjectRef<T> {
    const r = new ObjectRef<T>(id, owner);
    let b = this.borrowed.get(id);
    if (!b) {
      this.borrowed.set(id, (b = { count: 0, owner, registered: undefined }));
      const key = `${owner.host}:${owner.port}`;
      let p = this.pendingAdds.get(key);
      if (!p) {
        this.pendingAdds.set(key, (p = { owner, ids: [] }));
        queueMicrotask(() => this.flushAdds(key));
      }
      p.ids.push(id);
    }
    b.count++;
    this.borrowedRegistry.register(r, id);
    return r;
  }

  private flushAdds(key: string): void {
    const p = this.pendingAdds.get(key);
    this.pendingAdds.delete(key);
    if (!p) return;
    const done = this.deps.connect(p.owner)
      .then((c) => c.request("worker.AddBorrower", { ids: p.ids }))
      .then(() => {}, () => {}); // an unreachable owner means the object is lost anyway
    for (const id of p.ids) { const b = this.borrowed.get(id); if (b) b.registered = done; }
    this.inflightAdds.push(done);
    void done.then(() => { this.inflightAdds = this.inflightAdds.filter((x) => x !== done); });
  }

  /** Are borrow registrations queued or on their way (so a reply must wait for flushBorrows)? */
  get borrowsInFlight(): boolean { return this.pendingAdds.size > 0 || this.inflightAdds.length > 0; }

  /** Resolves when every borrow registered so far has reached its owner. */
  async flushBorrows(): Promise<void> {
    for (const key of [...this.pendingAdds.keys()]) this.flushAdds(key);
    if (this.inflightAdds.length) await Promise.all(this.inflightAdds);
  }

  private releaseBorrowed(id: string): void {
    const b = this.borrowed.get(id);
    if (!b) return;
    if (--b.count > 0) return;
    this.borrowed.delete(id);
    const owner = b.owner;
    void (b.registered ?? Promise.resolve()).then(() => this.deps.connect(owner))
      .then((c) => c.request("worker.RemoveBorrower", { ids: [id] }))
      .catch(() => {});
  }
}
