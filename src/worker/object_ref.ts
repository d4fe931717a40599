/**
 * @module worker/object_ref
 * `ObjectRef<T>`: a typed handle to an object in the cluster. It carries the object's id and the
 * address of its owner (the process that created it, as in Ray's ownership model), so any process
 * holding the ref can ask the owner for the value. Refs are deliberately not thenables: returning
 * one from an async function or awaiting `put()` must give the ref, not its value.
 */
import type { Address } from "../protocol/messages.ts";

declare const valueType: unique symbol;

export class ObjectRef<T = unknown> {
  declare readonly [valueType]: T;
  readonly id: string;
  readonly owner: Address;
  constructor(id: string, owner: Address) {
    this.id = id;
    this.owner = owner;
  }
  /** The object id as a hex-ish string (Ray's `ref.hex()`). */
  hex(): string { return this.id; }
  toString(): string { return `ObjectRef(${this.id})`; }
  [Symbol.for("nodejs.util.inspect.custom")](): string { return this.toString(); }
}

/** A value, or a ref to one: what remote functions accept as arguments. */
export type RefOr<T> = T | ObjectRef<T>;
