/**
 * @module common/deque
 * A FIFO queue with O(1) push, shift and unshift (amortised). `Array.prototype.shift` moves
 * every element, which made draining a queue of a million submitted tasks quadratic.
 */
export class Deque<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number { return this.items.length - this.head; }

  push(x: T): void { this.items.push(x); }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    // Drop the consumed prefix once it is at least half of the array (amortised O(1)).
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }

  /** Put an item back at the front (a retried task goes first). */
  unshift(x: T): void {
    if (this.head > 0) this.items[--this.head] = x;
    else this.items.unshift(x);
  }

  /** Remove one item (linear; for cancellation). Returns whether it was there. */
  remove(x: T): boolean {
    const i = this.items.indexOf(x, this.head);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  /** The first item that satisfies `pred` (linear; for cancellation). */
  find(pred: (x: T) => boolean): T | undefined {
    for (let i = this.head; i < this.items.length; i++) {
      const x = this.items[i] as T;
      if (pred(x)) return x;
    }
    return undefined;
  }

  /** Take every item out, in order. */
  drain(): T[] {
    const out = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return out;
  }
}
