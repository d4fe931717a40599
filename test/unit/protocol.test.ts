import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Packr } from "msgpackr";
import { FrameDecoder, frameHeader } from "../../src/protocol/frame.ts";
import { acceptedSocketsUseSlabs, connect, listen, localSocketName, type Connection } from "../../src/protocol/connection.ts";
import { AuthError, ProtocolError, VersionMismatchError } from "../../src/common/errors.ts";
import { obj, str, int, arr, opt, validate } from "../../src/protocol/schema.ts";
import { METHOD_NAMES, methodCode } from "../../src/protocol/messages.ts";

const packr = new Packr({ useRecords: false });
const frame = (v: unknown): Buffer => { const b = packr.pack(v); return Buffer.concat([frameHeader(b.length), b]); };

test("frame decoder reassembles frames split at any byte", () => {
  const frames = [frame([0, 1, "a", { x: 1 }]), frame([3, 0, "b", {}]), frame([1, 1, 0, "y".repeat(1000)])];
  const all = Buffer.concat(frames);
  for (const step of [1, 3, 7, 100, all.length]) {
    const d = new FrameDecoder(1 << 20);
    const out: Buffer[] = [];
    for (let i = 0; i < all.length; i += step) out.push(...d.push(all.subarray(i, i + step)));
    assert.equal(out.length, 3);
    assert.deepEqual(packr.unpack(out[0]!), [0, 1, "a", { x: 1 }]);
    assert.deepEqual(packr.unpack(out[1]!), [3, 0, "b", {}]);
    assert.deepEqual(packr.unpack(out[2]!), [1, 1, 0, "y".repeat(1000)]);
  }
});

test("frame decoder: whole frames and a split one in the same chunk", () => {
  const frames = [frame(["a"]), frame(["b"]), frame(["c".repeat(300)])];
  const all = Buffer.concat(frames);
  const cut = frames[0]!.length + frames[1]!.length + 10; // two whole frames, then part of the third
  const d = new FrameDecoder(1 << 20);
  const first = d.push(all.subarray(0, cut));
  assert.deepEqual(first.map((f) => packr.unpack(f)), [["a"], ["b"]]);
  const rest = d.push(all.subarray(cut));
  assert.deepEqual(rest.map((f) => packr.unpack(f)), [["c".repeat(300)]]);
  // After that the decoder is empty again: a chunk of whole frames decodes on its own.
  assert.deepEqual(d.push(Buffer.concat([frames[1]!, frames[0]!])).map((f) => packr.unpack(f)), [["b"], ["a"]]);
  assert.throws(() => d.push(Buffer.concat([frames[0]!, frameHeader(1 << 21)])), /exceeds the limit/);
});

test("frame decoder rejects a frame over the limit before buffering it", () => {
  const d = new FrameDecoder(100);
  assert.throws(() => d.push(frameHeader(101)), (e: unknown) => e instanceof ProtocolError && /exceeds the limit of 100/.test(e.message));
});

test("schema validation names the offending path", () => {
  const S = obj({ a: str, b: arr(obj({ c: int, d: opt(str) })) });
  assert.deepEqual(validate(S, { a: "x", b: [{ c: 1 }] }, "m"), { a: "x", b: [{ c: 1 }] });
  assert.throws(() => validate(S, { a: "x", b: [{ c: 1.5 }] }, "m"), /m\.b\[0\]\.c: expected integer/);
  assert.throws(() => validate(S, { a: 3, b: [] }, "m"), /m\.a: expected string/);
});

async function server(token = "secret", localName?: string, slabReads?: boolean) {
  const conns: Connection[] = [];
  const failures: string[] = [];
  const s = await listen({
    host: "127.0.0.1", port: 0, token, localName, slabReads,
    onConnection: (c) => {
      conns.push(c);
      c.onRequest = (method, payload) => {
        if (method === "gcs.Ping") return { time: 42 };
        if (method === "gcs.KvGet") {
          const p = payload as { key: string };
          if (p.key === "boom") throw new Error("handler failed");
          if (p.key === "unencodable") { const cyc: Record<string, unknown> = {}; cyc.self = cyc; return { value: cyc }; }
          return { value: Buffer.from(p.key) };
        }
        throw new ProtocolError("nope");
      };
    },
    onAuthFailure: (_r, reason) => failures.push(reason),
  });
  return { s, conns, failures };
}

