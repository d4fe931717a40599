/**
 * @module web_ui/components/ui
 * Small building blocks shared by the pages: status badges (one colour scheme for every kind of
 * state), usage bars, cards, banners, empty states, stacked state bars and key/value lists.
 */
import { useEffect, type ReactNode } from "react";
import type { ApiError } from "../api.ts";
import { count, percent } from "../format.ts";

export type Tone = "green" | "red" | "blue" | "amber" | "gray" | "cyan" | "violet";

/** The colour of a state name, whatever it belongs to (job, node, actor, task, worker). */
const TONES: Record<string, Tone> = {
  // Jobs
  PENDING: "amber", RUNNING: "blue", SUCCEEDED: "green", FAILED: "red", STOPPED: "gray",
  // Nodes and actors
  ALIVE: "green", DEAD: "red", RESTARTING: "amber", PENDING_CREATION: "cyan", DEPENDENCIES_UNREADY: "gray",
  // Tasks
  PENDING_ARGS_AVAIL: "gray", PENDING_NODE_ASSIGNMENT: "amber", SUBMITTED_TO_WORKER: "cyan", FINISHED: "green",
  // Workers
  IDLE: "gray", LEASED: "blue", STARTING: "amber", DRIVER: "violet", WORKER: "gray",
  // Objects
  SEALED: "green", CREATING: "amber", SPILLED: "violet",
};

export function toneOf(state: string): Tone { return TONES[state] ?? "gray"; }

/** A short, readable label for an upper-case state: "PENDING_NODE_ASSIGNMENT" → "Pending node assignment". */
export function stateLabel(state: string): string {
  const s = state.replace(/_/g, " ").toLowerCase();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function Badge(p: { state: string; testId?: string; label?: string; title?: string }): ReactNode {
  return (
    <span className={`badge tone-${toneOf(p.state)}`} data-testid={p.testId} data-state={p.state} title={p.title ?? p.state}>
      <span className="dot" />{p.label ?? stateLabel(p.state)}
    </span>
  );
}

/** A used/total bar; colour shifts to amber past 75% and red past 90%. */
export function UsageBar(p: { used: number; total: number; label?: ReactNode; detail?: ReactNode; compact?: boolean }): ReactNode {
  const f = p.total > 0 ? Math.min(1, Math.max(0, p.used / p.total)) : 0;
  const tone = f >= 0.9 ? "red" : f >= 0.75 ? "amber" : "blue";
  return (
    <div className={`usage ${p.compact ? "compact" : ""}`} title={`${percent(f)} used`}>
      {(p.label !== undefined || p.detail !== undefined) && (
        <div className="usage-head"><span className="usage-label">{p.label}</span><span className="usage-detail">{p.detail}</span></div>
      )}
      <div className="usage-track"><div className={`usage-fill tone-${tone}`} style={{ width: `${(f * 100).toFixed(1)}%` }} /></div>
    </div>
  );
}

export function Card(p: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string; testId?: string }): ReactNode {
  return (
    <section className={`card ${p.className ?? ""}`} data-testid={p.testId}>
      {(p.title !== undefined || p.actions !== undefined) && (
        <header className="card-head"><h2>{p.title}</h2><div className="card-actions">{p.actions}</div></header>
      )}
      <div className="card-body">{p.children}</div>
    </section>
  );
}

export function Stat(p: { label: ReactNode; value: ReactNode; sub?: ReactNode; tone?: Tone; testId?: string }): ReactNode {
  return (
    <div className={`stat ${p.tone ? `tone-${p.tone}` : ""}`} data-testid={p.testId}>
      <div className="stat-label">{p.label}</div>
      <div className="stat-value">{p.value}</div>
      {p.sub !== undefined && <div className="stat-sub">{p.sub}</div>}
    </div>
  );
}

/** An API error in words; a route the server does not serve yet is a gentle note, not an alarm. */
export function ErrorBanner(p: { error: ApiError | undefined; what?: string }): ReactNode {
  // 401 opens the login page and an unreachable server has the app-wide banner: nothing to add here.
  if (!p.error || p.error.status === 401 || p.error.status === 0) return null;
  if (p.error.notServed) {
    return <div className="banner info" data-testid="api-unavailable">This dashboard does not serve {p.what ?? "this data"} yet ({p.error.status}).</div>;
  }
  return (
    <div className="banner error" role="alert" data-testid="api-error">
      <strong>{p.error.status === 0 ? "Cannot reach the dashboard." : `Could not load ${p.what ?? "data"}.`}</strong> {p.error.message}
    </div>
  );
}

