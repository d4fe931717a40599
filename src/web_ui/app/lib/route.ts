/**
 * @module web_ui/lib/route
 * Hash routes: `#/jobs/<id>?tab=logs` to parts and query and back (pure; unit-tested).
 */

export interface Route {
  /** Path segments after `#/`, decoded: `#/jobs/abc` → ["jobs", "abc"]. */
  parts: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const h = hash.replace(/^#\/?/, "");
  const q = h.indexOf("?");
  const path = q >= 0 ? h.slice(0, q) : h;
  const parts = path.split("/").filter((p) => p !== "").map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  return { parts, query: new URLSearchParams(q >= 0 ? h.slice(q + 1) : "") };
}

/** `#/a/b?x=1` from parts and query (parts encoded). */
export function href(parts: string[], query: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") q.set(k, v);
  const qs = q.toString();
  return "#/" + parts.map(encodeURIComponent).join("/") + (qs ? `?${qs}` : "");
}
