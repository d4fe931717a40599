/**
 * @module client/proxy_main
 * Entry point of a remote client's proxy driver, started by the client server on the head for
 * each client: a driver on the head node that serves `client.*` requests.
 */
import { connect } from "../protocol/connection.ts";
import { CoreWorker } from "../worker/core_worker.ts";
import { setRuntime } from "../worker/runtime.ts";
import { daemonOptions, daemonToken, onShutdown, signalReady } from "../node/daemon.ts";
import { proxyHandlers } from "./proxy.ts";
import { randomId } from "../common/ids.ts";

interface Options {
  gcsHost: string; gcsPort: number; rayletHost: string; rayletPort: number; nodeId: string; nodeIp: string;
  sessionDir: string; namespace: string; workerPorts?: [number, number]; watchParent: boolean; clientIp: string;
}

const o = daemonOptions<Options>();
const token = daemonToken(o.sessionDir);
const workerId = randomId(12);
const gcs = await connect({ host: o.gcsHost, port: o.gcsPort, token, role: "driver", id: workerId, retryMs: 5000 });
const raylet = await connect({ host: o.rayletHost, port: o.rayletPort, token, role: "driver", id: workerId, retryMs: 5000 });
const { jobId } = await gcs.request("gcs.RegisterJob", {
  namespace: o.namespace, driverPid: process.pid, driverIp: o.clientIp, entrypoint: `remote client from ${o.clientIp}`,
});
const cw: CoreWorker = new CoreWorker({
  mode: "driver", workerId, jobId, namespace: o.namespace, nodeId: o.nodeId, nodeIp: o.nodeIp, sessionDir: o.sessionDir,
  token, gcs, raylet, portRange: o.workerPorts, extraHandlers: proxyHandlers(() => cw),
});
setRuntime(cw);
await cw.start();
gcs.once("close", () => process.exit(1));
onShutdown(async () => {
  await cw.shutdown();
  await gcs.request("gcs.FinishJob", { jobId }).catch(() => {});
}, o.watchParent);
signalReady({ port: cw.address.port, jobId, workerId });
