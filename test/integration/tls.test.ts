import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import tls from "node:tls";
import os from "node:os";
import path from "node:path";
import * as ray from "stingray";
import { runtime } from "../../src/worker/runtime.ts";
import type { CoreWorker } from "../../src/worker/core_worker.ts";
const coreWorker = (): CoreWorker => runtime() as CoreWorker;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-tls-"));
const square = ray.remote((x: number) => x * x);

before(async () => {
  const ssl = (...args: string[]): void => { execFileSync("openssl", args, { cwd: dir, stdio: "ignore" }); };
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=stingray-test-ca");
  ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=stingray-node");
  ssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "node.pem", "-days", "1");
  // Every process of the cluster (daemons, workers) inherits these.
  process.env.STINGRAY_TLS_CERT = path.join(dir, "node.pem");
  process.env.STINGRAY_TLS_KEY = path.join(dir, "node.key");
  process.env.STINGRAY_TLS_CA = path.join(dir, "ca.pem");
  await ray.init({ numCpus: 1 });
});
after(async () => {
  await ray.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("with TLS configured, tasks run and the ports speak only TLS", async () => {
  assert.deepEqual(await ray.get([square.remote(3), square.remote(4)]), [9, 16]);
  assert.ok(coreWorker().opts.raylet.socket instanceof tls.TLSSocket, "the driver's raylet link is TLS");
  assert.ok(coreWorker().opts.gcs.socket instanceof tls.TLSSocket, "the driver's GCS link is TLS");
  // A plaintext hello to the raylet port gets no protocol answer (the server expects a TLS ClientHello).
  const port = coreWorker().opts.raylet.socket.remotePort!;
  const reply = await new Promise<string>((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(Buffer.from([5, 0, 0, 0, 0x94, 4, 0, 0, 0])));
    let got = Buffer.alloc(0);
    s.on("data", (d) => { got = Buffer.concat([got, d]); });
    s.on("close", () => resolve(got.toString("latin1")));
    s.on("error", () => resolve(got.toString("latin1")));
    setTimeout(() => s.destroy(), 2000);
  });
  assert.doesNotMatch(reply, /welcome|reject/);
});

test("stingray start --tls-cert/--tls-key/--tls-ca serves TLS only", async () => {
  const { execFile } = await import("node:child_process");
  const { promisify } = await import("node:util");
  const run = promisify(execFile);
  const cli = path.resolve(import.meta.dirname, "../../bin/stingray.js");
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
  const base: NodeJS.ProcessEnv = { ...process.env, STINGRAY_TEMP_DIR: path.join(dir, "cli") };
  delete base.STINGRAY_TLS_CERT; delete base.STINGRAY_TLS_KEY; delete base.STINGRAY_TLS_CA;
  // This file's own local cluster (init() above) already holds the dashboard's default port.
  await run(process.execPath, [cli, "start", "--head", `--port=${port}`, "--num-cpus=1", "--node-ip-address=127.0.0.1", "--include-dashboard=false",
    `--tls-cert=${path.join(dir, "node.pem")}`, `--tls-key=${path.join(dir, "node.key")}`, `--tls-ca=${path.join(dir, "ca.pem")}`], { env: base });
  try {
    const tlsEnv = { ...base, STINGRAY_TLS_CERT: path.join(dir, "node.pem"), STINGRAY_TLS_KEY: path.join(dir, "node.key"), STINGRAY_TLS_CA: path.join(dir, "ca.pem") };
    assert.match((await run(process.execPath, [cli, "status"], { env: tlsEnv })).stdout, /1 node_\w+ \(127\.0\.0\.1, head\)/);
    await assert.rejects(run(process.execPath, [cli, "status"], { env: base, timeout: 20_000 }), "a plaintext client cannot talk to a TLS cluster");
  } finally {
    await run(process.execPath, [cli, "stop"], { env: base });
  }
  await assert.rejects(run(process.execPath, [cli, "start", "--head", "--tls-cert=/nonexistent.pem", "--tls-key=x", "--tls-ca=y"], { env: base }),
    (e: { stderr?: string }) => /--tls-cert file \/nonexistent\.pem does not exist/.test(e.stderr ?? ""));
});
