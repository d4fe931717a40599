/**
 * @module launcher/updater
 * Bringing one node up to date, as Ray's NodeUpdater: wait for SSH, run the initialization
 * commands on the host, start the container (with `docker:`), sync file mounts, run the setup
 * commands, then the start commands, moving the node's status tag through waiting-for-ssh →
 * syncing-files → setting-up → up-to-date (or update-failed). The node's tags remember the hashes
 * it was set up with, so a second run skips what has not changed:
 *   - runtime hash unchanged and file mounts unchanged: nothing but (unless told not to) the
 *     start commands;
 *   - only file contents changed: the files are synced again, setup commands are not re-run;
 *   - runtime hash changed (commands, docker, mount names): everything runs.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CommandFailedError } from "../common/errors.ts";
import { config } from "../common/config.ts";
import type { CommandRunner, NodeProvider, ProviderNode } from "./provider.ts";
import { TAG, NODE_STATUS, type NodeKind, type NodeStatus } from "./types.ts";
import { dockerRunner, type ContainerSpec } from "./docker.ts";
import { expandHome } from "./runners.ts";

export interface Upload { content: string; remote: string; mode: number }

export interface NodeUpdateOptions {
  provider: NodeProvider;
  node: ProviderNode;
  /** The host's runner (SSH, local, kubectl); wrapped here for containers. */
  runner: CommandRunner;
  container?: ContainerSpec;
  clusterName: string;
  kind: NodeKind;
  /** remote path → local path */
  fileMounts: Record<string, string>;
  rsyncExclude?: string[];
  rsyncFilter?: string[];
  initializationCommands: string[];
  setupCommands: string[];
  startCommands: string[];
  runtimeHash: string;
  fileMountsContentsHash: string;
  /** Environment of setup and start commands (head IP, the cluster token for workers, instance id). */
  env: Record<string, string>;
  /** Files written on the node before the start commands (the head's bootstrap config and key). */
  uploads?: Upload[];
  /** --restart-only: skip file mounts and setup, run only the start commands. */
  restartOnly?: boolean;
  /** --no-restart: do not run the start commands. */
  noRestart?: boolean;
  /** Run every step even if the tags say the node is up to date. */
  force?: boolean;
  log: (line: string) => void;
  sshTimeoutMs?: number;
}