export function Empty(p: { title: ReactNode; children?: ReactNode }): ReactNode {
  return (
    <div className="empty-state">
      <div className="empty-title">{p.title}</div>
      {p.children && <div className="empty-text">{p.children}</div>}
    </div>
  );
}

/** Counts by state as one horizontal bar of coloured parts, in `order`. */
export function StateBar(p: { counts: Partial<Record<string, number>>; order: readonly string[]; height?: number }): ReactNode {
  const total = p.order.reduce((s, k) => s + (p.counts[k] ?? 0), 0);
  if (total === 0) return <div className="state-bar empty" style={{ height: p.height }} />;
  return (
    <div className="state-bar" style={{ height: p.height }}
      title={p.order.filter((k) => p.counts[k]).map((k) => `${stateLabel(k)}: ${count(p.counts[k])}`).join("\n")}>
      {p.order.map((k) => {
        const n = p.counts[k] ?? 0;
        return n > 0 ? <div key={k} className={`tone-${toneOf(k)}`} style={{ flexGrow: n, flexBasis: 0 }} /> : null;
      })}
    </div>
  );
}

/** Legend chips for a state bar, with counts. Clicking one calls `onPick` (e.g. filter by it). */
export function StateCounts(p: { counts: Partial<Record<string, number>>; order: readonly string[]; onPick?: (s: string) => void; active?: string; testId?: string; hideZero?: boolean }): ReactNode {
  const shown = p.hideZero ? p.order.filter((k) => (p.counts[k] ?? 0) > 0) : p.order;
  return (
    <div className="state-counts" data-testid={p.testId}>
      {p.hideZero && shown.length === 0 && <span className="muted small">None yet</span>}
      {shown.map((k) => {
        const n = p.counts[k] ?? 0;
        const body = (<><span className={`dot tone-${toneOf(k)}`} />{stateLabel(k)} <b>{count(n)}</b></>);
        return p.onPick
          ? <button key={k} type="button" className={`chip ${p.active === k ? "active" : ""}`} data-state={k} onClick={() => p.onPick!(p.active === k ? "" : k)}>{body}</button>
          : <span key={k} className={`chip ${n === 0 ? "muted" : ""}`} data-state={k}>{body}</span>;
      })}
    </div>
  );
}

export function KeyValues(p: { items: [ReactNode, ReactNode][] }): ReactNode {
  return (
    <dl className="kv">
      {p.items.map(([k, v], i) => (<div key={i} className="kv-row"><dt>{k}</dt><dd>{v}</dd></div>))}
    </dl>
  );
}

/** A monospace id, shortened, with the full id on hover and a copy-friendly selection. */
export function Id(p: { id: string | null | undefined; n?: number }): ReactNode {
  if (!p.id) return <span className="muted">–</span>;
  const n = p.n ?? 10;
  return <code className="id" title={p.id}>{p.id.length > n + 2 ? `${p.id.slice(0, n)}…` : p.id}</code>;
}

/** A panel over the right side of the page, for a row's details. */
export function Drawer(p: { title: ReactNode; onClose: () => void; children: ReactNode; testId?: string }): ReactNode {
  const { onClose } = p;
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => { if (e.key === "Escape") onClose(); };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div className="drawer-backdrop" onClick={p.onClose}>
      <aside className="drawer" data-testid={p.testId} onClick={(e) => e.stopPropagation()} role="dialog" aria-modal="true">
        <header className="drawer-head">
          <h2>{p.title}</h2>
          <button type="button" className="btn ghost" onClick={p.onClose} aria-label="Close" data-testid="drawer-close">✕</button>
        </header>
        <div className="drawer-body">{p.children}</div>
      </aside>
    </div>
  );
}

export function Spinner(): ReactNode { return <span className="spinner" aria-label="Loading" />; }
