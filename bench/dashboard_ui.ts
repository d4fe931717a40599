/**
 * The web UI at scale: a dashboard server over an in-memory cluster of 1,000 actors and 100,000
 * tasks (dashboard/fake_source.ts; this machine cannot run 1,000 actor processes), driven by
 * headless Chromium. For each page: time from navigation to its first data rows, and the main
 * thread's long tasks (≥ 50 ms, from PerformanceObserver) while it loads, polls for 6 s, scrolls
 * and filters. A page "freezes" when a long task is long; the report gives the longest and the
 * total blocking time (the part of each long task beyond 50 ms).
 *
 *   node bench/dashboard_ui.ts [--actors 1000] [--tasks 100000]    → bench/results/dashboard_ui.json
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium, type Page } from "playwright-core";
import { DashboardServer } from "../src/dashboard/server.ts";
import { registerStateRoutes } from "../src/dashboard/state.ts";
import { JobManager, registerJobRoutes } from "../src/dashboard/jobs.ts";
import { MetricsHistoryStore } from "../src/dashboard/metrics_history.ts";
import { FakeClusterSource } from "../src/dashboard/fake_source.ts";
import { staticFiles, WEB_UI_DIR } from "../src/dashboard/static.ts";

const { values } = parseArgs({ options: { actors: { type: "string", default: "1000" }, tasks: { type: "string", default: "100000" } } });
const nActors = Number(values.actors), nTasks = Number(values.tasks);
const TOKEN = "bench-token";
const ROOT = path.resolve(import.meta.dirname, "..");

const source = FakeClusterSource.synthetic({ nodes: 8, actors: nActors, tasks: nTasks });
const server = new DashboardServer({ host: "127.0.0.1", port: 0, token: TOKEN, sessionName: "bench", version: "bench", staticFiles: staticFiles(WEB_UI_DIR) });
const jobs = new JobManager(source, () => Promise.reject(new Error("no driver in the UI bench")));
registerJobRoutes(server, jobs, source);
registerStateRoutes(server, { source, sessionName: "bench", version: "bench", submissions: () => jobs.list() });
const history = new MetricsHistoryStore(source);
for (let i = 0; i < 60; i++) await history.sample();
server.route("GET", "/api/metrics/history", async () => ({ status: 200, json: await history.history() }));
await server.start();
const base = `http://127.0.0.1:${server.port}`;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
// Runs in the page: collect the main thread's long tasks.
await page.addInitScript(`
  window.__long = [];
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); }).observe({ type: "longtask", buffered: true });
`);

async function longTasks(p: Page): Promise<number[]> {
  return p.evaluate("(() => { const x = window.__long; window.__long = []; return x; })()") as Promise<number[]>;
}

await page.goto(`${base}/`);
await page.getByTestId("login-token").fill(TOKEN);
await page.getByTestId("login-submit").click();
await page.getByTestId("overview-page").waitFor();

interface PageResult { page: string; first_rows_ms: number; long_tasks: number; longest_ms: number; blocking_ms: number }
const results: PageResult[] = [];
const pages: { id: string; ready: string; interact?: (p: Page) => Promise<void> }[] = [
  { id: "overview", ready: "node-row" },
  { id: "nodes", ready: "node-row" },
  { id: "actors", ready: "actor-row", interact: async (p) => {
    await p.getByTestId("actors-table-filter").fill("Counter");
    await p.mouse.wheel(0, 4000);
  } },
  { id: "tasks", ready: "task-row", interact: async (p) => {
    for (let i = 0; i < 10; i++) await p.mouse.wheel(0, 3000);
    await p.getByTestId("tasks-table-filter").fill("bad batch");
  } },
  { id: "jobs", ready: "jobs-page" },
  { id: "metrics", ready: "chart-cpu" },
];
for (const pg of pages) {
  await longTasks(page);
  const t0 = Date.now();
  await page.goto(`${base}/#/${pg.id}`);
  await page.getByTestId(pg.ready).first().waitFor({ timeout: 60_000 });
  const first = Date.now() - t0;
  await pg.interact?.(page);
  await page.waitForTimeout(6000); // live polling continues
  const lt = await longTasks(page);
  results.push({ page: pg.id, first_rows_ms: first, long_tasks: lt.length, longest_ms: Math.round(Math.max(0, ...lt)),
    blocking_ms: Math.round(lt.reduce((a, d) => a + Math.max(0, d - 50), 0)) });
}
await browser.close();
await server.stop();

const out = { date: new Date().toISOString(), actors: nActors, tasks: nTasks, results };
fs.mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
fs.writeFileSync(path.join(ROOT, "bench/results/dashboard_ui.json"), JSON.stringify(out, null, 2));
console.log(`web UI with ${nActors} actors and ${nTasks} tasks (headless Chromium, this machine)\n`);
console.log("| page | first rows (ms) | long tasks | longest (ms) | blocking (ms) |\n|---|---|---|---|---|");
for (const r of results) console.log(`| ${r.page} | ${r.first_rows_ms} | ${r.long_tasks} | ${r.longest_ms} | ${r.blocking_ms} |`);
