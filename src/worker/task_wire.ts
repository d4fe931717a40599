/**
 * @module worker/task_wire
 * How task specs travel in `worker.PushTask`. Most fields of a spec are the same for every call
 * of one remote function (function, name, resources, owner, options); only the task id, the
 * arguments and the attempt differ. So a submitter gives each such shared part (a template) a
 * number the first time it pushes a call of it on a connection, sends the template once, and
 * from then on sends only `{t, taskId, args, attempt}`. That makes a no-op task's message a
 * fraction of the size and several times cheaper to encode, decode and validate.
 *
 * Templates are per connection (messages on one connection arrive in order, and both ends drop
 * the state when it closes), and bounded: past MAX_TEMPLATES a sender sends whole specs, and a
 * receiver refuses more definitions.
 *
 * Replies carry a task's returns by position, without their object ids (`TaskReturn`): return i
 * of task T is always `${T}r${i}`, and the caller puts back the id strings it already holds.
 */
import type { Connection } from "../protocol/connection.ts";
import type { Req, ReturnValue, TaskReturn, TaskSpec } from "../protocol/messages.ts";
import { ProtocolError } from "../common/errors.ts";
import { returnObjectId } from "../common/ids.ts";

const MAX_TEMPLATES = 10_000;
const sent = new WeakMap<Connection, Map<TaskSpec, number>>();
const received = new WeakMap<Connection, Map<number, TaskSpec>>();

/**
 * The PushTask payload for `spec`. `template` is a spec object shared by calls of the same
 * function and options whose fields equal `spec`'s except taskId, args, attempt and gpuIds.
 */
export function encodePush(conn: Connection, spec: TaskSpec, template: TaskSpec | undefined,
  gpuIds: number[] | undefined): Req<"worker.PushTask"> {
  let ids = template && sent.get(conn);
  if (template && !ids) sent.set(conn, (ids = new Map()));
  if (!template || !ids) return { spec: gpuIds ? { ...spec, gpuIds } : spec };
  let t = ids.get(template);
  let tmpl: Req<"worker.PushTask">["tmpl"];
  if (t === undefined) {
    if (ids.size >= MAX_TEMPLATES) return { spec: gpuIds ? { ...spec, gpuIds } : spec };
    t = ids.size + 1;
    ids.set(template, t);
    tmpl = { id: t, spec: template };
  }
  return { tmpl, call: { t, taskId: spec.taskId, args: spec.args, attempt: spec.attempt, gpuIds } };
}

/** The spec a PushTask payload describes; throws ProtocolError for an undefined template. */
export function decodePush(conn: Connection, req: Req<"worker.PushTask">): TaskSpec {
  if (req.spec) return req.spec;
  let templates = received.get(conn);
  if (!templates) received.set(conn, (templates = new Map()));
  if (req.tmpl) {
    if (templates.size >= MAX_TEMPLATES && !templates.has(req.tmpl.id)) {
      throw new ProtocolError(`worker.PushTask defines more than ${MAX_TEMPLATES} task templates on one connection`);
    }
    templates.set(req.tmpl.id, req.tmpl.spec);
  }
  const c = req.call;
  if (!c) throw new ProtocolError("worker.PushTask needs either spec or call");
  const base = templates.get(c.t);
  if (!base) throw new ProtocolError(`worker.PushTask calls task template ${c.t}, which this connection never defined`);
  return { ...base, taskId: c.taskId, args: c.args, attempt: c.attempt, gpuIds: c.gpuIds };
}

/** A task's returns as a PushTask reply carries them: in order, without ids. */
export function replyReturns(returns: ReturnValue[]): TaskReturn[] {
  const out = new Array<TaskReturn>(returns.length);
  for (let i = 0; i < returns.length; i++) {
    const r = returns[i]!;
    // The common shapes get one layout each (one record definition per connection).
    out[i] = r.err ? { err: r.err }
      : r.v !== undefined && r.node === undefined && r.size === undefined ? { v: r.v }
      : r.node !== undefined && r.v === undefined ? { node: r.node, size: r.size }
      : { v: r.v, node: r.node, size: r.size };
  }
  return out;
}

/**
 * The returns of a PushTask reply as ReturnValues, given the caller's ids of the task's returns
 * (`ids[i]` is return i, or `ids` itself for a single return; a return past them, such as the error of a task declared with no
 * returns, gets its id made from the task id).
 */
export function withIds(returns: TaskReturn[], ids: string | readonly string[], taskId: string): ReturnValue[] {
  const out = returns as ReturnValue[];
  for (let i = 0; i < out.length; i++) {
    out[i]!.id = (typeof ids === "string" ? (i === 0 ? ids : undefined) : ids[i]) ?? returnObjectId(taskId, i);
  }
  return out;
}
