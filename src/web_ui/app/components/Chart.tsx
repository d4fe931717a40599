/**
 * @module web_ui/components/Chart
 * Time-series charts drawn as SVG by hand: a line/area chart with axes, a legend and a hover
 * read-out, and a bare sparkline. The dashboard's series are a few hundred points each, so plain
 * SVG paths are fast enough and no charting library (and its bundle size) is needed.
 */
import { useLayoutEffect, useMemo, useRef, useState, type MouseEvent, type ReactNode, type RefObject } from "react";
import { clock, compact } from "../format.ts";
import { byteTicks, niceTicks } from "../lib/ticks.ts";

export interface Series {
  name: string;
  values: readonly number[];
  /** CSS colour (a var(--…) works). */
  color: string;
  /** Fill the area under the line. */
  area?: boolean;
  /** Dashed line (e.g. a capacity). */
  dashed?: boolean;
}

interface ChartProps {
  times: readonly number[];
  series: readonly Series[];
  height?: number;
  format?: (v: number) => string;
  /** At least this much on the y axis (e.g. 1 for a fraction). */
  minMax?: number;
  /** Values are bytes: ticks fall on round KiB/MiB/GiB amounts. */
  bytes?: boolean;
  testId?: string;
}

function useWidth<T extends HTMLElement>(): [RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [w, setW] = useState(600);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setW(el.clientWidth || 600));
    ro.observe(el);
    setW(el.clientWidth || 600);
    return () => ro.disconnect();
  }, []);
  return [ref, w];
}

function path(values: readonly number[], x: (i: number) => number, y: (v: number) => number): string {
  let d = "";
  let pen = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) { pen = false; continue; }
    d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  }
  return d;
}

export function LineChart(p: ChartProps): ReactNode {
  const [ref, width] = useWidth<HTMLDivElement>();
  const [hover, setHover] = useState<number | undefined>(undefined);
  const height = p.height ?? 180;
  const fmt = p.format ?? compact;
  const pad = { l: 52, r: 12, t: 8, b: 22 };
  const n = p.times.length;

  const max = useMemo(() => {
    let m = p.minMax ?? 0;
    for (const s of p.series) for (const v of s.values) if (Number.isFinite(v) && v > m) m = v;
    return m;
  }, [p.series, p.minMax]);
  const ticks = p.bytes ? byteTicks(max) : niceTicks(max);
  const top = ticks[ticks.length - 1]!;
  const iw = Math.max(10, width - pad.l - pad.r);
  const ih = height - pad.t - pad.b;
  const x = (i: number): number => pad.l + (n <= 1 ? iw : (i / (n - 1)) * iw);
  const y = (v: number): number => pad.t + ih - (top > 0 ? (v / top) * ih : 0);

  const xTicks = useMemo(() => {
    if (n < 2) return [];
    const want = Math.max(2, Math.min(6, Math.floor(iw / 90)));
    const out: number[] = [];
    for (let k = 0; k < want; k++) out.push(Math.round((k / (want - 1)) * (n - 1)));
    return out;
  }, [n, iw]);

  const onMove = (e: MouseEvent<SVGSVGElement>): void => {
    if (n === 0) return;
    const r = e.currentTarget.getBoundingClientRect();
    const px = e.clientX - r.left - pad.l;
    setHover(Math.max(0, Math.min(n - 1, Math.round((px / iw) * (n - 1)))));
  };

  return (
    <div className="chart" ref={ref} data-testid={p.testId}>
      <div className="chart-legend">
        {p.series.map((s) => {
          const last = hover !== undefined ? s.values[hover] : s.values[s.values.length - 1];
          return (
            <span key={s.name} className="legend-item">
              <span className={`legend-swatch ${s.dashed ? "dashed" : ""}`} style={{ background: s.dashed ? undefined : s.color, borderColor: s.color }} />
              {s.name} <b>{last === undefined || !Number.isFinite(last) ? "–" : fmt(last)}</b>
            </span>
          );
        })}
        {hover !== undefined && p.times[hover] !== undefined && <span className="legend-time">{clock(p.times[hover])}</span>}
      </div>
      {n === 0 ? <div className="chart-empty" style={{ height }}>No samples yet</div> : (
        <svg width={width} height={height} onMouseMove={onMove} onMouseLeave={() => setHover(undefined)} role="img">
          {ticks.map((t) => (
            <g key={t}>
              <line className="grid" x1={pad.l} x2={pad.l + iw} y1={y(t)} y2={y(t)} />
              <text className="axis" x={pad.l - 6} y={y(t) + 4} textAnchor="end">{fmt(t)}</text>
            </g>
          ))}
          {xTicks.map((i) => (
            <text key={i} className="axis" x={x(i)} y={height - 6} textAnchor={i === 0 ? "start" : i === n - 1 ? "end" : "middle"}>{clock(p.times[i]!)}</text>
          ))}
          {p.series.map((s) => {
            const d = path(s.values, x, y);
            if (!d) return null;
            return (
              <g key={s.name}>
                {s.area && <path d={`${d}L${x(lastFinite(s.values)).toFixed(1)},${y(0)}L${x(firstFinite(s.values)).toFixed(1)},${y(0)}Z`} fill={s.color} opacity={0.14} />}
                <path d={d} fill="none" stroke={s.color} strokeWidth={s.dashed ? 1.25 : 1.75} strokeDasharray={s.dashed ? "4 3" : undefined} strokeLinejoin="round" />
              </g>
            );
          })}
          {hover !== undefined && (
            <g>
              <line className="hover-line" x1={x(hover)} x2={x(hover)} y1={pad.t} y2={pad.t + ih} />
              {p.series.map((s) => {
                const v = s.values[hover];
                return v !== undefined && Number.isFinite(v) ? <circle key={s.name} cx={x(hover)} cy={y(v)} r={3} fill={s.color} /> : null;
              })}
            </g>
          )}
        </svg>
      )}
    </div>
  );
}

function firstFinite(v: readonly number[]): number { const i = v.findIndex(Number.isFinite); return i < 0 ? 0 : i; }
function lastFinite(v: readonly number[]): number {
  for (let i = v.length - 1; i >= 0; i--) if (Number.isFinite(v[i])) return i;
  return 0;
}

/** A small line without axes, for cards. */
export function Sparkline(p: { values: readonly number[]; color: string; max?: number; height?: number }): ReactNode {
  const [ref, width] = useWidth<HTMLDivElement>();
  const h = p.height ?? 36;
  const n = p.values.length;
  let max = p.max ?? 0;
  for (const v of p.values) if (Number.isFinite(v) && v > max) max = v;
  const x = (i: number): number => (n <= 1 ? width : (i / (n - 1)) * width);
  const y = (v: number): number => 2 + (h - 4) - (max > 0 ? (v / max) * (h - 4) : 0);
  const d = path(p.values, x, y);
  return (
    <div className="sparkline" ref={ref}>
      <svg width={width} height={h} aria-hidden="true">
        {d && <path d={`${d}L${x(lastFinite(p.values)).toFixed(1)},${h}L${x(firstFinite(p.values)).toFixed(1)},${h}Z`} fill={p.color} opacity={0.15} />}
        {d && <path d={d} fill="none" stroke={p.color} strokeWidth={1.5} />}
      </svg>
    </div>
  );
}
