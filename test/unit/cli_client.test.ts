/**
 * The dashboard client without a cluster: where it finds the dashboard and the token, how it reads
 * server-sent events and state envelopes, and the errors it turns HTTP failures into, against a
 * small local HTTP server.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { DashboardClient, DashboardError, listQuery, normalizeAddress, parseSse, resolveDashboard, serverMessage, unwrapState } from "../../src/dashboard/client.ts";
import { AuthError, ConnectionError, ValueError } from "../../src/common/errors.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-cli-client-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A temp dir holding a fake local session: cluster.json and auth_token, as the head writes them. */
function session(info: { dashboardUrl?: string; gcsHost?: string; gcsPort?: number }, token = "local-token"): string {
  const root = fs.mkdtempSync(path.join(tmp, "root-"));
  const dir = path.join(root, "session_x");
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "cluster.json"), JSON.stringify({ gcsHost: "10.0.0.5", gcsPort: 6379, headIp: "10.0.0.5", sessionDir: dir, version: "0", startTime: 0, ...info }));
  fs.writeFileSync(path.join(dir, "auth_token"), token + "\n");
  fs.symlinkSync("session_x", path.join(root, "session_latest"));
  return root;
}
const none = path.join(tmp, "no-cluster");

test("address: --address forms; GCS addresses map to the dashboard with a note", () => {
  assert.deepEqual(normalizeAddress("http://h:9000/"), { url: "http://h:9000", notes: [] });
  assert.equal(normalizeAddress("https://h.example.org").url, "https://h.example.org");
  assert.equal(normalizeAddress("h:9000").url, "http://h:9000");
  assert.equal(normalizeAddress("h").url, "http://h:8265");
  const gcs = normalizeAddress("10.1.2.3:6379");
  assert.equal(gcs.url, "http://10.1.2.3:8265");
  assert.match(gcs.notes[0]!, /GCS.*not a dashboard address/);
  assert.equal(normalizeAddress("stingray://10.1.2.3:10001").url, "http://10.1.2.3:8265");
  assert.throws(() => normalizeAddress("ftp://x:1"), ValueError);
  assert.throws(() => normalizeAddress("a b"), ValueError);
  // The local cluster's GCS address means its dashboard, wherever that listens.
  const local = { dashboardUrl: "http://127.0.0.1:40000", gcsHost: "10.0.0.5", gcsPort: 41000, token: "t" };
  assert.equal(normalizeAddress("10.0.0.5:41000", local).url, "http://127.0.0.1:40000");
  assert.equal(normalizeAddress("127.0.0.1:41000", local).url, "http://127.0.0.1:40000");
});

test("address order: --address, then STINGRAY_ADDRESS, then the local cluster, then 127.0.0.1:8265", () => {
  const root = session({ dashboardUrl: "http://127.0.0.1:40001" });
  assert.equal(resolveDashboard({ address: "http://a:1", env: { STINGRAY_ADDRESS: "http://b:2" }, tempDir: root }).url, "http://a:1");
  const fromEnv = resolveDashboard({ env: { STINGRAY_ADDRESS: "http://b:2" }, tempDir: root });
  assert.deepEqual([fromEnv.url, fromEnv.source], ["http://b:2", "env"]);
  // STINGRAY_ADDRESS as init() reads it (a GCS address): the dashboard on that host.
  assert.equal(resolveDashboard({ env: { STINGRAY_ADDRESS: "10.9.9.9:7000" }, tempDir: root }).url, "http://10.9.9.9:8265");
  assert.equal(resolveDashboard({ env: { STINGRAY_ADDRESS: "10.0.0.5:6379" }, tempDir: root }).url, "http://127.0.0.1:40001");
  const local = resolveDashboard({ env: {}, tempDir: root });
  assert.deepEqual([local.url, local.source], ["http://127.0.0.1:40001", "local"]);
  assert.equal(resolveDashboard({ address: "auto", env: {}, tempDir: root }).url, "http://127.0.0.1:40001");
  const dflt = resolveDashboard({ env: {}, tempDir: none });
  assert.deepEqual([dflt.url, dflt.source], ["http://127.0.0.1:8265", "default"]);
  const noDash = resolveDashboard({ env: {}, tempDir: session({}) });
  assert.equal(noDash.url, "http://127.0.0.1:8265");
  assert.match(noDash.notes[0]!, /without a dashboard/);
  // STINGRAY_TEMP_DIR picks the session root when no tempDir is given.
  assert.equal(resolveDashboard({ env: { STINGRAY_TEMP_DIR: root } }).url, "http://127.0.0.1:40001");
});