test("authenticated request/reply, errors cross the wire as typed errors", async (t) => {
  const { s } = await server();
  t.after(() => s.close());
  const c = await connect({ host: "127.0.0.1", port: s.port, token: "secret", role: "test", id: "t1" });
  t.after(() => c.close());
  assert.deepEqual(await c.request("gcs.Ping", {}), { time: 42 });
  const many = await Promise.all(Array.from({ length: 1000 }, (_, i) => c.request("gcs.KvGet", { ns: "n", key: `k${i}` })));
  assert.equal(Buffer.from(many[999]!.value!).toString(), "k999");
  await assert.rejects(c.request("gcs.KvGet", { ns: "n", key: "boom" }), /handler failed/);
  await assert.rejects(c.request("gcs.Subscribe", { channel: "node" }), (e: unknown) => e instanceof ProtocolError);
});

test("a malformed request is answered with ProtocolError and the server keeps serving", async (t) => {
  const { s } = await server();
  t.after(() => s.close());
  const c = await connect({ host: "127.0.0.1", port: s.port, token: "secret", role: "test", id: "t1" });
  t.after(() => c.close());
  // Bypass the typed API to send a request whose payload violates the schema.
  const bad = c.request("gcs.KvGet", { ns: 5 } as unknown as { ns: string; key: string });
  await assert.rejects(bad, (e: unknown) => e instanceof ProtocolError && /gcs\.KvGet\.ns: expected string/.test(e.message));
  assert.deepEqual(await c.request("gcs.Ping", {}), { time: 42 });
});

test("accepted connections read into slabs when asked (else Node's reads); values larger than a slab arrive whole", async (t) => {
  assert.equal(acceptedSocketsUseSlabs, true, "this Node names its onread state as expected");
  for (const slabReads of [true, false]) {
    const { s, conns } = await server("secret", undefined, slabReads);
    t.after(() => s.close());
    const c = await connect({ host: "127.0.0.1", port: s.port, token: "secret", role: "test", id: "slab" });
    t.after(() => c.close());
    assert.equal(conns.at(-1)!.userBuffer, slabReads);
    // Requests of every size up to several slabs (64 KiB), all in flight: each reply echoes its key.
    const keys = [1, 100, 16 * 1024, 64 * 1024 - 7, 64 * 1024 + 9, 200 * 1024, 3].map((n, i) => `${i}:${"k".repeat(n)}`);
    const replies = await Promise.all(keys.map((key) => c.request("gcs.KvGet", { ns: "n", key })));
    replies.forEach((r, i) => assert.equal(Buffer.from(r.value!).toString(), keys[i]));
  }
});

test("methods travel as numbers; an unknown one is answered with ProtocolError and the server keeps serving", async (t) => {
  const { s } = await server();
  t.after(() => s.close());
  const c = await connect({ host: "127.0.0.1", port: s.port, token: "secret", role: "test", id: "t1" });
  t.after(() => c.close());
  assert.equal(METHOD_NAMES[methodCode("gcs.Ping")], "gcs.Ping");
  assert.equal(new Set(METHOD_NAMES.map(methodCode)).size, METHOD_NAMES.length);
  await assert.rejects(c.request("gcs.NoSuchMethod" as "gcs.Ping", {}),
    (e: unknown) => e instanceof ProtocolError && /unknown method number -1/.test(e.message));
  assert.deepEqual(await c.request("gcs.Ping", {}), { time: 42 });
});

test("wrong and missing tokens are rejected with a message that says which", async (t) => {
  const { s, failures } = await server();
  t.after(() => s.close());
  await assert.rejects(connect({ host: "127.0.0.1", port: s.port, token: "wrong", role: "test", id: "x" }),
    (e: unknown) => e instanceof AuthError && /wrong auth token/.test(e.message));
  await assert.rejects(connect({ host: "127.0.0.1", port: s.port, token: "", role: "test", id: "x" }),
    (e: unknown) => e instanceof AuthError && /missing auth token/.test(e.message));
  assert.equal(failures.length, 2);
});

