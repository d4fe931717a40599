/**
 * @module dashboard/static
 * Serves the web UI's built files (build/web_ui, made by `npm run build:ui`) for every GET/HEAD
 * that is not under /api/. Unknown paths get index.html, so the single-page app routes them.
 *
 * Hashed assets (/assets/name-<hash>.js) are cached for a year; index.html is revalidated every
 * time (ETag), so a rebuilt UI is picked up on the next load. Every answer carries a strict
 * Content-Security-Policy (scripts and connections to this origin only, no framing), nosniff and
 * no-referrer. Paths are decoded, checked for `..`, NUL and backslashes, resolved, and must stay
 * inside the root.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import type http from "node:http";
import path from "node:path";
import zlib from "node:zlib";

/** build/web_ui at the repository root. */
export const WEB_UI_DIR = path.resolve(import.meta.dirname, "..", "..", "build", "web_ui");

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
};

export function contentType(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
}

const COMPRESSIBLE = /^(text\/|application\/(json|javascript)|image\/svg)/;
const IMMUTABLE = "public, max-age=31536000, immutable";

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stingray dashboard</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 4em auto; line-height: 1.5">
<h1>The dashboard UI is not built</h1>
<p>The web UI's files are missing. Build them in the Stingray checkout with</p>
<pre style="background:#f3f4f6;padding:0.8em">npm run build:ui</pre>
<p>and reload this page. The HTTP API under <code>/api/</code> works without it.</p>
</body></html>
`;

interface Cached { mtimeMs: number; size: number; body: Buffer; gzip: Buffer | undefined; etag: string }

/** Why a path is refused, or undefined when it is a clean relative path. */
export function unsafePath(decoded: string): string | undefined {
  if (decoded.includes("\0")) return "NUL in path";
  if (decoded.includes("\\")) return "backslash in path";
  if (decoded.split("/").some((seg) => seg === ".." || seg === ".")) return "dot segment in path";
  return undefined;
}

function send(req: http.IncomingMessage, res: http.ServerResponse, status: number, headers: Record<string, string>, body: Buffer | string): void {
  const buf = typeof body === "string" ? Buffer.from(body) : body;
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, "content-length": String(buf.length) });
  res.end(req.method === "HEAD" ? undefined : buf);
}

/**
 * A request handler for the UI's files under `rootDir`. It answers GET and HEAD for paths outside
 * /api/ and returns true; for anything else it returns false and leaves the request alone.
 */
export function staticFiles(rootDir: string): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const root = path.resolve(rootDir);
  const cache = new Map<string, Cached>();

  /** The file's bytes (cached until its mtime or size changes), or undefined if it is not a file. */
  const load = (file: string): Cached | undefined => {
    let st: fs.Stats;
    try { st = fs.statSync(file); } catch { return undefined; }
    if (!st.isFile()) return undefined;
    const hit = cache.get(file);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit;
    let body: Buffer;
    try { body = fs.readFileSync(file); } catch { return undefined; }
    const gzip = COMPRESSIBLE.test(contentType(file)) && body.length > 1024 ? zlib.gzipSync(body) : undefined;
    const etag = `"${createHash("sha1").update(body).digest("base64url").slice(0, 22)}"`;
    const c: Cached = { mtimeMs: st.mtimeMs, size: st.size, body, gzip, etag };
    if (cache.size > 500) cache.clear();
    cache.set(file, c);
    return c;
  };

  const serve = (req: http.IncomingMessage, res: http.ServerResponse, file: string, c: Cached, cacheControl: string): void => {
    const headers: Record<string, string> = { "content-type": contentType(file), "cache-control": cacheControl, etag: c.etag, vary: "accept-encoding" };
    if (req.headers["if-none-match"] === c.etag) {
      res.writeHead(304, { ...SECURITY_HEADERS, ...headers });
      res.end();
      return;
    }
    const gz = c.gzip && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    send(req, res, 200, gz ? { ...headers, "content-encoding": "gzip" } : headers, gz ? c.gzip! : c.body);
  };

  return (req, res) => {
    const method = (req.method ?? "GET").toUpperCase();
    if (method !== "GET" && method !== "HEAD") return false;
    const rawPath = (req.url ?? "/").split("?")[0]!.split("#")[0]!;
    if (rawPath === "/api" || rawPath.startsWith("/api/")) return false;

    let decoded: string;
    try { decoded = decodeURIComponent(rawPath); } catch {
      send(req, res, 400, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }, "malformed path\n");
      return true;
    }
    const bad = unsafePath(decoded) ?? (decoded.startsWith("/") ? undefined : "relative path");
    if (bad) {
      send(req, res, 400, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }, `${bad}\n`);
      return true;
    }
    const file = path.resolve(root, "." + decoded);
    if (file !== root && !file.startsWith(root + path.sep)) {
      send(req, res, 400, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }, "path outside the UI\n");
      return true;
    }

    const isIndex = decoded === "/" || decoded === "/index.html";
    const asset = !isIndex ? load(file) : undefined;
    if (asset) {
      serve(req, res, file, asset, decoded.startsWith("/assets/") ? IMMUTABLE : "no-cache");
      return true;
    }
    // A missing hashed asset is a 404: index.html in its place would be run as a script.
    if (decoded.startsWith("/assets/")) {
      send(req, res, 404, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }, "no such asset (the UI was rebuilt? reload the page)\n");
      return true;
    }
    const indexFile = path.join(root, "index.html");
    const index = load(indexFile);
    if (!index) {
      send(req, res, 404, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }, NOT_BUILT);
      return true;
    }
    serve(req, res, indexFile, index, "no-cache");
    return true;
  };
}
