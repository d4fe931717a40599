/**
 * @module worker/object_io
 * Moving values in and out of the node's object store. Writing: reserve space with the raylet,
 * write the header and body, then each out-of-band binary buffer straight from the user's typed
 * array into the shared-memory file (one copy), seal. Reading: ask the raylet for the object's
 * path (it restores spilled objects), map the file, decode with binary payloads as views onto the
 * mapping (no copy).
 */
import type { Connection } from "../protocol/connection.ts";
import type { Address, ReturnValue } from "../protocol/messages.ts";
import { configOnce } from "../common/config.ts";
import { decodeStore, encodeForStore, storeHead, storeLayout, type Encoded } from "./serialization.ts";
import { shmMapper } from "../object_store/shm.ts";
import { ObjectLostError } from "../common/errors.ts";

/** Encode `value` as a ReturnValue: inline when small, else written to the node's store. */
export async function storeValue(raylet: Connection, id: string, value: unknown, owner: Address,
  nodeId: string): Promise<{ ret: ReturnValue; enc: Encoded }> {
  const enc = encodeForStore(value);
  if (enc.buffers.length === 0 && enc.body.length <= configOnce("max_direct_call_object_size")) {
    return { ret: { id, v: enc.body }, enc };
  }
  const size = await writeEncoded(raylet, id, enc, owner);
  return { ret: { id, node: nodeId, size }, enc };
}

export async function writeEncoded(raylet: Connection, id: string, enc: Encoded, owner: Address): Promise<number> {
  const { size, offsets, headerLen } = storeLayout(enc);
  const { path } = await raylet.request("raylet.ObjectCreate", { id, size, owner });
  const head = storeHead(enc, offsets, headerLen);
  const parts: [number, ArrayBufferView][] = [[0, head]];
  enc.buffers.forEach((b, i) => parts.push([offsets[i]!, b]));
  shmMapper().writeFile(path, size, parts);
  await raylet.request("raylet.ObjectSeal", { id });
  return size;
}

/** Read an object stored on another node: the local raylet pulls it, then we map the local copy. */
export async function readRemote(raylet: Connection, id: string, fromNode: string, owner: Address): Promise<unknown> {
  const { path } = await raylet.request("raylet.ObjectPull", { id, fromNode, owner });
  return decodeStore(shmMapper().mapFile(path));
}

/** Read objects from this node's store. */
export async function readStored(raylet: Connection, ids: string[]): Promise<unknown[]> {
  const { paths } = await raylet.request("raylet.ObjectGet", { ids });
  const mapper = shmMapper();
  return ids.map((id, i) => {
    const p = paths[i];
    if (!p) throw new ObjectLostError(`object ${id} is not in this node's object store any more (it was freed, or its node died)`);
    return decodeStore(mapper.mapFile(p));
  });
}
