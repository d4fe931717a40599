/**
 * @module node/session
 * The session directory of a cluster on this host, as in Ray:
 *   <temp-dir>/session_<date>_<pid>/            one per head start
 *     auth_token          the cluster token (mode 0600)
 *     cluster.json        GCS address, head IP, ports, for `init({address: "auto"})` and the CLI
 *     logs/               one file per daemon and per worker
 *     runtime_resources/  unpacked code packages
 *   <temp-dir>/session_latest -> session_...    the current session
 * The default temp dir is /tmp/stingray (`--temp-dir`, `STINGRAY_TEMP_DIR`).
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { RuntimeStateError } from "../common/errors.ts";

export interface ClusterFile {
  gcsHost: string;
  gcsPort: number;
  headIp: string;
  sessionDir: string;
  version: string;
  startTime: number;
  rayletPort?: number;
  clientServerPort?: number | undefined;
  dashboardUrl?: string;
}

export function defaultTempDir(): string {
  return process.env.STINGRAY_TEMP_DIR || "/tmp/stingray";
}

function stamp(): string {
  const d = new Date();
  const p = (n: number, w = 2): string => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}_${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}_${p(d.getMilliseconds(), 3)}`;
}

/** Create a new session directory with a fresh token. `discard()` undoes it (failed start). */
export function createSession(tempDir: string): { sessionDir: string; token: string; discard(): void } {
  fs.mkdirSync(tempDir, { recursive: true, mode: 0o755 });
  const link = path.join(tempDir, "session_latest");
  let previous: string | undefined;
  try { previous = fs.readlinkSync(link); } catch { /* first session */ }
  const sessionDir = path.join(tempDir, `session_${stamp()}_${process.pid}`);
  fs.mkdirSync(path.join(sessionDir, "logs"), { recursive: true });
  fs.mkdirSync(path.join(sessionDir, "runtime_resources"), { recursive: true });
  const token = randomBytes(24).toString("base64url");
  fs.writeFileSync(path.join(sessionDir, "auth_token"), token + "\n", { mode: 0o600 });
  linkLatest(tempDir, sessionDir);
  const discard = (): void => {
    fs.rmSync(sessionDir, { recursive: true, force: true });
    if (previous) linkLatest(tempDir, path.join(tempDir, previous));
    else fs.rmSync(link, { force: true });
  };
  return { sessionDir, token, discard };
}

/** Create a session directory for a joining node, with the token it was given. */
export function createNodeSession(tempDir: string, token: string): string {
  fs.mkdirSync(tempDir, { recursive: true });
  const sessionDir = path.join(tempDir, `session_${stamp()}_${process.pid}`);
  fs.mkdirSync(path.join(sessionDir, "logs"), { recursive: true });
  fs.mkdirSync(path.join(sessionDir, "runtime_resources"), { recursive: true });
  fs.writeFileSync(path.join(sessionDir, "auth_token"), token + "\n", { mode: 0o600 });
  linkLatest(tempDir, sessionDir);
  return sessionDir;
}

function linkLatest(tempDir: string, sessionDir: string): void {
  const link = path.join(tempDir, "session_latest");
  const tmp = `${link}.${process.pid}`;
  try { fs.unlinkSync(tmp); } catch { /* absent */ }
  fs.symlinkSync(path.basename(sessionDir), tmp);
  fs.renameSync(tmp, link);
}

export function writeClusterFile(sessionDir: string, info: ClusterFile): void {
  const f = path.join(sessionDir, "cluster.json");
  fs.writeFileSync(f + ".tmp", JSON.stringify(info, null, 2));
  fs.renameSync(f + ".tmp", f);
}

/** Find the running cluster on this host for `address: "auto"`. */
export function readClusterFile(tempDir = defaultTempDir()): ClusterFile & { token: string } {
  const dir = path.join(tempDir, "session_latest");
  let info: ClusterFile;
  try {
    info = JSON.parse(fs.readFileSync(path.join(dir, "cluster.json"), "utf8")) as ClusterFile;
  } catch {
    throw new RuntimeStateError(`no running Stingray cluster found on this host (no ${dir}/cluster.json); ` +
      "start one with `stingray start --head`, or pass init({ address: \"HOST:PORT\" })");
  }
  return { ...info, token: readToken(info.sessionDir) };
}

export function readToken(sessionDir: string): string {
  return fs.readFileSync(path.join(sessionDir, "auth_token"), "utf8").trim();
}
