/**
 * @module web_ui/components/DataTable
 * The one table of the UI: sortable headers, a filter box, and virtual rows (only the rows in
 * view are in the DOM, so 10,000 rows scroll as smoothly as 10). Sorting and filtering are
 * memoized on the rows array; the filter input is deferred so typing never waits for a re-filter.
 *
 * Callers memoize `columns` (their identity keys the memo of the searchable text).
 */
import { useDeferredValue, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { count } from "../format.ts";
import { filterRows, sortRows, type SortSpec, type SortValue } from "../lib/table.ts";

export type { SortSpec, SortValue };

export interface Column<T> {
  id: string;
  header: ReactNode;
  /** Width in px; columns without one share the rest. */
  width?: number;
  render: (row: T) => ReactNode;
  /** Sort key; a column without one is not sortable. */
  sort?: (row: T) => SortValue;
  /** Text the filter box matches; defaults to the sort key. */
  text?: (row: T) => string;
  align?: "left" | "right" | "center";
  /** Tooltip of the header. */
  title?: string;
}

interface Props<T> {
  rows: readonly T[];
  columns: readonly Column<T>[];
  rowKey: (row: T) => string;
  defaultSort?: SortSpec;
  onRowClick?: (row: T) => void;
  selectedKey?: string;
  /** data-testid of each body row (the row key goes in data-key). */
  rowTestId?: string;
  testId?: string;
  filterPlaceholder?: string;
  /** Controls shown left of the filter box. */
  toolbar?: ReactNode;
  /** Records on the server (ListResult.total) when more than `rows` exist. */
  total?: number;
  /** Height of the scrolling body in px (the table shrinks to fit fewer rows). */
  maxHeight?: number;
  rowHeight?: number;
  empty?: ReactNode;
  loading?: boolean;
  /** Hide the filter box (small tables). */
  noFilter?: boolean;
  /** Extra class per row (e.g. a failed task). */
  rowClass?: (row: T) => string | undefined;
}

const OVERSCAN = 8;

export function DataTable<T>(p: Props<T>): ReactNode {
  const rowH = p.rowHeight ?? 38;
  const maxHeight = p.maxHeight ?? 560;
  const [sort, setSort] = useState<SortSpec | undefined>(p.defaultSort);
  const [filter, setFilter] = useState("");
  const deferredFilter = useDeferredValue(filter);

  const texts = useMemo(() => p.rows.map((r) => p.columns.map((c) => {
    const v = c.text ? c.text(r) : c.sort ? c.sort(r) : "";
    return v === null || v === undefined ? "" : String(v);
  }).join("\u0001").toLowerCase()), [p.rows, p.columns]);
  const filtered = useMemo(() => filterRows(p.rows, texts, deferredFilter), [p.rows, texts, deferredFilter]);
  const sorted = useMemo(() => sortRows(filtered, p.columns, sort), [filtered, p.columns, sort]);

  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewH, setViewH] = useState(maxHeight);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewH(el.clientHeight || maxHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, [maxHeight]);
  // A shorter list than the scroll position (filter typed, rows gone): back to the top.
  useEffect(() => {
    const el = scroller.current;
    if (el && el.scrollTop > sorted.length * rowH) { el.scrollTop = 0; setScrollTop(0); }
  }, [sorted.length, rowH]);

  const frame = useRef(0);
  const onScroll = (): void => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      setScrollTop(scroller.current?.scrollTop ?? 0);
    });
  };
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  const first = Math.max(0, Math.floor(scrollTop / rowH) - OVERSCAN);
  const last = Math.min(sorted.length, Math.ceil((scrollTop + viewH) / rowH) + OVERSCAN);
  const visible = sorted.slice(first, last);

  const toggleSort = (c: Column<T>): void => {
    if (!c.sort) return;
    setSort((s) => (s?.id === c.id ? (s.desc ? { id: c.id, desc: false } : { id: c.id, desc: true }) : { id: c.id, desc: c.align === "right" }));
  };

  const shown = sorted.length;
  const more = p.total !== undefined && p.total > p.rows.length;
  return (
    <div className="table-wrap" data-testid={p.testId}>
      {(!p.noFilter || p.toolbar) && (
        <div className="table-toolbar">
          {p.toolbar}
          <span className="spacer" />
          <span className="table-count" data-testid={p.testId ? `${p.testId}-count` : undefined}>
            {deferredFilter ? `${count(shown)} of ${count(p.rows.length)}` : count(p.rows.length)}
            {more ? ` shown · ${count(p.total)} in total` : p.rows.length === 1 ? " row" : " rows"}
          </span>
          {!p.noFilter && (
            <input className="filter" type="search" placeholder={p.filterPlaceholder ?? "Filter…"} value={filter}
              aria-label="Filter rows" data-testid={p.testId ? `${p.testId}-filter` : undefined}
              onChange={(e) => setFilter(e.target.value)} />
          )}
        </div>
      )}
      <div className="table-scroll" ref={scroller} onScroll={onScroll} style={{ maxHeight }}>
        <table className="data-table">
          <colgroup>{p.columns.map((c) => <col key={c.id} style={c.width ? { width: c.width } : undefined} />)}</colgroup>
          <thead>
            <tr>
              {p.columns.map((c) => {
                const active = sort?.id === c.id;
                return (
                  <th key={c.id} className={`${c.sort ? "sortable" : ""} ${active ? "sorted" : ""} align-${c.align ?? "left"}`}
                    title={c.title} aria-sort={active ? (sort.desc ? "descending" : "ascending") : undefined}
                    onClick={() => toggleSort(c)}>
                    {c.header}
                    {c.sort && <span className="sort-mark">{active ? (sort.desc ? "▼" : "▲") : "↕"}</span>}
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {first > 0 && <tr className="spacer-row" style={{ height: first * rowH }} aria-hidden="true"><td colSpan={p.columns.length} /></tr>}
            {visible.map((r) => {
              const k = p.rowKey(r);
              const cls = [p.onRowClick ? "clickable" : "", k === p.selectedKey ? "selected" : "", p.rowClass?.(r) ?? ""].join(" ").trim();
              return (
                <tr key={k} style={{ height: rowH }} className={cls || undefined} data-testid={p.rowTestId} data-key={k}
                  tabIndex={p.onRowClick ? 0 : undefined}
                  onClick={p.onRowClick ? () => p.onRowClick!(r) : undefined}
                  onKeyDown={p.onRowClick ? (e) => { if (e.key === "Enter") p.onRowClick!(r); } : undefined}>
                  {p.columns.map((c) => <td key={c.id} className={`align-${c.align ?? "left"}`}>{c.render(r)}</td>)}
                </tr>
              );
            })}
            {last < shown && <tr className="spacer-row" style={{ height: (shown - last) * rowH }} aria-hidden="true"><td colSpan={p.columns.length} /></tr>}
          </tbody>
        </table>
        {shown === 0 && (
          <div className="empty-state small">
            {p.loading ? "Loading…" : deferredFilter ? `No rows match “${deferredFilter}”.` : (p.empty ?? "Nothing here yet.")}
          </div>
        )}
      </div>
    </div>
  );
}