export interface UpdateResult { ranSetup: boolean; syncedFiles: boolean; ranStart: boolean }

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until the node answers a trivial command (SSH up, user known). */
export async function waitForReady(runner: CommandRunner, timeoutMs: number, log: (l: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (let attempt = 1; ; attempt++) {
    const r = await runner.run("uptime", { captureOutput: true, timeoutMs: 20_000 }).catch((e: Error) => ({ code: -1, stdout: "", stderr: e.message }));
    if (r.code === 0) return;
    last = r.stderr.trim().split("\n").pop() ?? `exit ${r.code}`;
    if (Date.now() > deadline) {
      throw new CommandFailedError(`${runner.description} did not answer over SSH within ${Math.round(timeoutMs / 1000)} s (last error: ${last}); ` +
        "check the address, auth.ssh_user, auth.ssh_private_key and that sshd runs on the node");
    }
    if (attempt === 1 || attempt % 5 === 0) log(`waiting for SSH on ${runner.description}: ${last}`);
    await sleep(Math.min(5000, 500 * attempt));
  }
}

async function runAll(runner: CommandRunner, cmds: string[], env: Record<string, string>, what: string, log: (l: string) => void,
  opts: { runOnHost?: boolean } = {}): Promise<void> {
  for (const cmd of cmds) {
    log(`  ${what}: ${cmd}`);
    const r = await runner.run(cmd, { env, runOnHost: opts.runOnHost });
    if (r.code !== 0) {
      throw new CommandFailedError(`${what} failed on ${runner.description} (exit ${r.code}): ${cmd}` +
        (r.stderr.trim() ? `\n${r.stderr.trim().split("\n").slice(-5).join("\n")}` : ""));
    }
  }
}

/** Write `uploads` through a 0600 local temp file and rsync (so contents never travel in argv). */
export async function uploadFiles(runner: CommandRunner, files: Upload[]): Promise<void> {
  if (!files.length) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-upload-"));
  try {
    for (const [i, f] of files.entries()) {
      const local = path.join(dir, String(i));
      fs.writeFileSync(local, f.content, { mode: f.mode });
      fs.chmodSync(local, f.mode);
      await runner.rsyncUp(local, f.remote);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function updateNode(o: NodeUpdateOptions): Promise<UpdateResult> {
  const { provider, node, log } = o;
  const setStatus = async (s: NodeStatus, extra: Record<string, string> = {}): Promise<void> => {
    await provider.setNodeTags(node.id, { [TAG.nodeStatus]: s, ...extra });
  };
  const result: UpdateResult = { ranSetup: false, syncedFiles: false, ranStart: false };
  try {
    const step = (n: number, text: string): void => log(`[${n}/6] ${text}`);
    step(1, `Waiting for SSH to ${o.runner.description}`);
    await setStatus(NODE_STATUS.waitingForSsh);
    await waitForReady(o.runner, o.sshTimeoutMs ?? config("launcher_ssh_wait_s") * 1000, log);

    const sameRuntime = !o.force && node.tags[TAG.runtimeConfig] === o.runtimeHash;
    const sameFiles = !o.force && node.tags[TAG.fileMountsContents] === o.fileMountsContentsHash;
    const runner: CommandRunner = o.container ? dockerRunner(o.runner, o.container, o.clusterName) : o.runner;

    if (!sameRuntime && !o.restartOnly) {
      step(2, "Running initialization commands");
      await setStatus(NODE_STATUS.settingUp);
      await runAll(o.runner, o.initializationCommands, {}, "initialization command", log);
    } else {
      step(2, "No initialization commands to run (configuration unchanged)");
    }
    if (o.container) {
      step(3, `Starting container ${o.container.name} (${o.container.engine}, image ${o.container.image})`);
      await (runner as ReturnType<typeof dockerRunner>).ensureContainer(log);
    } else {
      step(3, "No container to start");
    }
    if ((!sameFiles || !sameRuntime) && !o.restartOnly) {
      step(4, "Processing file mounts");
      await setStatus(NODE_STATUS.syncingFiles);
      for (const [remote, local] of Object.entries(o.fileMounts)) {
        const abs = expandHome(local);
        const isDir = fs.existsSync(abs) && fs.statSync(abs).isDirectory();
        log(`  ${local} → ${remote}`);
        await runner.rsyncUp(isDir ? local.replace(/\/?$/, "/") : local, isDir ? remote.replace(/\/?$/, "/") : remote,
          { exclude: o.rsyncExclude, filter: o.rsyncFilter });
      }
      result.syncedFiles = true;
    } else {
      step(4, "File mounts unchanged");
    }
    await uploadFiles(runner, o.uploads ?? []);
    if (!sameRuntime && !o.restartOnly) {
      step(5, "Running setup commands");
      await setStatus(NODE_STATUS.settingUp);
      await runAll(runner, o.setupCommands, o.env, "setup command", log);
      result.ranSetup = true;
    } else {
      step(5, "Configuration already up to date, skipping setup commands");
    }
    if (!o.noRestart) {
      step(6, "Starting Stingray");
      await setStatus(NODE_STATUS.settingUp);
      await runAll(runner, o.startCommands, o.env, "start command", log);
      result.ranStart = true;
    } else {
      step(6, "Not restarting Stingray (--no-restart)");
    }
    await setStatus(NODE_STATUS.upToDate, { [TAG.runtimeConfig]: o.runtimeHash, [TAG.fileMountsContents]: o.fileMountsContentsHash });
    return result;
  } catch (e) {
    log(`update of ${node.id} failed: ${(e as Error).message}`);
    await setStatus(NODE_STATUS.updateFailed).catch(() => { /* provider unreachable: the failure is what matters */ });
    throw e;
  }
}
