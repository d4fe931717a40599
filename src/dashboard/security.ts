/**
 * @module dashboard/security
 * Who may talk to the dashboard. Every request passes `checkRequest` before any route runs:
 *
 * 1. **Host** (DNS rebinding): a page on `evil.example` whose name resolves to 127.0.0.1 sends
 *    `Host: evil.example`. Only IP literals, `localhost`, this machine's names and the names the
 *    operator allowed are accepted; anything else is 403.
 * 2. **Cross-site writes** (CSRF): a request that changes state (POST, PUT, PATCH, DELETE) with an
 *    `Origin` whose host differs from `Host`, or that the browser marks `Sec-Fetch-Site:
 *    cross-site`, is 403 even if a login cookie came with it.
 * 3. **Authentication**: the cluster token, as `Authorization: Bearer <token>` or as the cookie
 *    the UI's login form sets. Without it: 401, and no route runs. This is what makes Stingray
 *    immune to CVE-2023-48022 (Ray's unauthenticated `POST /api/jobs/` that runs any command).
 *
 * Pure functions over a small request shape, so every case is unit-tested without a server.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import os from "node:os";

export const SESSION_COOKIE = "stingray_token";

export interface RequestFacts {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface SecurityPolicy {
  token: string;
  /** Extra host names accepted in the Host header (the operator's DNS names for the head). */
  allowedHosts: string[];
  /** Paths that need no token (the login form and the static UI shell); still Host-checked. */
  publicPaths: (path: string) => boolean;
}

export interface Denial { status: 401 | 403; error: string }

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

function header(h: RequestFacts["headers"], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The host name part of a Host header or URL authority (brackets of IPv6 literals removed). */
export function hostName(authority: string): string {
  const a = authority.trim().toLowerCase();
  if (a.startsWith("[")) return a.slice(1, a.indexOf("]") > 0 ? a.indexOf("]") : undefined);
  const i = a.lastIndexOf(":");
  return i >= 0 && a.indexOf(":") === i ? a.slice(0, i) : a;
}

function isIpLiteral(h: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || (h.includes(":") && /^[0-9a-f:.]+$/.test(h));
}

let machineNames: Set<string> | undefined;
function localNames(): Set<string> {
  if (!machineNames) {
    const n = os.hostname().toLowerCase();
    machineNames = new Set(["localhost", n, n.split(".")[0]!]);
  }
  return machineNames;
}

export function hostAllowed(host: string | undefined, allowed: string[]): boolean {
  if (!host) return false;
  const h = hostName(host);
  if (h === "" || h.endsWith(".")) return false;
  return isIpLiteral(h) || localNames().has(h) || allowed.some((a) => a.toLowerCase() === h);
}

function digest(s: string): Buffer { return createHash("sha256").update(s).digest(); }

export function tokenMatches(given: string | undefined, token: string): boolean {
  return given !== undefined && given !== "" && timingSafeEqual(digest(given), digest(token));
}

export function cookieToken(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === SESSION_COOKIE) {
      try { return decodeURIComponent(part.slice(i + 1).trim()); } catch { return undefined; }
    }
  }
  return undefined;
}

/** The token a request carries: Bearer header first, then the login cookie. */
export function requestToken(r: RequestFacts): string | undefined {
  const auth = header(r.headers, "authorization");
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1] : undefined;
  }
  return cookieToken(header(r.headers, "cookie"));
}

/** Undefined when the request may proceed; else the status and a message that says what to do. */
export function checkRequest(r: RequestFacts, p: SecurityPolicy): Denial | undefined {
  const host = header(r.headers, "host");
  if (!hostAllowed(host, p.allowedHosts)) {
    return { status: 403, error: `the Host header ${JSON.stringify(host ?? "")} is not this dashboard's address; ` +
      "open the dashboard by its IP address or localhost (or start the head with --dashboard-allowed-hosts=NAME)" };
  }
  if (UNSAFE.has(r.method.toUpperCase())) {
    const origin = header(r.headers, "origin");
    if (origin !== undefined && origin !== "null") {
      let originHost: string;
      try { originHost = new URL(origin).host.toLowerCase(); } catch { originHost = ""; }
      if (originHost !== (host ?? "").toLowerCase()) {
        return { status: 403, error: `cross-site request refused: Origin ${origin} is not ${host ?? ""}` };
      }
    } else if (origin === "null") {
      return { status: 403, error: "cross-site request refused: Origin null" };
    }
    if (header(r.headers, "sec-fetch-site") === "cross-site") {
      return { status: 403, error: "cross-site request refused (Sec-Fetch-Site: cross-site)" };
    }
  }
  if (p.publicPaths(r.path)) return undefined;
  const given = requestToken(r);
  if (given === undefined) {
    return { status: 401, error: "missing auth token: send `Authorization: Bearer <token>` or log in at /; " +
      "print the token on the head with `stingray get-auth-token`" };
  }
  if (!tokenMatches(given, p.token)) {
    return { status: 401, error: "wrong auth token: it does not match this cluster's; print the right one on the head with `stingray get-auth-token`" };
  }
  return undefined;
}