test("same-host links use the server's abstract Unix socket, with the same token check, else TCP", { skip: process.platform !== "linux" }, async (t) => {
  const name = localSocketName("secret", "node-a", `w-${process.pid}`);
  assert.notEqual(name, localSocketName("other token", "node-a", `w-${process.pid}`), "the name depends on the token");
  const { s, conns, failures } = await server("secret", name);
  t.after(() => s.close());
  const local = await connect({ host: "127.0.0.1", port: s.port, token: "secret", role: "test", id: "l", localName: name });
  t.after(() => local.close());
  assert.deepEqual(await local.request("gcs.Ping", {}), { time: 42 });
  // The server saw a Unix-socket peer (no IP address), not a TCP one.
  assert.equal(conns.at(-1)!.socket.remoteAddress, undefined);
  assert.match(local.remote, /local socket/);
  // The local socket checks the token like the TCP port.
  await assert.rejects(connect({ host: "127.0.0.1", port: s.port, token: "wrong", role: "test", id: "x", localName: name }),
    (e: unknown) => e instanceof AuthError && /wrong auth token/.test(e.message));
  assert.equal(failures.length, 1);
  // A name nobody listens on (a peer on another host, or one with local sockets off): TCP.
  const tcp = await connect({ host: "127.0.0.1", port: s.port, token: "secret", role: "test", id: "t",
    localName: localSocketName("secret", "node-b", "nobody") });
  t.after(() => tcp.close());
  assert.deepEqual(await tcp.request("gcs.Ping", {}), { time: 42 });
  assert.equal(conns.at(-1)!.socket.remoteAddress, "127.0.0.1");
  // A second server cannot take a bound name; it still serves TCP.
  const { s: s2 } = await server("secret", name);
  t.after(() => s2.close());
  const c2 = await connect({ host: "127.0.0.1", port: s2.port, token: "secret", role: "test", id: "t2" });
  t.after(() => c2.close());
  assert.deepEqual(await c2.request("gcs.Ping", {}), { time: 42 });
});

async function rawExchange(port: number, bytes: Buffer): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    sock.on("data", (d) => chunks.push(d));
    sock.on("close", () => resolve({ data: Buffer.concat(chunks), closed: true }));
    sock.on("connect", () => sock.write(bytes));
    setTimeout(() => { sock.destroy(); resolve({ data: Buffer.concat(chunks), closed: false }); }, 2000);
  });
}

test("garbage, oversized and pre-auth frames close only that connection", async (t) => {
  const { s } = await server();
  t.after(() => s.close());
  // Random bytes with a huge length prefix.
  assert.equal((await rawExchange(s.port, Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2, 3]))).closed, true);
  // A valid frame that is not msgpack.
  assert.equal((await rawExchange(s.port, Buffer.concat([frameHeader(3), Buffer.from([0xc1, 0xc1, 0xc1])]))).closed, true);
  // A request before the handshake.
  const r = await rawExchange(s.port, frame([0, 1, "gcs.Ping", {}]));
  assert.equal(r.closed, true);
  // Version mismatch.
  const c = connect({ host: "127.0.0.1", port: s.port, token: "secret", role: "t", id: "v" });
  await assert.doesNotReject(c.then((x) => x.close()));
  const vm = await rawExchange(s.port, frame([4, 0, 0, { version: 999, token: "secret" }]));
  assert.match(packr.unpack(vm.data.subarray(4)).at(3).message, /protocol version mismatch/);
  // The server still serves good clients.
  const good = await connect({ host: "127.0.0.1", port: s.port, token: "secret", role: "t", id: "g" });
  assert.deepEqual(await good.request("gcs.Ping", {}), { time: 42 });
  good.close();
  void VersionMismatchError;
});

test("a reply that cannot be encoded closes only that connection; the server keeps serving", async (t) => {
  const { s } = await server();
  t.after(() => s.close());
  const c = await connect({ host: "127.0.0.1", port: s.port, token: "secret", role: "test", id: "u" });
  // Records mode makes a connection's encoder stateful, so a failed encode must end the connection
  // (and not the process, and not corrupt later frames).
  await assert.rejects(c.request("gcs.KvGet", { ns: "n", key: "unencodable" }));
  const other = await connect({ host: "127.0.0.1", port: s.port, token: "secret", role: "test", id: "v" });
  assert.deepEqual(await other.request("gcs.Ping", {}), { time: 42 });
  for (let i = 0; i < 50; i++) assert.deepEqual(await other.request("gcs.KvGet", { ns: "n", key: `k${i}` }), { value: Buffer.from(`k${i}`) });
  c.close();
  other.close();
});
