/**
 * The web UI in headless Chromium against a real two-host cluster: log in (a wrong token is
 * refused), see both nodes, submit a job from the CLI and watch it finish with its output in the
 * UI, stop a running job from the UI, and look at tasks and charts. Screenshots of each step go to
 * test-results/dashboard/ (kept after the run; CI keeps them as artifacts).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { chromium, type Browser, type Page } from "playwright-core";
import { TestHosts, type Host } from "../helpers/hosts.ts";
import { waitFor } from "../helpers/procs.ts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(ROOT, "bin/stingray.js");
const CHROMIUM = "/usr/bin/chromium";
const SHOTS = path.join(ROOT, "test-results", "dashboard");
const node = process.execPath;
const skip = TestHosts.supported() || (fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`)
  || (fs.existsSync(path.join(ROOT, "build/web_ui/index.html")) ? false : "the web UI is not built (npm run build:ui)");
let hosts: TestHosts | undefined;
let browser: Browser | undefined;
let page: Page;
let token = "";
let base = "";
let workDir = "";

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function cli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(node, [CLI, ...args], { cwd: ROOT, env: { ...process.env, STINGRAY_AUTH_TOKEN: token }, timeout: 120_000 });
}

before(async () => {
  if (skip) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  hosts = await TestHosts.create(2);
  const [h0, h1] = hosts.hosts as [Host, Host];
  await hosts.exec(h0, [node, CLI, "start", "--head", `--node-ip-address=${h0.ip}`, "--num-cpus=2", "--dashboard-host=0.0.0.0"]);
  token = (await hosts.exec(h0, [node, CLI, "get-auth-token"])).stdout.trim();
  await hosts.exec(h1, [node, CLI, "start", `--address=${h0.ip}:6379`, `--node-ip-address=${h1.ip}`, "--num-cpus=2"],
    { env: { ...process.env, STINGRAY_AUTH_TOKEN: token } });
  base = `http://${h0.ip}:8265`;
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-ui-job-"));
  fs.writeFileSync(path.join(workDir, "main.ts"), [
    'import * as ray from "stingray";',
    "const work = ray.remote(function work(i: number): number { return i * 2; });",
    "await ray.init();",
    "for (let step = 1; step <= 5; step++) {",
    "  console.log(`step ${step}: ${await ray.get(work.remote(step))}`);",
    "  await new Promise((r) => setTimeout(r, 300));",
    "}",
    'console.log("all done");',
    "await ray.shutdown();",
  ].join("\n"));
  fs.writeFileSync(path.join(workDir, "forever.ts"), 'console.log("working forever"); setInterval(() => console.log("tick"), 500);\n');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
});
after(async () => {
  await browser?.close();
  await hosts?.destroy();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

test("log in: a wrong token is refused, the right one opens the overview", { skip, timeout: 60_000 }, async () => {
  await page.goto(`${base}/`);
  await page.getByTestId("login-form").waitFor();
  await shot("01-login");
  await page.getByTestId("login-token").fill("not-the-token");
  await page.getByTestId("login-submit").click();
  await page.getByTestId("login-error").waitFor();
  assert.match(await page.getByTestId("login-error").innerText(), /token/i);
  await page.getByTestId("login-token").fill(token);
  await page.getByTestId("login-submit").click();
  await page.getByTestId("overview-page").waitFor();
  await page.getByTestId("stat-nodes").filter({ hasText: "2" }).waitFor({ timeout: 20_000 });
  await shot("02-overview");
});

test("the nodes page lists both hosts with their usage", { skip, timeout: 60_000 }, async () => {
  const [h0, h1] = hosts!.hosts as [Host, Host];
  await page.getByTestId("nav-nodes").click();
  await page.getByTestId("nodes-page").waitFor();
  await waitFor(async () => (await page.getByTestId("node-row").count()) === 2, 20_000, "two node rows");
  const rows = await page.getByTestId("node-row").allInnerTexts();
  assert.ok(rows.some((r) => r.includes(h0.ip)), rows.join("\n"));
  assert.ok(rows.some((r) => r.includes(h1.ip)), rows.join("\n"));
  await shot("03-nodes");
});

test("a job submitted from the CLI finishes in the UI with its output", { skip, timeout: 120_000 }, async () => {
  const sub = await cli(["job", "submit", "--address", base, "--working-dir", workDir, "--submission-id", "ui-job", "--no-wait", "--", "node", "main.ts"]);
  assert.match(sub.stdout, /ui-job/);
  await page.getByTestId("nav-jobs").click();
  await page.getByTestId("jobs-page").waitFor();
  const row = page.getByTestId("job-row").filter({ hasText: "ui-job" });
  await row.waitFor({ timeout: 20_000 });
  await row.click();
  await page.getByTestId("job-detail-page").waitFor();
  // Live: the log grows and the status changes without a reload.
  await page.getByTestId("job-log").filter({ hasText: "all done" }).waitFor({ timeout: 60_000 });
  await page.locator('[data-testid="job-status"][data-state="SUCCEEDED"]').first().waitFor({ timeout: 30_000 });
  const log = await page.getByTestId("job-log").innerText();
  for (let step = 1; step <= 5; step++) assert.match(log, new RegExp(`step ${step}: ${step * 2}`));
  await shot("04-job-succeeded");
});

test("a running job is stopped from the UI", { skip, timeout: 120_000 }, async () => {
  await cli(["job", "submit", "--address", base, "--working-dir", workDir, "--submission-id", "ui-forever", "--no-wait", "--", "node", "forever.ts"]);
  await page.goto(`${base}/#/jobs/ui-forever`);
  await page.getByTestId("job-detail-page").waitFor();
  await page.getByTestId("job-log").filter({ hasText: "tick" }).waitFor({ timeout: 60_000 });
  await page.locator('[data-testid="job-status"][data-state="RUNNING"]').first().waitFor({ timeout: 30_000 });
  await shot("05-job-running");
  await page.getByTestId("job-stop").click();
  await page.locator('[data-testid="job-status"][data-state="STOPPED"]').first().waitFor({ timeout: 30_000 });
  const status = await cli(["job", "status", "--address", base, "ui-forever"]);
  assert.match(status.stdout, /was stopped/);
  await shot("06-job-stopped");
});

test("tasks, actors, logs and metrics pages show the cluster's work", { skip, timeout: 120_000 }, async () => {
  await page.getByTestId("nav-tasks").click();
  await page.getByTestId("tasks-page").waitFor();
  await page.getByTestId("task-summary-row").filter({ hasText: "work" }).first().waitFor({ timeout: 30_000 });
  await shot("07-tasks");
  await page.getByTestId("nav-actors").click();
  await page.getByTestId("actors-page").waitFor();
  await page.getByTestId("actor-row").filter({ hasText: "JobSupervisor" }).first().waitFor({ timeout: 30_000 });
  await shot("08-actors");
  await page.getByTestId("nav-logs").click();
  await page.getByTestId("logs-page").waitFor();
  await page.getByTestId("log-file").first().waitFor({ timeout: 30_000 });
  await shot("09-logs");
  await page.getByTestId("nav-metrics").click();
  await page.getByTestId("metrics-page").waitFor();
  await page.getByTestId("chart-cpu").waitFor({ timeout: 30_000 });
  await shot("10-metrics");
  await page.getByTestId("logout-button").click();
  await page.getByTestId("login-form").waitFor();
});
