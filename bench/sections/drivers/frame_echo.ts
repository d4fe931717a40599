/**
 * The echo process of bench/frames.ts: listens on the Unix socket path given as argv[2] (or on
 * TCP loopback, port chosen by the OS, when it is "tcp"), answers every request frame, and tells
 * its parent `{ port }` once it listens. Exits when the parent goes.
 */
import { runFrameEchoServer } from "../../frames.ts";

process.on("disconnect", () => process.exit(0));
runFrameEchoServer(process.argv[2] ?? "tcp");
