/**
 * @module web_ui/components/LogView
 * Logs: a line buffer capped at 50,000 lines (Ray's viewer keeps as many), a server-sent-events
 * tail that fills it (job logs, followed log files), and a viewer that renders only the lines in
 * view, sticks to the bottom while the user is there, and filters by a search term.
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { request } from "../api.ts";
import { count } from "../format.ts";
import { LogBuffer, MAX_LOG_LINES } from "../lib/log_buffer.ts";

export { LogBuffer, MAX_LOG_LINES };

/** A LogBuffer and a version number that changes when it does (batched to ~10 renders/s). */
export function useLogBuffer(): { buffer: LogBuffer; version: number; append: (t: string) => void; reset: () => void } {
  const buffer = useMemo(() => new LogBuffer(), []);
  const [version, setVersion] = useState(0);
  const pending = useRef("");
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const flush = useCallback(() => {
    timer.current = undefined;
    buffer.append(pending.current);
    pending.current = "";
    setVersion((v) => v + 1);
  }, [buffer]);
  const append = useCallback((t: string) => {
    pending.current += t;
    timer.current ??= setTimeout(flush, 100);
  }, [flush]);
  const reset = useCallback(() => {
    clearTimeout(timer.current);
    timer.current = undefined;
    pending.current = "";
    buffer.reset();
    setVersion((v) => v + 1);
  }, [buffer]);
  useEffect(() => () => clearTimeout(timer.current), []);
  return { buffer, version, append, reset };
}

export type StreamStatus = "idle" | "connecting" | "live" | "ended" | "error";

/**
 * Follows `url` (server-sent events whose `data:` is `{text}` JSON, ending with `event: end`, or
 * `event: error` with `{error}`).
 * A dropped connection is retried after a pause, from the start (the server replays the log).
 * On a failure the URL is fetched once plainly to learn why (401 opens the login page).
 */
export function useLogStream(url: string | null, append: (t: string) => void, reset: () => void): { status: StreamStatus; error: string; end: unknown } {
  // Kept per URL, so a new URL starts as "connecting" without a state update inside the effect.
  const [state, setState] = useState<{ url: string | null; status: StreamStatus; error: string; end: unknown }>(
    { url: null, status: "idle", error: "", end: undefined });
  useEffect(() => {
    if (!url) return;
    let es: EventSource | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let closed = false;
    const probe = new AbortController();
    const set = (status: StreamStatus, error = "", end: unknown = undefined): void => setState({ url, status, error, end });
    const open = (): void => {
      reset();
      es = new EventSource(url);
      es.onopen = () => set("live");
      es.onmessage = (e: MessageEvent<string>) => {
        try {
          const chunk = JSON.parse(e.data) as { text?: unknown };
          if (typeof chunk.text === "string") append(chunk.text);
        } catch { append(e.data + "\n"); }
      };
      es.addEventListener("end", (e: MessageEvent<string>) => {
        es?.close();
        closed = true;
        let end: unknown;
        try { end = JSON.parse(e.data); } catch { end = e.data; }
        set("ended", "", end);
      });
      es.onerror = (ev: Event) => {
        if (closed) return;
        es?.close();
        // The server's own `event: error` ({error}) says what went wrong; it is final.
        if (ev instanceof MessageEvent && typeof ev.data === "string" && ev.data) {
          closed = true;
          let msg = ev.data;
          try { msg = String((JSON.parse(ev.data) as { error?: unknown }).error ?? ev.data); } catch { /* plain text */ }
          set("error", msg);
          return;
        }
        set("error");
        // EventSource hides the status; ask plainly once to learn it (and to trigger the login page).
        request("GET", url.replace(/([?&])follow=1&?/, "$1"), { signal: probe.signal, accept: "text/plain" })
          .then((r) => {
            void r.body?.cancel();
            set("connecting", "the live connection dropped; reconnecting…");
            retry = setTimeout(open, 3000);
          })
          .catch((e: unknown) => {
            if (probe.signal.aborted) return;
            const status = (e as { status?: number }).status;
            set("error", (e as Error).message);
            if (status !== 401 && status !== 404 && status !== 403) retry = setTimeout(open, 5000);
          });
      };
    };
    open();
    return () => {
      closed = true;
      probe.abort();
      clearTimeout(retry);
      es?.close();
    };
  }, [url, append, reset]);
  if (!url) return { status: "idle", error: "", end: undefined };
  return state.url === url ? state : { status: "connecting", error: "", end: undefined };
}

interface ViewProps {
  buffer: LogBuffer;
  version: number;
  search?: string;
  testId?: string;
  /** Height of the viewer in px; defaults to filling most of the window. */
  height?: number;
  empty?: ReactNode;
}

const LINE_H = 18;

function highlight(line: string, term: string): ReactNode {
  if (!term) return line || "\u00a0";
  const low = line.toLowerCase();
  const out: ReactNode[] = [];
  let at = 0;
  for (let i = low.indexOf(term); i >= 0; i = low.indexOf(term, at)) {
    if (i > at) out.push(line.slice(at, i));
    out.push(<mark key={i}>{line.slice(i, i + term.length)}</mark>);
    at = i + term.length;
  }
  out.push(line.slice(at));
  return out;
}

export function LogView(p: ViewProps): ReactNode {
  const term = (p.search ?? "").toLowerCase();
  const buf = p.buffer;
  // Indices of the lines shown (all, or those matching the search).
  const index = useMemo(() => {
    if (!term) return undefined;
    const out: number[] = [];
    for (let i = 0; i < buf.length; i++) if (buf.line(i).toLowerCase().includes(term)) out.push(i);
    return out;
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the buffer mutates; version says when
  }, [buf, p.version, term]);
  const n = index ? index.length : buf.length;

  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewH, setViewH] = useState(400);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewH(el.clientHeight || 400));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && atBottom.current) {
      el.scrollTop = el.scrollHeight;
      setScrollTop(el.scrollTop);
    }
  }, [p.version, n]);

  const onScroll = (): void => {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = el.scrollTop + el.clientHeight >= el.scrollHeight - LINE_H * 2;
    setScrollTop(el.scrollTop);
  };

  const first = Math.max(0, Math.floor(scrollTop / LINE_H) - 20);
  const last = Math.min(n, Math.ceil((scrollTop + viewH) / LINE_H) + 20);
  const rows: ReactNode[] = [];
  for (let k = first; k < last; k++) {
    const i = index ? index[k]! : k;
    rows.push(<div key={i} className="log-line"><span className="ln">{i + 1 + buf.dropped}</span><span className="lt">{highlight(buf.line(i), term)}</span></div>);
  }
  return (
    <div className="log-view-wrap">
      {buf.dropped > 0 && <div className="log-note">{count(buf.dropped)} earlier lines not kept (the viewer holds the last {count(MAX_LOG_LINES)})</div>}
      <div className="log-view" ref={scroller} onScroll={onScroll} style={p.height ? { height: p.height } : undefined} data-testid={p.testId} data-lines={buf.length}>
        {n === 0 ? <div className="log-empty">{term ? "No lines match." : (p.empty ?? "No output yet.")}</div> : (
          <div style={{ height: n * LINE_H, position: "relative" }}>
            <div style={{ position: "absolute", top: first * LINE_H, left: 0, right: 0 }}>{rows}</div>
          </div>
        )}
      </div>
      {term && <div className="log-note">{count(n)} matching lines</div>}
    </div>
  );
}

/** The whole buffer as one string (for download). */
export function bufferText(b: LogBuffer): string { return b.lines.join("\n") + (b.partial ? `\n${b.partial}` : ""); }
