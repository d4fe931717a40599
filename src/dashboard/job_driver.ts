/**
 * @module dashboard/job_driver
 * The dashboard's own driver and what the job manager does through it: start the core worker
 * (in an internal namespace), create and address JobSupervisor actors, await and kill them.
 * Loaded on the first job request, so the dashboard starts without the worker runtime.
 */
import { connect } from "../protocol/connection.ts";
import { CoreWorker } from "../worker/core_worker.ts";
import { setRuntime } from "../worker/runtime.ts";
import { builtinClass } from "../worker/function_manager.ts";
import { ActorHandleBase, makeActorHandle } from "../worker/handles.ts";
import { get, kill } from "../api/index.ts";
import type { ActorHandle } from "../api/remote.ts";
import type { Connection } from "../protocol/connection.ts";
import type { FunctionDescriptorWire, NodeInfo } from "../protocol/messages.ts";
import type { JobSupervisor, SupervisorArgs } from "./job_supervisor.ts";
import { randomId } from "../common/ids.ts";

export { get, kill };

/** Start the dashboard's driver on the head node (whose raylet must have registered). */
export async function startDriver(o: { gcs: Connection; head: NodeInfo; token: string; namespace: string; nodeIp: string; sessionDir: string }): Promise<CoreWorker> {
  const workerId = randomId(12);
  const raylet = await connect({ host: o.head.ip, port: o.head.port, token: o.token, role: "driver", id: workerId, retryMs: 5000 });
  const { jobId } = await o.gcs.request("gcs.RegisterJob", { namespace: o.namespace, driverPid: process.pid, driverIp: o.nodeIp, entrypoint: "dashboard" });
  const cw = new CoreWorker({
    mode: "driver", workerId, jobId, namespace: o.namespace, nodeId: o.head.nodeId, nodeIp: o.nodeIp, sessionDir: o.sessionDir,
    token: o.token, gcs: o.gcs, raylet, logToDriver: false,
  });
  await cw.start();
  setRuntime(cw);
  return cw;
}

function handleOf(actorId: string): ActorHandle<JobSupervisor> {
  const d = builtinClass("JobSupervisor");
  return makeActorHandle(new ActorHandleBase(actorId, "JobSupervisor", d.descriptor as FunctionDescriptorWire, 0)) as ActorHandle<JobSupervisor>;
}

/** Create a job's supervisor actor (detached, named, with the entrypoint's resources). */
export function createSupervisor(cw: CoreWorker, args: SupervisorArgs, o: {
  name: string; namespace: string; resources: Record<string, number>;
  strategy: { type: "NODE_AFFINITY"; nodeId: string; soft: boolean } | undefined;
}): ActorHandle<JobSupervisor> {
  const actorId = cw.createActor(builtinClass("JobSupervisor"), [args], {
    className: "JobSupervisor", resources: o.resources, name: o.name, namespace: o.namespace, detached: true,
    maxRestarts: 0, maxTaskRetries: 0, maxConcurrency: 64, envVars: undefined, strategy: o.strategy,
  });
  return handleOf(actorId);
}

/** A supervisor this process did not start (the dashboard restarted): found by its name. */
export async function findSupervisor(cw: CoreWorker, name: string, namespace: string): Promise<ActorHandle<JobSupervisor> | undefined> {
  const info = await cw.getActorInfo(name, namespace);
  if (!info || info.state === "DEAD") return undefined;
  return handleOf(info.actorId);
}
