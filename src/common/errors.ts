/**
 * @module common/errors
 * The typed error hierarchy of Stingray. Every error that can reach a user is a subclass of
 * `StingrayError`, carries a stable `code`, and survives the wire: `toWire` turns it into a plain
 * record and `fromWire` rebuilds an instance of the same class, so `instanceof` works on the
 * receiving side. Messages say what happened and what to do next.
 */

export interface WireError {
  code: string;
  message: string;
  /** For TaskError: the remote error's class name, message and stack. */
  data?: Record<string, unknown>;
  stack?: string;
}

export class StingrayError extends Error {
  readonly code: string = "STINGRAY_ERROR";
  data: Record<string, unknown> = {};
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The remote user code threw. `get` rethrows this carrying the remote class, message and stack. */
export class TaskError extends StingrayError {
  override readonly code = "TASK_ERROR";
  readonly remoteClass: string;
  readonly remoteMessage: string;
  readonly remoteStack: string;
  readonly functionName: string;
  readonly pid: number;
  readonly nodeIp: string;
  readonly remoteCode: string | undefined;
  constructor(message: string, remoteClass: string, remoteMessage: string, remoteStack: string,
    functionName: string, pid: number, nodeIp: string, remoteCode?: string) {
    super(message);
    this.remoteClass = remoteClass;
    this.remoteMessage = remoteMessage;
    this.remoteStack = remoteStack;
    this.functionName = functionName;
    this.pid = pid;
    this.nodeIp = nodeIp;
    this.remoteCode = remoteCode;
    this.data = { remoteClass, remoteMessage, remoteStack, functionName, pid, nodeIp, remoteCode };
  }
  static fromThrown(err: unknown, functionName: string, pid: number, nodeIp: string): TaskError {
    if (err instanceof TaskError) return err; // re-raised from a nested get: keep the original
    const e = err instanceof Error ? err : new Error(String(err));
    const cls = e.constructor?.name ?? "Error";
    const msg =
      `${functionName} failed on ${nodeIp} (pid=${pid}): ${cls}: ${e.message}\n` +
      `Remote stack:\n${e.stack ?? "(no stack)"}`;
    return new TaskError(msg, cls, e.message, e.stack ?? "", functionName, pid, nodeIp,
      typeof (e as unknown as { code?: unknown }).code === "string" ? (e as unknown as { code: string }).code : undefined);
  }
}

/** The worker process running a task died (killed, crashed, out of memory) and retries ran out. */
export class WorkerCrashedError extends StingrayError {
  override readonly code = "WORKER_CRASHED";
}
/** The actor is dead (killed, crashed past maxRestarts, or its owner died). */
export class ActorDiedError extends StingrayError {
  override readonly code = "ACTOR_DIED";
}
/** The actor is restarting and the call was not allowed to retry. */
export class ActorUnavailableError extends StingrayError {
  override readonly code = "ACTOR_UNAVAILABLE";
}
/** `get` did not finish within its timeout. */
export class GetTimeoutError extends StingrayError {
  override readonly code = "GET_TIMEOUT";
}
/** The task was cancelled with `cancel()`. */
export class TaskCancelledError extends StingrayError {
  override readonly code = "TASK_CANCELLED";
}
/** The object cannot be found or reconstructed any more. */
export class ObjectLostError extends StingrayError {
  override readonly code = "OBJECT_LOST";
}
/** The owner of an object (the process that created it) died, so the object is gone. */
export class OwnerDiedError extends StingrayError {
  override readonly code = "OWNER_DIED";
}
/** A node died while running work or holding objects. */
export class NodeDiedError extends StingrayError {
  override readonly code = "NODE_DIED";
}
/** The object store is full and nothing can be spilled. */
export class ObjectStoreFullError extends StingrayError {
  override readonly code = "OBJECT_STORE_FULL";
}
/** No node in the cluster can ever satisfy a resource request. */
export class InfeasibleError extends StingrayError {
  override readonly code = "INFEASIBLE";
}
/** A function or class cannot be shipped to workers (captured locals, unsupported syntax). */
export class CodeShippingError extends StingrayError {
  override readonly code = "CODE_SHIPPING";
}
/** A value cannot be serialized (functions, symbols, native handles). */
export class SerializationError extends StingrayError {
  override readonly code = "SERIALIZATION";
}
/** Authentication failed: missing or wrong cluster token. */
export class AuthError extends StingrayError {
  override readonly code = "AUTH";
}
/** Peer speaks another protocol version. */
export class VersionMismatchError extends StingrayError {
  override readonly code = "VERSION_MISMATCH";
}
/** A frame or message violated the protocol (bad length, bad schema, too large). */
export class ProtocolError extends StingrayError {
  override readonly code = "PROTOCOL";
}
/** The connection to a peer was lost or could not be made. */
export class ConnectionError extends StingrayError {
  override readonly code = "CONNECTION";
}
/** A named actor already exists, or a name lookup failed. */
export class NameError extends StingrayError {
  override readonly code = "NAME";
}
/** Invalid options or arguments from the user. */
export class ValueError extends StingrayError {
  override readonly code = "VALUE";
}
/** The runtime is not initialised or is in the wrong state for this call. */
export class RuntimeStateError extends StingrayError {
  override readonly code = "RUNTIME_STATE";
}

/** An invalid cluster config (YAML): the message names the file, line and key path, and the fix. */
export class ConfigError extends StingrayError {
  override readonly code = "CONFIG";
}
/** A node provider (cloud API, SSH host pool, external module) refused or failed an operation. */
export class ProviderError extends StingrayError {
  override readonly code = "PROVIDER";
}
/** A command run on a cluster node (over SSH, in a container) failed; the message names node and command. */
export class CommandFailedError extends StingrayError {
  override readonly code = "COMMAND_FAILED";
}

type ErrorCtor = new (message: string) => StingrayError;
const BY_CODE: Record<string, ErrorCtor> = {
  WORKER_CRASHED: WorkerCrashedError,
  ACTOR_DIED: ActorDiedError,
  ACTOR_UNAVAILABLE: ActorUnavailableError,
  GET_TIMEOUT: GetTimeoutError,
  TASK_CANCELLED: TaskCancelledError,
  OBJECT_LOST: ObjectLostError,
  OWNER_DIED: OwnerDiedError,
  NODE_DIED: NodeDiedError,
  OBJECT_STORE_FULL: ObjectStoreFullError,
  INFEASIBLE: InfeasibleError,
  CODE_SHIPPING: CodeShippingError,
  SERIALIZATION: SerializationError,
  AUTH: AuthError,
  VERSION_MISMATCH: VersionMismatchError,
  PROTOCOL: ProtocolError,
  CONNECTION: ConnectionError,
  NAME: NameError,
  VALUE: ValueError,
  RUNTIME_STATE: RuntimeStateError,
  CONFIG: ConfigError,
  PROVIDER: ProviderError,
  COMMAND_FAILED: CommandFailedError,
};

export function toWire(err: unknown): WireError {
  if (err instanceof StingrayError) {
    return { code: err.code, message: err.message, data: err.data, stack: err.stack };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { code: "INTERNAL", message: `${e.name}: ${e.message}`, stack: e.stack };
}

export function fromWire(w: WireError): StingrayError {
  if (w.code === "TASK_ERROR" && w.data) {
    const d = w.data;
    return new TaskError(w.message, String(d.remoteClass), String(d.remoteMessage),
      String(d.remoteStack), String(d.functionName), Number(d.pid), String(d.nodeIp),
      typeof d.remoteCode === "string" ? d.remoteCode : undefined);
  }
  const Ctor = BY_CODE[w.code] ?? StingrayError;
  const e = new Ctor(w.message);
  if (w.data) e.data = w.data;
  return e;
}
