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