test("token: STINGRAY_AUTH_TOKEN, else the local session's, only for the local or a loopback dashboard", () => {
  const root = session({ dashboardUrl: "http://10.0.0.5:8265" }, "sess-tok");
  assert.deepEqual(resolveDashboard({ env: { STINGRAY_AUTH_TOKEN: " env-tok\n" }, tempDir: root }).token, "env-tok");
  const local = resolveDashboard({ env: {}, tempDir: root });
  assert.deepEqual([local.token, local.tokenSource], ["sess-tok", "session"]);
  assert.equal(resolveDashboard({ address: "http://localhost:9999", env: {}, tempDir: root }).token, "sess-tok");
  assert.equal(resolveDashboard({ address: "http://[::1]:9999", env: {}, tempDir: root }).token, "sess-tok");
  // Another host never gets this machine's token unasked.
  assert.equal(resolveDashboard({ address: "http://10.7.7.7:8265", env: {}, tempDir: root }).token, undefined);
  assert.equal(resolveDashboard({ address: "http://127.0.0.1:8265", env: {}, tempDir: none }).token, undefined);
});

test("server-sent events: fields, multi-line data, comments, CRLF, chunks split anywhere", async () => {
  const text = ": hello\r\ndata: {\"text\":\"a\\n\"}\r\n\r\nevent: end\ndata: {\"status\":\"SUCCEEDED\"}\n\ndata: x\ndata: y\n\ndata:z";
  const bytes = new TextEncoder().encode(text);
  for (const size of [1, 2, 3, 7, 1000]) {
    async function* chunks(): AsyncGenerator<Uint8Array> { for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size); }
    const events = [];
    for await (const e of parseSse(chunks())) events.push(e);
    assert.deepEqual(events, [
    { event: "message", data: "{\"text\":\"a\\n\"}" },
    { event: "end", data: "{\"status\":\"SUCCEEDED\"}" },
    { event: "message", data: "x\ny" },
    { event: "message", data: "z" },
    ], `chunks of ${size}`);
  }
});

test("state replies: Ray's envelope or bare; filters as repeated parameters; error bodies", () => {
  assert.deepEqual(unwrapState({ result: true, msg: "", data: { result: { total: 1 } } }), { total: 1 });
  assert.deepEqual(unwrapState({ total: 1, result: [] }), { total: 1, result: [] });
  assert.throws(() => unwrapState({ result: false, msg: "bad filter column foo", data: { result: null } }), /bad filter column foo/);
  assert.deepEqual(listQuery({ limit: 5, detail: true, filters: [{ key: "state", predicate: "=", value: "ALIVE" }, { key: "name", predicate: "!=", value: "a" }] }),
    { limit: 5, detail: 1, timeout: undefined, filter_keys: ["state", "name"], filter_predicates: ["=", "!="], filter_values: ["ALIVE", "a"] });
  assert.equal(serverMessage("{\"error\":\"nope\"}"), "nope");
  assert.equal(serverMessage("{\"result\":false,\"msg\":\"m\"}"), "m");
  assert.equal(serverMessage(" plain \n"), "plain");
});

