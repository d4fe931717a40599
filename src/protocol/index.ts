/**
 * @module protocol
 * The wire protocol: framing, schemas, the authenticated RPC connection and every message.
 */
export * from "./messages.ts";
export { connect, listen, localSocketName, Connection } from "./connection.ts";
export type { RpcServer, ServerOptions, ConnectOptions, TlsOptions, PeerInfo } from "./connection.ts";
export { FrameDecoder } from "./frame.ts";
