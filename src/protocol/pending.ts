/**
 * @module protocol/pending
 * The requests of one connection that await their replies, by request id. Ids are sequential,
 * so a ring indexed by the id's low bits holds them with no hashing and no allocation per
 * request (a Map that goes from empty to one entry and back on every call of a request/reply
 * loop reallocates its table each time). A request still waiting when its slot comes round again
 * (a long call among many short ones) moves to a side map; the ring doubles when more than half
 * of it is in use.
 */
const INITIAL = 16;
const MAX_RING = 1 << 16;

export class PendingTable<T> {
  private ids: number[] = new Array<number>(INITIAL).fill(0);
  private vals: (T | undefined)[] = new Array<T | undefined>(INITIAL).fill(undefined);
  private mask = INITIAL - 1;
  private inRing = 0;
  private overflow = new Map<number, T>();

  get size(): number { return this.inRing + this.overflow.size; }

  set(id: number, v: T): void {
    const i = id & this.mask;
    const old = this.vals[i];
    if (old !== undefined) {
      if (this.inRing * 2 >= this.mask + 1 && this.mask + 1 < MAX_RING) {
        this.grow();
        this.set(id, v);
        return;
      }
      this.overflow.set(this.ids[i]!, old);
      this.inRing--;
    }
    this.ids[i] = id;
    this.vals[i] = v;
    this.inRing++;
  }

  get(id: number): T | undefined {
    const i = id & this.mask;
    if (this.ids[i] === id && this.vals[i] !== undefined) return this.vals[i];
    return this.overflow.size ? this.overflow.get(id) : undefined;
  }

  delete(id: number): boolean {
    const i = id & this.mask;
    if (this.ids[i] === id && this.vals[i] !== undefined) {
      this.vals[i] = undefined;
      this.inRing--;
      return true;
    }
    return this.overflow.delete(id);
  }

  *values(): IterableIterator<T> {
    for (const v of this.vals) if (v !== undefined) yield v;
    yield* this.overflow.values();
  }

  /** Double the ring; entries keep distinct slots (their low bits differed under the old mask). */
  private grow(): void {
    const ids = this.ids, vals = this.vals;
    const n = (this.mask + 1) * 2;
    this.ids = new Array<number>(n).fill(0);
    this.vals = new Array<T | undefined>(n).fill(undefined);
    this.mask = n - 1;
    for (let k = 0; k < vals.length; k++) {
      const v = vals[k];
      if (v === undefined) continue;
      const i = ids[k]! & this.mask;
      this.ids[i] = ids[k]!;
      this.vals[i] = v;
    }
  }
}
