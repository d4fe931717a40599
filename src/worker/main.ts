/**
 * @module worker/main
 * Entry point of a worker process, started by its raylet with its identity and addresses in the
 * environment (the token too: never in argv, where `ps` would show it). It connects to the raylet
 * and the GCS, serves pushed tasks, and exits when its raylet goes away.
 */
import { connect, localSocketName } from "../protocol/connection.ts";
import { CoreWorker } from "./core_worker.ts";
import { setRuntime } from "./runtime.ts";
import { config } from "../common/config.ts";

function env(name: string): string {
  const v = process.env[name];
  if (!v) {
    process.stderr.write(`worker started without ${name}; workers are started by a raylet, not by hand\n`);
    process.exit(2);
  }
  return v;
}

function parseRange(v: string | undefined): [number, number] | undefined {
  const m = /^(\d+)-(\d+)$/.exec(v ?? "");
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

const token = env("STINGRAY_AUTH_TOKEN");
const workerId = env("STINGRAY_WORKER_ID");
const [gcsHost, gcsPort] = env("STINGRAY_GCS_ADDRESS").split(":") as [string, string];
delete process.env.STINGRAY_AUTH_TOKEN; // user code has no business reading it

const retryMs = config("connect_timeout_ms");
const [raylet, gcs] = await Promise.all([
  connect({ host: env("STINGRAY_RAYLET_HOST"), port: Number(env("STINGRAY_RAYLET_PORT")), token, role: "worker", id: workerId, retryMs,
    localName: localSocketName(token, env("STINGRAY_NODE_ID"), "raylet") }),
  connect({ host: gcsHost, port: Number(gcsPort), token, role: "worker", id: workerId, retryMs }),
]);
const cw = new CoreWorker({
  mode: "worker", workerId, jobId: "", namespace: "default", nodeId: env("STINGRAY_NODE_ID"),
  nodeIp: env("STINGRAY_NODE_IP"), sessionDir: env("STINGRAY_SESSION_DIR"), token, gcs, raylet,
  listenPort: Number(process.env.STINGRAY_WORKER_PORT ?? 0),
  portRange: parseRange(process.env.STINGRAY_WORKER_PORT_RANGE),
});
setRuntime(cw);
await cw.start();
raylet.once("close", () => process.exit(0));
gcs.once("close", () => process.exit(0));
await raylet.request("raylet.RegisterWorker", { workerId, pid: process.pid, port: cw.address.port });