// --- against a local HTTP server ---------------------------------------------------------------

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;
async function serve(h: Handler): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => h(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
const jsonReply = (res: http.ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

test("HTTP failures become errors that name the fix", async () => {
  const seen: Array<{ method?: string; url?: string; auth?: string; type?: string; body: string }> = [];
  const s = await serve((req, res, body) => {
    seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers["content-type"], body: body.toString() });
    const u = new URL(req.url!, "http://x");
    if (!req.headers.authorization) return jsonReply(res, 401, { error: "missing auth token" });
    if (req.headers.authorization !== "Bearer good") return jsonReply(res, 401, { error: "wrong auth token" });
    if (u.pathname === "/api/jobs/nope") return jsonReply(res, 404, { error: "job nope does not exist" });
    if (u.pathname === "/api/jobs/") {
      if (req.method === "POST") return jsonReply(res, 400, { error: "entrypoint must be a non-empty string" });
      return jsonReply(res, 200, []);
    }
    if (u.pathname === "/api/v0/nodes") return jsonReply(res, 200, { result: true, msg: "", data: { result: { total: 0, num_after_truncation: 0, num_filtered: 0, result: [], partial_failure_warning: null, warnings: null } } });
    if (u.pathname === "/api/packages/gcs/_stingray_pkg_00.zip") return req.method === "PUT" ? jsonReply(res, 200, {}) : jsonReply(res, 404, { error: "no such package" });
    if (u.pathname === "/api/version") return jsonReply(res, 500, { error: "internal error: boom" });
    if (u.pathname === "/api/v0/actors/summarize") {
      return jsonReply(res, 200, { result: true, msg: "", data: { result: { node_id_to_summary: { cluster: { summary: {}, total_actors: 0 } } } } });
    }
    if (u.pathname === "/api/v0/logs/file") return jsonReply(res, 404, { error: "no log file for pid 9 on node 10.0.0.1" });
    if (u.pathname === "/api/v0/tasks") { res.writeHead(404); res.end("Not Found"); return; }
    jsonReply(res, 404, { error: `no such route: ${req.method} ${u.pathname}` });
  });
  try {
    await assert.rejects(new DashboardClient({ url: s.url }).listJobs(), (e: Error) => e instanceof AuthError && /none was given.*export STINGRAY_AUTH_TOKEN=\$\(stingray get-auth-token\)/.test(e.message));
    await assert.rejects(new DashboardClient({ url: s.url, token: "bad" }).listJobs(), (e: Error) => e instanceof AuthError && /refused the auth token.*stingray get-auth-token/.test(e.message));
    const c = new DashboardClient({ url: s.url + "/", token: "good", headers: { "x-extra": "1" } });
    assert.deepEqual(await c.listJobs(), []);
    await assert.rejects(c.getJob("nope"), (e: Error) => e instanceof DashboardError && e.status === 404 && /job 'nope' not found.*stingray job list/.test(e.message));
    await assert.rejects(c.submitJob({ entrypoint: "" }), (e: Error) => e instanceof ValueError && /entrypoint must be a non-empty string/.test(e.message));
    await assert.rejects(c.version(), (e: Error) => e instanceof DashboardError && /failed on GET \/api\/version \(500: internal error: boom\)/.test(e.message));
    await assert.rejects(c.clusterStatus(), (e: Error) => /does not serve GET \/api\/cluster_status.*older Stingray/.test(e.message));
    assert.deepEqual(await c.summarizeActors(), { summary: {}, total_actors: 0 }, "Ray's node_id_to_summary.cluster layer is unwrapped");
    await assert.rejects(c.getLog({ pid: 9 }), (e: Error) => e instanceof DashboardError && e.message === "no log file for pid 9 on node 10.0.0.1");
    await assert.rejects(c.listTasks(), (e: Error) => /answered 404 to GET \/api\/v0\/tasks \(Not Found\); is it a Stingray dashboard\?/.test(e.message));
    assert.equal((await c.listNodes({ limit: 3, filters: [{ key: "state", predicate: "!=", value: "DEAD" }] })).total, 0);
    assert.equal(seen.at(-1)!.url, "/api/v0/nodes?limit=3&filter_keys=state&filter_predicates=%21%3D&filter_values=DEAD");
    assert.equal(await c.packageExists("_stingray_pkg_00.zip"), false);
    await c.uploadPackage("_stingray_pkg_00.zip", new Uint8Array([1, 2, 3]));
    assert.deepEqual(seen.at(-1), { method: "PUT", url: "/api/packages/gcs/_stingray_pkg_00.zip", auth: "Bearer good", type: "application/zip", body: "\x01\x02\x03" });
    const post = seen.find((x) => x.method === "POST")!;
    assert.deepEqual(JSON.parse(post.body), { entrypoint: "" });
    assert.equal(post.type, "application/json");
  } finally {
    await s.close();
  }
  await assert.rejects(new DashboardClient({ url: s.url }).listJobs(), (e: Error) => e instanceof ConnectionError &&
    e.message.includes(`could not reach the Stingray dashboard at ${s.url}`) && /--address/.test(e.message) && /--dashboard-host=0\.0\.0\.0/.test(e.message));
});

test("a job log tail: chunks, then the final status; a stream cut short falls back to the job's status", async () => {
  let cut = false;
  const s = await serve((req, res) => {
    const u = new URL(req.url!, "http://x");
    if (u.pathname === "/api/jobs/j1/logs/tail") {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: {\"text\":\"line 1\\n\"}\n\n");
      if (cut) { res.end("data: {\"text\":\"line 2\\n\"}\n\n"); return; }
      setTimeout(() => res.end("data: {\"text\":\"line 2\\n\"}\n\nevent: end\ndata: {\"status\":\"FAILED\"}\n\n"), 20);
      return;
    }
    if (u.pathname === "/api/jobs/j1") return jsonReply(res, 200, { status: cut ? "SUCCEEDED" : "RUNNING" });
    jsonReply(res, 404, { error: "no such route" });
  });
  try {
    const c = new DashboardClient({ url: s.url, token: "t" });
    const items = [];
    for await (const i of c.tailJobLogs("j1")) items.push(i);
    assert.deepEqual(items, [{ type: "log", text: "line 1\n" }, { type: "log", text: "line 2\n" }, { type: "end", status: "FAILED" }]);
    cut = true;
    const again = [];
    for await (const i of c.tailJobLogs("j1")) again.push(i);
    assert.deepEqual(again.at(-1), { type: "end", status: "SUCCEEDED" });
  } finally {
    await s.close();
  }
});
