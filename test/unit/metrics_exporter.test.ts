/**
 * A node's /metrics endpoint: the cluster token as a bearer credential unless the node allows
 * unauthenticated scrapes; only GET /metrics is served; collection runs before each answer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Gauge, Registry } from "prom-client";
import { MetricsExporter } from "../../src/metrics/exporter.ts";

async function withExporter(allowUnauthenticated: boolean, f: (base: string) => Promise<void>): Promise<void> {
  const registry = new Registry();
  const g = new Gauge({ name: "stingray_test_scrapes", help: "scrapes so far", registers: [registry] });
  let n = 0;
  const e = new MetricsExporter({ host: "127.0.0.1", port: 0, token: "tok", allowUnauthenticated, registry, collect: async () => { g.set(++n); } });
  await e.start();
  try { await f(`http://127.0.0.1:${e.port}`); } finally { await e.stop(); }
}

test("scrapes need the token; the answer is Prometheus text, collected fresh", async () => {
  await withExporter(false, async (base) => {
    const none = await fetch(`${base}/metrics`);
    assert.equal(none.status, 401);
    assert.match(await none.text(), /missing auth token.*--metrics-allow-unauthenticated/s);
    assert.equal((await fetch(`${base}/metrics`, { headers: { authorization: "Bearer nope" } })).status, 401);
    const ok = await fetch(`${base}/metrics`, { headers: { authorization: "Bearer tok" } });
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get("content-type") ?? "", /^text\/plain/);
    assert.match(await ok.text(), /^stingray_test_scrapes 1$/m);
    assert.match(await (await fetch(`${base}/metrics`, { headers: { authorization: "Bearer tok" } })).text(), /^stingray_test_scrapes 2$/m);
    assert.equal((await fetch(`${base}/other`, { headers: { authorization: "Bearer tok" } })).status, 404);
  });
});

test("--metrics-allow-unauthenticated serves scrapes without the token", async () => {
  await withExporter(true, async (base) => {
    const r = await fetch(`${base}/metrics`);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /stingray_test_scrapes 1/);
  });
});
