/**
 * @module node/daemon
 * What every daemon process (GCS, raylet) shares: reading its options (JSON in argv[2], never
 * secrets), the token (from STINGRAY_AUTH_TOKEN or the session's token file), signalling
 * readiness to the launcher with a `READY <json>` line on stdout, and dying with its parent when
 * it was started by a driver's `init()` (its stdin is a pipe from the parent; EOF means the
 * parent is gone).
 */
import fs from "node:fs";
import path from "node:path";

export function daemonOptions<T>(): T {
  const raw = process.argv[2];
  if (!raw) throw new Error("daemon started without its options argument");
  return JSON.parse(raw) as T;
}

export function daemonToken(sessionDir: string): string {
  const t = process.env.STINGRAY_AUTH_TOKEN;
  if (t) return t;
  return fs.readFileSync(path.join(sessionDir, "auth_token"), "utf8").trim();
}

export function signalReady(info: Record<string, unknown>): void {
  process.stdout.write(`READY ${JSON.stringify(info)}\n`);
}

/** Exit (after `cleanup`) when the parent's stdin pipe closes or on SIGTERM/SIGINT. */
export function onShutdown(cleanup: (reason: string) => Promise<void>, watchParent: boolean): void {
  let stopping = false;
  const stop = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(0), 3000);
    force.unref();
    cleanup(reason).catch(() => {}).finally(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  if (watchParent) {
    process.stdin.on("end", () => stop("parent exited"));
    process.stdin.on("error", () => stop("parent exited"));
    process.stdin.resume();
  }
}
