/**
 * The dashboard's security against a real head started by `stingray start --head`, probed from
 * another host: the CVE-2023-48022 request, every 401 and 403 case, login, and where it listens.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { TestHosts, type Host } from "../helpers/hosts.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(ROOT, "bin/stingray.js");
const PROBE = path.join(ROOT, "test/fixtures/drivers/http_probe.ts");
const node = process.execPath;
const skip = TestHosts.supported();
let hosts: TestHosts | undefined;
let token = "";

interface Probe { method: string; url: string; headers?: Record<string, string>; body?: string }
interface Result { status?: number; body?: string; setCookie?: string[] | null; error?: string }

async function probe(from: Host, probes: Probe[]): Promise<Result[]> {
  const { stdout } = await hosts!.exec(from, [node, PROBE, JSON.stringify(probes)], { cwd: ROOT });
  return JSON.parse(stdout.trim().split("\n").pop()!) as Result[];
}

before(async () => {
  if (skip) return;
  hosts = await TestHosts.create(2);
  const [h0] = hosts.hosts as [Host, Host];
  const out = await hosts.exec(h0, [node, CLI, "start", "--head", `--node-ip-address=${h0.ip}`, "--num-cpus=1",
    "--dashboard-host=0.0.0.0", "--dashboard-allowed-hosts=head.example.org"]);
  assert.match(out.stdout, new RegExp(`Dashboard: http://${h0.ip.replace(/\./g, "\\.")}:8265`));
  token = (await hosts.exec(h0, [node, CLI, "get-auth-token"])).stdout.trim();
});
after(async () => { await hosts?.destroy(); });

test("CVE-2023-48022: an unauthenticated job submission is refused and runs nothing", { skip }, async () => {
  const [h0, h1] = hosts!.hosts as [Host, Host];
  const base = `http://${h0.ip}:8265`;
  const [r] = await probe(h1, [{ method: "POST", url: `${base}/api/jobs/`, headers: { "content-type": "application/json" },
    body: JSON.stringify({ entrypoint: "touch /tmp/pwned", runtime_env: {}, metadata: {} }) }]);
  assert.equal(r!.status, 401);
  assert.match(JSON.parse(r!.body!).error, /missing auth token/);
  const ls = await hosts!.exec(h0, ["sh", "-c", "test -e /tmp/pwned && echo ran || echo clean"]);
  assert.equal(ls.stdout.trim(), "clean");
});

test("every API route needs the token; wrong tokens, foreign hosts and cross-site writes are refused", { skip }, async () => {
  const [h0, h1] = hosts!.hosts as [Host, Host];
  const base = `http://${h0.ip}:8265`;
  const bearer = { authorization: `Bearer ${token}` };
  const [noToken, wrong, ok, rebind, allowedName, crossSite, unknown] = await probe(h1, [
    { method: "GET", url: `${base}/api/version` },
    { method: "GET", url: `${base}/api/version`, headers: { authorization: "Bearer not-the-token" } },
    { method: "GET", url: `${base}/api/version`, headers: bearer },
    { method: "GET", url: `${base}/api/version`, headers: { ...bearer, host: "evil.example:8265" } },
    { method: "GET", url: `${base}/api/version`, headers: { ...bearer, host: "head.example.org:8265" } },
    { method: "POST", url: `${base}/api/logout`, headers: { ...bearer, origin: "https://evil.example" } },
    { method: "GET", url: `${base}/api/nope`, headers: bearer },
  ]);
  assert.equal(noToken!.status, 401);
  assert.equal(wrong!.status, 401);
  assert.match(JSON.parse(wrong!.body!).error, /wrong auth token/);
  assert.equal(ok!.status, 200);
  assert.match(JSON.parse(ok!.body!).stingray_version, /^\d+\.\d+\.\d+/);
  assert.equal(rebind!.status, 403);
  assert.equal(allowedName!.status, 200);
  assert.equal(crossSite!.status, 403);
  assert.equal(unknown!.status, 404);
});

test("the login form sets an HttpOnly SameSite cookie that authenticates later requests", { skip }, async () => {
  const [h0, h1] = hosts!.hosts as [Host, Host];
  const base = `http://${h0.ip}:8265`;
  const form = { "content-type": "application/x-www-form-urlencoded" };
  const [bad, good] = await probe(h1, [
    { method: "POST", url: `${base}/api/login`, headers: form, body: "token=guess" },
    { method: "POST", url: `${base}/api/login`, headers: form, body: `token=${encodeURIComponent(token)}` },
  ]);
  assert.equal(bad!.status, 401);
  assert.equal(good!.status, 204);
  const cookie = good!.setCookie![0]!;
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const [withCookie] = await probe(h1, [{ method: "GET", url: `${base}/api/version`, headers: { cookie: cookie.split(";")[0]! } }]);
  assert.equal(withCookie!.status, 200);
});

test("by default the dashboard listens on 127.0.0.1 only; --include-dashboard=false turns it off", { skip }, async () => {
  const [, h1] = hosts!.hosts as [Host, Host];
  const start = (extra: string[]): Promise<unknown> => hosts!.exec(h1, [node, CLI, "start", "--head", `--node-ip-address=${h1.ip}`, "--num-cpus=1", ...extra]);
  try {
    await start([]);
    const ss = (await hosts!.exec(h1, ["ss", "-Hltn"])).stdout;
    assert.match(ss, /127\.0\.0\.1:8265\s/);
    assert.doesNotMatch(ss, /(0\.0\.0\.0|\*|10\.\d+\.\d+\.\d+):8265\s/);
    const [local] = await probe(h1, [{ method: "GET", url: "http://127.0.0.1:8265/api/version", headers: { authorization: `Bearer ${(await hosts!.exec(h1, [node, CLI, "get-auth-token"])).stdout.trim()}` } }]);
    assert.equal(local!.status, 200);
    await hosts!.exec(h1, [node, CLI, "stop"]);
    await start(["--include-dashboard=false"]);
    assert.doesNotMatch((await hosts!.exec(h1, ["ss", "-Hltn"])).stdout, /:8265\s/);
  } finally {
    await hosts!.exec(h1, [node, CLI, "stop"]);
  }
});
