import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { staticFiles, WEB_UI_DIR } from "../../src/dashboard/static.ts";

const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";

let dir: string;
let server: http.Server;
let port = 0;
let handler: ReturnType<typeof staticFiles>;

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

/** A raw request line, so paths reach the server exactly as written (no client normalisation). */
function raw(method: string, target: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    sock.on("data", (c) => chunks.push(c));
    sock.on("error", reject);
    sock.on("end", () => {
      const all = Buffer.concat(chunks);
      const sep = all.indexOf("\r\n\r\n");
      const head = all.subarray(0, sep).toString("latin1").split("\r\n");
      const status = Number(head[0]!.split(" ")[1]);
      const h: http.IncomingHttpHeaders = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(":");
        h[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status, headers: h, body: all.subarray(sep + 4) });
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    sock.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`);
  });
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-static-"));
  const ui = path.join(dir, "web_ui");
  fs.mkdirSync(path.join(ui, "assets"), { recursive: true });
  fs.writeFileSync(path.join(ui, "index.html"), "<!doctype html><title>ui</title><script type=module src=/assets/index-abc123.js></script>");
  fs.writeFileSync(path.join(ui, "assets", "index-abc123.js"), `console.log(${JSON.stringify("x".repeat(4000))});`);
  fs.writeFileSync(path.join(ui, "assets", "index-abc123.css"), "body{color:red}");
  fs.writeFileSync(path.join(ui, "assets", "logo.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
  fs.writeFileSync(path.join(dir, "secret.txt"), "do not serve");
  handler = staticFiles(ui);
  server = http.createServer((req, res) => {
    if (!handler(req, res)) { res.writeHead(418); res.end("not static"); }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as net.AddressInfo).port;
});

after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

test("index.html at / with no-cache and every security header", async () => {
  const r = await raw("GET", "/");
  assert.equal(r.status, 200);
  assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
  assert.equal(r.headers["cache-control"], "no-cache");
  assert.equal(r.headers["content-security-policy"], CSP);
  assert.equal(r.headers["x-content-type-options"], "nosniff");
  assert.equal(r.headers["referrer-policy"], "no-referrer");
  assert.match(r.body.toString(), /<title>ui<\/title>/);
  assert.ok(r.headers.etag);
});

test("hashed assets: right content types and a year of immutable caching", async () => {
  const js = await raw("GET", "/assets/index-abc123.js");
  assert.equal(js.status, 200);
  assert.equal(js.headers["content-type"], "text/javascript; charset=utf-8");
  assert.equal(js.headers["cache-control"], "public, max-age=31536000, immutable");
  assert.equal(js.headers["content-security-policy"], CSP);
  const css = await raw("GET", "/assets/index-abc123.css");
  assert.equal(css.headers["content-type"], "text/css; charset=utf-8");
  const svg = await raw("GET", "/assets/logo.svg");
  assert.equal(svg.headers["content-type"], "image/svg+xml");
});

test("unknown paths fall back to index.html (SPA routing); missing assets are 404, not HTML", async () => {
  for (const p of ["/jobs", "/jobs/raysubmit_123", "/nodes?x=1", "/index.html"]) {
    const r = await raw("GET", p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers["content-type"], "text/html; charset=utf-8", p);
    assert.equal(r.headers["cache-control"], "no-cache", p);
  }
  const missing = await raw("GET", "/assets/index-gone.js");
  assert.equal(missing.status, 404);
  assert.equal(missing.headers["content-type"], "text/plain; charset=utf-8");
  assert.equal(missing.headers["x-content-type-options"], "nosniff");
});

test("path traversal, NUL and backslashes are refused and never escape the root", async () => {
  for (const p of ["/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/assets/%2e%2e/%2e%2e/secret.txt",
    "/..%5csecret.txt", "/index.html%00.js", "/assets/./index-abc123.js", "/%ff%fe"]) {
    const r = await raw("GET", p);
    assert.equal(r.status, 400, p);
    assert.doesNotMatch(r.body.toString(), /do not serve/, p);
    assert.equal(r.headers["content-security-policy"], CSP, p);
  }
});

test("/api/ paths and other methods are left to the API (handler returns false)", async () => {
  assert.equal((await raw("GET", "/api/version")).status, 418);
  assert.equal((await raw("GET", "/api")).status, 418);
  assert.equal((await raw("POST", "/")).status, 418);
  assert.equal((await raw("DELETE", "/assets/index-abc123.js")).status, 418);
});

test("HEAD has the headers and no body; ETag revalidation answers 304; gzip when asked", async () => {
  const head = await raw("HEAD", "/assets/index-abc123.js");
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.ok(Number(head.headers["content-length"]) > 4000);
  const first = await raw("GET", "/");
  const again = await raw("GET", "/", { "if-none-match": String(first.headers.etag) });
  assert.equal(again.status, 304);
  assert.equal(again.headers["content-security-policy"], CSP);
  const gz = await raw("GET", "/assets/index-abc123.js", { "accept-encoding": "gzip, br" });
  assert.equal(gz.headers["content-encoding"], "gzip");
  assert.match(zlib.gunzipSync(gz.body).toString(), /^console\.log/);
});

test("a rebuilt file is served fresh (the cache follows mtime and size)", async () => {
  const file = path.join(dir, "web_ui", "index.html");
  fs.writeFileSync(file, "<!doctype html><title>rebuilt ui</title>");
  fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
  assert.match((await raw("GET", "/")).body.toString(), /rebuilt ui/);
});

test("without a build, index requests get a page that says to run npm run build:ui", async () => {
  const h = staticFiles(path.join(dir, "does-not-exist"));
  const s = http.createServer((req, res) => { if (!h(req, res)) { res.writeHead(418); res.end(); } });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const saved = port;
  port = (s.address() as net.AddressInfo).port;
  try {
    const r = await raw("GET", "/jobs");
    assert.equal(r.status, 404);
    assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
    assert.match(r.body.toString(), /npm run build:ui/);
    assert.equal(r.headers["content-security-policy"], CSP);
  } finally {
    port = saved;
    await new Promise<void>((r) => s.close(() => r()));
  }
});

test("WEB_UI_DIR is build/web_ui at the repository root", () => {
  assert.equal(WEB_UI_DIR, path.resolve(import.meta.dirname, "..", "..", "build", "web_ui"));
  assert.ok(fs.existsSync(path.join(path.dirname(path.dirname(WEB_UI_DIR)), "package.json")));
});
