/**
 * @module web_ui/lib/table
 * Sorting and filtering of table rows (pure; unit-tested in test/unit/web_ui_logic.test.ts).
 */

export type SortValue = string | number | boolean | null | undefined;
export interface SortSpec { id: string; desc: boolean }
export interface SortableColumn<T> { id: string; sort?: (row: T) => SortValue }

/** Numbers numerically, strings naturally ("w2" < "w10"), empty values last. */
export function compare(a: SortValue, b: SortValue): number {
  const an = a === null || a === undefined || a === "";
  const bn = b === null || b === undefined || b === "";
  if (an || bn) return an === bn ? 0 : an ? 1 : -1; // empty values last either way
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
}

/** Rows sorted by `spec` (stable), without touching the input. */
export function sortRows<T>(rows: readonly T[], columns: readonly SortableColumn<T>[], spec: SortSpec | undefined): readonly T[] {
  const col = spec && columns.find((c) => c.id === spec.id);
  if (!spec || !col?.sort) return rows;
  const key = col.sort;
  const keyed = rows.map((r, i) => ({ r, i, k: key(r) }));
  keyed.sort((x, y) => {
    const c = compare(x.k, y.k);
    const emptyX = x.k === null || x.k === undefined || x.k === "";
    const emptyY = y.k === null || y.k === undefined || y.k === "";
    if (c !== 0) return spec.desc && !emptyX && !emptyY ? -c : c;
    return x.i - y.i;
  });
  return keyed.map((k) => k.r);
}

/** Rows whose text contains every whitespace-separated term of `query` (case-insensitive). */
export function filterRows<T>(rows: readonly T[], texts: readonly string[], query: string): readonly T[] {
  const terms = query.toLowerCase().split(/\s+/).filter((t) => t !== "");
  if (terms.length === 0) return rows;
  const out: T[] = [];
  for (let i = 0; i < rows.length; i++) {
    const t = texts[i]!;
    if (terms.every((term) => t.includes(term))) out.push(rows[i]!);
  }
  return out;
}
