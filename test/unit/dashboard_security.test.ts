import { test } from "node:test";
import assert from "node:assert/strict";
import { checkRequest, hostAllowed, hostName, requestToken, SESSION_COOKIE, type RequestFacts } from "../../src/dashboard/security.ts";

const policy = { token: "tok-123", allowedHosts: ["head.example.org"], publicPaths: (p: string) => p === "/" || p === "/api/login" };
const req = (method: string, path: string, headers: RequestFacts["headers"]): RequestFacts => ({ method, path, headers });
const authed = { host: "127.0.0.1:8265", authorization: "Bearer tok-123" };

test("CVE-2023-48022's request (an unauthenticated job submission) is refused with 401", () => {
  const d = checkRequest(req("POST", "/api/jobs/", { host: "10.0.0.5:8265", "content-type": "application/json" }), policy);
  assert.equal(d?.status, 401);
  assert.match(d!.error, /missing auth token.*get-auth-token/);
});

test("a wrong token is 401 and says so; the right one as Bearer or login cookie passes", () => {
  assert.match(checkRequest(req("GET", "/api/jobs/", { host: "127.0.0.1", authorization: "Bearer nope" }), policy)!.error, /wrong auth token/);
  assert.equal(checkRequest(req("GET", "/api/jobs/", { host: "127.0.0.1", authorization: "Basic abc" }), policy)?.status, 401);
  assert.equal(checkRequest(req("GET", "/api/jobs/", authed), policy), undefined);
  assert.equal(checkRequest(req("GET", "/api/jobs/", { host: "localhost:8265", cookie: `a=b; ${SESSION_COOKIE}=tok-123` }), policy), undefined);
  assert.equal(requestToken(req("GET", "/", { cookie: `${SESSION_COOKIE}=tok%2D123` })), "tok-123");
});

test("a foreign Host (DNS rebinding) is 403 even with the token", () => {
  for (const host of ["evil.example", "evil.example:8265", "localhost.", "", undefined]) {
    assert.equal(checkRequest(req("GET", "/api/jobs/", { ...authed, host }), policy)?.status, 403, String(host));
  }
  for (const host of ["127.0.0.1:8265", "localhost", "[::1]:8265", "10.1.2.3", "head.example.org:8265"]) {
    assert.equal(hostAllowed(host, policy.allowedHosts), true, host);
  }
  assert.equal(hostName("[::1]:8265"), "::1");
  assert.equal(hostName("Head.Example.org:80"), "head.example.org");
});

test("cross-site writes are 403 even with a login cookie; same-origin writes and cross-site reads pass", () => {
  const cookie = `${SESSION_COOKIE}=tok-123`;
  const h = { host: "127.0.0.1:8265", cookie };
  assert.equal(checkRequest(req("POST", "/api/jobs/", { ...h, origin: "https://evil.example" }), policy)?.status, 403);
  assert.equal(checkRequest(req("DELETE", "/api/jobs/x", { ...h, origin: "null" }), policy)?.status, 403);
  assert.equal(checkRequest(req("POST", "/api/jobs/x/stop", { ...h, "sec-fetch-site": "cross-site" }), policy)?.status, 403);
  assert.equal(checkRequest(req("POST", "/api/jobs/", { ...h, origin: "http://127.0.0.1:8265" }), policy), undefined);
  assert.equal(checkRequest(req("GET", "/api/jobs/", { ...h, origin: "https://evil.example" }), policy), undefined);
});

test("public paths need no token but still a good Host and a same-site Origin", () => {
  assert.equal(checkRequest(req("GET", "/", { host: "127.0.0.1:8265" }), policy), undefined);
  assert.equal(checkRequest(req("POST", "/api/login", { host: "127.0.0.1:8265" }), policy), undefined);
  assert.equal(checkRequest(req("POST", "/api/login", { host: "127.0.0.1:8265", origin: "http://evil.example" }), policy)?.status, 403);
  assert.equal(checkRequest(req("GET", "/", { host: "evil.example" }), policy)?.status, 403);
});
