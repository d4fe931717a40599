/**
 * @module client/proxy
 * The proxy driver of one remote client (Ray Client's "specific server"): a real driver on the
 * head node that owns every object and actor the client creates, and serves the client's
 * `client.*` requests with its core worker. Objects handed to the client are pinned here until
 * the client releases them (its ObjectRefs were garbage-collected) or disconnects.
 */
import { Packr } from "msgpackr";
import type { Handlers } from "../protocol/connection.ts";
import type { FunctionDescriptorWire } from "../protocol/messages.ts";
import type { CoreWorker } from "../worker/core_worker.ts";
import type { ActorOptions, TaskOptions } from "../worker/runtime.ts";
import type { CodePackage, FunctionDescriptor } from "../worker/code/index.ts";
import { ObjectRef } from "../worker/object_ref.ts";
import { decodeInline, decodeStore } from "../worker/serialization.ts";
import { uniqueId } from "../common/ids.ts";
import { ObjectLostError, ValueError } from "../common/errors.ts";
import { CHUNK, INLINE_LIMIT, LaidOut, ownBuffer } from "./transfer.ts";

const codec = new Packr({ useRecords: false });

export function proxyHandlers(getCw: () => CoreWorker): Handlers {
  const pinned = new Map<string, ObjectRef>();
  const outgoing = new Map<string, LaidOut>();
  const incoming = new Map<string, Uint8Array>();
  const pin = (refs: ObjectRef[]): void => { for (const r of refs) pinned.set(r.id, r); };
  const ref = (id: string): ObjectRef => {
    let r = pinned.get(id);
    if (!r) {
      // A ref the client found inside a value it got: still owned here, so hold it from now on.
      const cw = getCw();
      if (!cw.memory.knows(id)) throw new ObjectLostError(`object ${id} is not held for this client any more`);
      r = cw.ownedRef(id);
      pinned.set(id, r);
    }
    return r;
  };
  const args = (b: Uint8Array): unknown[] => {
    const a = decodeInline(b);
    if (!Array.isArray(a)) throw new ValueError("arguments must be an array");
    return a;
  };
  const described = (fn: FunctionDescriptorWire) => ({ descriptor: fn as FunctionDescriptor, uploaded: undefined });
  const put = async (value: unknown): Promise<{ id: string }> => {
    const r = await getCw().put(value);
    pin([r]);
    return { id: r.id };
  };
  return {
    "client.UploadCode": async ({ hash, pkg }) => {
      const p = codec.unpack(pkg) as CodePackage;
      if (p.hash !== hash) throw new ValueError("code package hash mismatch");
      await getCw().opts.gcs.request("gcs.KvPut", { ns: "code", key: hash, value: pkg, overwrite: false });
      return {};
    },
    "client.SubmitTask": ({ taskId, fn, args: a, options }) => {
      pin(getCw().submitTask(described(fn), args(a), { ...(options as unknown as TaskOptions), taskId }).refs);
      return {};
    },
    "client.CreateActor": ({ actorId, fn, args: a, options }) => {
      getCw().createActor(described(fn), args(a), { ...(options as unknown as ActorOptions), actorId });
      return {};
    },
    "client.SubmitActorTask": ({ taskId, actorId, fn, method, args: a, numReturns, name }) => {
      const cw = getCw();
      cw.trackActor(actorId, 0);
      pin(cw.submitActorTask(actorId, fn, method, args(a), { numReturns, name, taskId }).refs);
      return {};
    },
    "client.Get": async ({ ids, timeoutMs }) => {
      const vals = await getCw().get(ids.map(ref), timeoutMs);
      return {
        values: vals.map((v) => {
          const l = LaidOut.of(v);
          if (l.size <= INLINE_LIMIT) return { inline: l.all(), size: l.size };
          const handle = uniqueId();
          outgoing.set(handle, l);
          return { handle, size: l.size };
        }),
      };
    },
    "client.ReadChunk": ({ handle, offset, length }) => {
      const l = outgoing.get(handle);
      if (!l) throw new ValueError(`unknown transfer ${handle}`);
      return { data: l.read(offset, Math.min(length, CHUNK)) };
    },
    "client.ReleaseHandle": ({ handle }) => { outgoing.delete(handle); incoming.delete(handle); return {}; },
    "client.Put": ({ data }) => put(decodeStore(ownBuffer(data))),
    "client.PutBegin": ({ size }) => {
      const handle = uniqueId();
      incoming.set(handle, new Uint8Array(size));
      return { handle };
    },
    "client.PutChunk": ({ handle, offset, data }) => {
      const buf = incoming.get(handle);
      if (!buf || offset + data.length > buf.length) throw new ValueError(`bad chunk for transfer ${handle}`);
      buf.set(data, offset);
      return {};
    },
    "client.PutEnd": async ({ handle }) => {
      const buf = incoming.get(handle);
      incoming.delete(handle);
      if (!buf) throw new ValueError(`unknown transfer ${handle}`);
      return put(decodeStore(buf.buffer as ArrayBuffer));
    },
    "client.Wait": async ({ ids, numReturns, timeoutMs }) => {
      const [ready] = await getCw().wait(ids.map(ref), numReturns, timeoutMs);
      return { ready: ready.map((r) => r.id) };
    },
    "client.Cancel": ({ id, force }) => { getCw().cancel(ref(id), force); return {}; },
    "client.KillActor": async ({ actorId, noRestart }) => { await getCw().killActor(actorId, noRestart); return {}; },
    "client.GetActor": async ({ name, namespace }) => ({ actor: await getCw().getActorInfo(name, namespace) }),
    "client.Nodes": async () => ({ nodes: await getCw().nodes() }),
    "client.RequestResources": async ({ bundles }) => { await getCw().requestResources(bundles); return {}; },
    "client.NextStreamItem": async ({ taskId, index }) => {
      const r = await getCw().nextStreamItem(taskId, index);
      if (r) pin([r]);
      return { id: r?.id };
    },
    "client.Release": ({ ids }) => { for (const id of ids) pinned.delete(id); return {}; },
  };
}

export { ObjectRef };
