import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import { stingrayPids, waitFor } from "../helpers/procs.ts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(ROOT, "bin/stingray.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-life-"));
const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };

after(async () => {
  // Whatever happens, leave nothing running that this file started.
  await run(process.execPath, [CLI, "stop", "--force"]).catch(() => {});
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

test("a driver killed with SIGKILL takes its local cluster with it", async () => {
  const before = new Set(stingrayPids());
  const child = spawn(process.execPath, [path.join(ROOT, "test/fixtures/drivers/crash.ts")], {
    cwd: ROOT, env: { ...process.env, STINGRAY_TEMP_DIR: tmp }, stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
  await new Promise((r) => child.once("exit", r));
  const { workerPid } = JSON.parse(out.trim().split("\n").pop()!) as { workerPid: number };
  assert.ok(workerPid > 0);
  await waitFor(() => !alive(workerPid) && stingrayPids().every((p) => before.has(p)), 15_000, "the crashed driver's cluster to exit");
});

test("stingray start --head, a driver with address auto, status, and stop", async () => {
  const port = await freePort();
  const env = { ...process.env, STINGRAY_TEMP_DIR: tmp };
  const start = await run(process.execPath, [CLI, "start", "--head", `--port=${port}`, "--num-cpus=2", "--node-ip-address=127.0.0.1"], { env });
  assert.match(start.stdout, /Stingray runtime started/);
  assert.match(start.stdout, new RegExp(`stingray start --address='127\\.0\\.0\\.1:${port}'`));
  // The token file exists with mode 0600.
  const token = path.join(tmp, "session_latest", "auth_token");
  assert.equal(fs.statSync(token).mode & 0o777, 0o600);
  const tok = await run(process.execPath, [CLI, "get-auth-token"], { env });
  assert.equal(tok.stdout.trim(), fs.readFileSync(token, "utf8").trim());
  // A second head on the same port fails clearly.
  await assert.rejects(run(process.execPath, [CLI, "start", "--head", `--port=${port}`, "--node-ip-address=127.0.0.1"], { env }),
    (e: { stderr?: string }) => /already in use/.test(e.stderr ?? ""));
  const drv = await run(process.execPath, [path.join(ROOT, "test/fixtures/drivers/auto.ts")], { env, cwd: ROOT });
  assert.deepEqual(JSON.parse(drv.stdout.trim().split("\n").pop()!), { result: 42, nodes: 1 });
  // A detached actor outlives the driver that created it; a non-detached one dies with its job.
  const d1 = await run(process.execPath, [path.join(ROOT, "test/fixtures/drivers/detached_create.ts")], { env, cwd: ROOT });
  assert.deepEqual(JSON.parse(d1.stdout.trim().split("\n").pop()!), { first: 5, scoped: 1 });
  const d2 = await run(process.execPath, [path.join(ROOT, "test/fixtures/drivers/detached_use.ts")], { env, cwd: ROOT });
  assert.deepEqual(JSON.parse(d2.stdout.trim().split("\n").pop()!), { second: 6, scoped: "NameError" });
  // An infeasible demand shows up in status while its driver waits.
  const waiting = spawn(process.execPath, [path.join(ROOT, "test/fixtures/drivers/infeasible.ts")], { cwd: ROOT, env, stdio: ["ignore", "pipe", "ignore"] });
  try {
    await new Promise<void>((resolve) => waiting.stdout.on("data", (d: Buffer) => { if (d.toString().includes("submitted")) resolve(); }));
    let text = "";
    for (let i = 0; i < 40 && !/infeasible/.test(text); i++) {
      await new Promise((r) => setTimeout(r, 250));
      text = (await run(process.execPath, [CLI, "status"], { env })).stdout;
    }
    assert.match(text, /Demands:\n \{"CPU":1,"GPU":8\}: \d+\+ infeasible pending tasks\/actors/);
  } finally {
    waiting.kill("SIGKILL");
  }
  const st = await run(process.execPath, [CLI, "status"], { env });
  assert.match(st.stdout, /Node status/);
  assert.match(st.stdout, /Active:\n 1 node_\w+ \(127\.0\.0\.1, head\)/);
  assert.match(st.stdout, /\/2\.0 CPU/);
  const stop = await run(process.execPath, [CLI, "stop"], { env });
  assert.match(stop.stdout, /Stopped all \d+ Stingray processes/);
  assert.deepEqual(stingrayPids(), []);
});

test("bad flags and a missing token give clear errors", async () => {
  await assert.rejects(run(process.execPath, [CLI, "start", "--head", "--num-cpu=2"]), (e: { stderr?: string; code?: number }) =>
    /Unknown option '--num-cpu'/.test(e.stderr ?? "") && e.code === 2);
  const env = { ...process.env };
  delete env.STINGRAY_AUTH_TOKEN;
  await assert.rejects(run(process.execPath, [CLI, "start", "--address=127.0.0.1:1"], { env }),
    (e: { stderr?: string }) => /missing auth token/.test(e.stderr ?? ""));
  await assert.rejects(run(process.execPath, [CLI, "start", "--address=127.0.0.1:1"], { env: { ...env, STINGRAY_AUTH_TOKEN: "x" } }),
    (e: { stderr?: string }) => /cannot reach the cluster at 127\.0\.0\.1:1|cannot reach peer/.test(e.stderr ?? ""));
});

test("a JavaScript driver and JavaScript modules work without a build step", async () => {
  const before = new Set(stingrayPids());
  const { stdout } = await run(process.execPath, [path.join(ROOT, "test/fixtures/drivers/plain.mjs")],
    { cwd: ROOT, env: { ...process.env, STINGRAY_TEMP_DIR: tmp } });
  assert.deepEqual(JSON.parse(stdout.trim().split("\n").pop()!), { triple: 21, greet: "hello js" });
  await waitFor(() => stingrayPids().every((p) => before.has(p)), 10_000, "shutdown() to stop every process");
});

test("workers run code from the GCS, not from the driver's files", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-driver-"));
  const api = JSON.stringify(new URL("../../src/api/index.ts", import.meta.url).href);
  fs.writeFileSync(path.join(dir, "lib.ts"), "export function shout(s: string): string { return s.toUpperCase() + '!'; }\n");
  fs.writeFileSync(path.join(dir, "driver.ts"), `
    import fs from "node:fs";
    import path from "node:path";
    import * as ray from ${api};
    import { shout } from "./lib.ts";
    const remoteShout = ray.remote(shout);
    const info = await ray.init({ numCpus: 1 });
    const first = await ray.get(remoteShout.remote("a"));
    // Remove the driver's own files and the node's unpacked copy: a fresh worker must fetch the code from the GCS.
    fs.rmSync(${JSON.stringify(dir)}, { recursive: true, force: true });
    fs.rmSync(path.join(info.sessionDir, "runtime_resources", "code"), { recursive: true, force: true });
    const second = await ray.get(remoteShout.options({ maxCalls: 1 }).remote("b"));
    const third = await ray.get(remoteShout.options({ maxCalls: 1 }).remote("c"));
    console.log(JSON.stringify({ first, second, third }));
    await ray.shutdown();
  `);
  const { stdout } = await run(process.execPath, [path.join(dir, "driver.ts")], { env: { ...process.env, STINGRAY_TEMP_DIR: tmp } });
  assert.deepEqual(JSON.parse(stdout.trim().split("\n").pop()!), { first: "A!", second: "B!", third: "C!" });
  assert.equal(fs.existsSync(dir), false);
});

test("GPUs are detected from nvidia-smi by default; --num-gpus overrides", async () => {
  // A fake nvidia-smi reporting two GPUs stands in for real hardware here.
  const env: NodeJS.ProcessEnv = { ...process.env, STINGRAY_TEMP_DIR: path.join(tmp, "gpu"), PATH: `${path.join(ROOT, "test/fixtures/fake-nvidia")}:${process.env.PATH}` };
  delete env.STINGRAY_NUM_GPUS;
  const port = await freePort();
  await run(process.execPath, [CLI, "start", "--head", `--port=${port}`, "--num-cpus=1", "--node-ip-address=127.0.0.1"], { env });
  try {
    const st = await run(process.execPath, [CLI, "status"], { env });
    assert.match(st.stdout, /0\.0\/2\.0 GPU/);
  } finally {
    await run(process.execPath, [CLI, "stop"], { env });
  }
  const port2 = await freePort();
  await run(process.execPath, [CLI, "start", "--head", `--port=${port2}`, "--num-cpus=1", "--num-gpus=1", "--node-ip-address=127.0.0.1"], { env });
  try {
    assert.match((await run(process.execPath, [CLI, "status"], { env })).stdout, /0\.0\/1\.0 GPU/);
  } finally {
    await run(process.execPath, [CLI, "stop"], { env });
  }
});
