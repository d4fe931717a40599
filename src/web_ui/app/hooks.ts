/**
 * @module web_ui/hooks
 * Live data for the pages: `usePoll` (one request at a time, every ~2 s, paused while the tab is
 * hidden), `useRoute` (hash routing: `#/jobs/<id>?tab=logs`), and `useNow` (a ticking clock for
 * durations of running things).
 */
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { ApiError } from "./api.ts";
import { href, parseHash, type Route } from "./lib/route.ts";

export { href, parseHash, type Route };

export const POLL_MS = 2000;

export interface Poll<T> {
  data: T | undefined;
  error: ApiError | undefined;
  /** True until the first answer (or error) for the current inputs. */
  loading: boolean;
  /** When data last arrived (ms). */
  updatedAt: number;
  /** Fetch again now (after the request in flight, if any). */
  refresh: () => void;
}

interface PollState<T> { data: T | undefined; error: ApiError | undefined; loading: boolean; updatedAt: number }

function toApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError(0, e instanceof Error ? e.message : String(e));
}

/**
 * Calls `fetcher` now and then `intervalMs` after each answer, so requests never overlap and a slow
 * server is asked less often. Nothing is fetched while the page is hidden; coming back fetches at
 * once. When `key` changes the data is dropped and polling restarts. `intervalMs: 0` fetches once
 * (and again on `refresh`).
 */
export function usePoll<T>(fetcher: (signal: AbortSignal) => Promise<T>, key: string, o: { intervalMs?: number; enabled?: boolean } = {}): Poll<T> {
  const intervalMs = o.intervalMs ?? POLL_MS;
  const enabled = o.enabled ?? true;
  const [state, setState] = useState<PollState<T> & { key: string }>({ key, data: undefined, error: undefined, loading: true, updatedAt: 0 });
  const fetcherRef = useRef(fetcher);
  const kick = useRef<() => void>(() => {});
  useEffect(() => { fetcherRef.current = fetcher; });

  useEffect(() => {
    if (!enabled) return;
    const ctrl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    let again = false;
    let fetched = false;
    const tick = async (): Promise<void> => {
      if (ctrl.signal.aborted) return;
      if (running) { again = true; return; }
      clearTimeout(timer);
      if (document.hidden) return; // resumed by visibilitychange
      running = true;
      try {
        const data = await fetcherRef.current(ctrl.signal);
        fetched = true;
        if (!ctrl.signal.aborted) setState({ key, data, error: undefined, loading: false, updatedAt: Date.now() });
      } catch (e) {
        if (!ctrl.signal.aborted) setState((s) => ({ ...(s.key === key ? s : { data: undefined, updatedAt: 0 }), key, error: toApiError(e), loading: false }));
      } finally {
        running = false;
        if (!ctrl.signal.aborted) {
          if (again) { again = false; void tick(); } else if (intervalMs > 0) timer = setTimeout(() => void tick(), intervalMs);
        }
      }
    };
    const onVisible = (): void => { if (!document.hidden && (intervalMs > 0 || !fetched)) void tick(); };
    kick.current = () => void tick();
    document.addEventListener("visibilitychange", onVisible);
    void tick();
    return () => {
      ctrl.abort();
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
      kick.current = () => {};
    };
  }, [key, intervalMs, enabled]);

  const refresh = useCallback(() => kick.current(), []);
  // Data of an earlier key is never shown for the current one.
  const current = state.key === key ? state : { data: undefined, error: undefined, loading: true, updatedAt: 0 };
  return { ...current, refresh };
}

// ---------------------------------------------------------------------------------------------
// Hash routing
// ---------------------------------------------------------------------------------------------

function subscribeHash(l: () => void): () => void {
  window.addEventListener("hashchange", l);
  return () => window.removeEventListener("hashchange", l);
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribeHash, () => window.location.hash);
  // Memoized on the string, so the route's identity is stable for effects.
  return useMemo(() => parseHash(hash), [hash]);
}

export function navigate(to: string, replace = false): void {
  if (replace) window.history.replaceState(null, "", to);
  else window.location.hash = to.replace(/^#/, "");
  if (replace) window.dispatchEvent(new HashChangeEvent("hashchange"));
}

// ---------------------------------------------------------------------------------------------
// Clock
// ---------------------------------------------------------------------------------------------

/** The current time, re-rendering every `everyMs`. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

/** A value kept in the URL hash query (so filters survive reloads and links). */
export function useHashParam(name: string, fallback = ""): [string, (v: string) => void] {
  const route = useRoute();
  const value = route.query.get(name) ?? fallback;
  const set = useCallback((v: string) => {
    const r = parseHash(window.location.hash);
    const q: Record<string, string> = Object.fromEntries(r.query.entries());
    if (v === "" || v === fallback) delete q[name]; else q[name] = v;
    navigate(href(r.parts, q), true);
  }, [name, fallback]);
  return [value, set];
}
