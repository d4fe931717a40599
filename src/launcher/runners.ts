/**
 * @module launcher/runners
 * Command runners: how the launcher and autoscaler run shell commands and copy files on a node.
 * `sshRunner` uses OpenSSH and rsync, as Ray does (a shared ControlMaster connection per node, so
 * a setup of ten commands pays one handshake); `localRunner` runs on this machine (the
 * fake_multinode provider's nodes). Containers are a wrapper over either (launcher/docker.ts).
 *
 * Secrets never go on a command line: a non-interactive command and its environment are written
 * to the remote `bash -s` on stdin, so `ps` on either machine shows only `bash --login -s`.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CommandFailedError } from "../common/errors.ts";
import type { CommandRunner, RunOptions, RunResult, RunnerContext } from "./provider.ts";

/** Single-quote a string for POSIX shells. */
export function shQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** The script a non-interactive command runs as: exports, then the command with stdin closed. */
export function commandScript(cmd: string, env: Record<string, string> = {}): string {
  const exports = Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_]\w*$/.test(k)) throw new CommandFailedError(`environment variable name "${k}" is not valid in a shell`);
    return `export ${k}=${shQuote(v)}\n`;
  }).join("");
  // The whole command is one brace group, parsed before it runs, with stdin from /dev/null: a
  // command that reads stdin cannot eat the rest of the script.
  return `${exports}{\n${cmd}\n} < /dev/null\n`;
}

interface ProcOut { code: number; stdout: string; stderr: string }

/** Run argv locally, feeding `input` on stdin; stream or capture output. */
export function runLocal(argv: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; capture?: boolean;
  interactive?: boolean; timeoutMs?: number; log?: (line: string) => void; cwd?: string }): Promise<ProcOut> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: opts.env ?? process.env, cwd: opts.cwd,
      stdio: opts.interactive ? "inherit" : ["pipe", "pipe", "pipe"],
    });
    let stdout = "", stderr = "";
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    const lines = (buf: { rest: string }, chunk: string, sink: (l: string) => void): void => {
      buf.rest += chunk;
      const parts = buf.rest.split("\n");
      buf.rest = parts.pop()!;
      for (const p of parts) sink(p);
    };
    const outBuf = { rest: "" }, errBuf = { rest: "" };
    if (!opts.interactive) {
      child.stdout!.setEncoding("utf8").on("data", (d: string) => {
        if (opts.capture) stdout += d; else if (opts.log) lines(outBuf, d, opts.log); else process.stdout.write(d);
      });
      child.stderr!.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
        if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19));
        if (!opts.capture) { if (opts.log) lines(errBuf, d, opts.log); else process.stderr.write(d); }
      });
      child.stdin!.on("error", () => { /* the command exited before reading its input */ });
      child.stdin!.end(opts.input ?? "");
    }
    child.once("error", (e) => { if (timer) clearTimeout(timer); reject(new CommandFailedError(`could not run ${argv[0]}: ${e.message}`)); });
    child.once("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      if (opts.log && !opts.capture) { if (outBuf.rest) opts.log(outBuf.rest); if (errBuf.rest) opts.log(errBuf.rest); }
      resolve({ code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 9) : 1), stdout, stderr });
    });
  });
}

/** `~/x` → this machine's home + `/x` (local paths only; remote `~` is the remote shell's). */
export function expandHome(p: string): string {
  return p.startsWith("~/") ? path.join(os.homedir(), p.slice(2)) : p;
}

/** The ssh options every call to one node shares (Ray's defaults plus a ControlMaster socket). */
export function sshOptions(ctx: RunnerContext, host: string): string[] {
  const a = ctx.auth;
  const controlDir = path.join(os.tmpdir(), `stingray_ssh_${createHash("sha1").update(`${os.userInfo().username}`).digest("hex").slice(0, 10)}`);
  fs.mkdirSync(controlDir, { recursive: true, mode: 0o700 });
  const controlPath = path.join(controlDir, createHash("sha1").update(`${a.ssh_user}@${host}:${a.ssh_port ?? 22}`).digest("hex").slice(0, 12));
  const o: Record<string, string> = {
    ConnectTimeout: "10s",
    StrictHostKeyChecking: "no",
    UserKnownHostsFile: "/dev/null",
    LogLevel: "ERROR",
    IdentitiesOnly: "yes",
    ExitOnForwardFailure: "yes",
    ServerAliveInterval: "5",
    ServerAliveCountMax: "3",
    BatchMode: "yes",
    ControlMaster: "auto",
    ControlPath: controlPath,
    ControlPersist: "10s",
    ...(a.ssh_proxy_command ? { ProxyCommand: a.ssh_proxy_command } : {}),
    ...(a.ssh_options ?? {}),
  };
  const args = Object.entries(o).flatMap(([k, v]) => ["-o", `${k}=${v}`]);
  if (a.ssh_private_key) args.push("-i", expandHome(a.ssh_private_key));
  if (a.ssh_port) args.push("-p", String(a.ssh_port));
  return args;
}

function rsyncFlags(opts: { exclude?: string[]; filter?: string[] } = {}): string[] {
  return ["-az", ...(opts.exclude ?? []).flatMap((e) => ["--exclude", e]),
    ...(opts.filter ?? []).flatMap((f) => ["--filter", `dir-merge,- ${f}`])];
}

/** A runner for a node reached over SSH at `host` (its internal or external IP, chosen by the provider). */
export function sshRunner(opts: { host: string; ctx: RunnerContext; nodeId: string }): CommandRunner {
  const { host, ctx } = opts;
  const target = `${ctx.auth.ssh_user}@${host}`;
  const ssh = (extra: string[] = []): string[] => ["ssh", ...sshOptions(ctx, host), ...extra];
  const rsh = (): string => ssh().map(shQuote).join(" ");
  return {
    description: target,
    async run(cmd: string, o: RunOptions = {}): Promise<RunResult> {
      const fwd = (o.portForward ?? []).flatMap(([l, r]) => ["-L", `${l}:localhost:${r}`]);
      if (o.interactive) {
        // The terminal is the command's stdin, so the command goes in argv; only non-secret
        // variables may be passed here (the callers pass none that are secret).
        const exports = Object.entries(o.env ?? {}).map(([k, v]) => `export ${k}=${shQuote(v)}; `).join("");
        const argv = [...ssh(["-tt", ...fwd]), target, "bash", "--login", "-c", shQuote(`${exports}${cmd}`)];
        return runLocal(argv, { interactive: true, timeoutMs: o.timeoutMs });
      }
      const argv = [...ssh(fwd), target, "bash", "--login", "-s"];
      return runLocal(argv, { input: commandScript(cmd, o.env), capture: o.captureOutput, log: o.captureOutput ? undefined : ctx.log, timeoutMs: o.timeoutMs });
    },
    async rsyncUp(source, targetPath, o = {}): Promise<void> {
      const dir = targetPath.endsWith("/") ? targetPath : path.posix.dirname(targetPath);
      const mk = await this.run(`mkdir -p ${dir.startsWith("~/") ? `~/${shQuote(dir.slice(2))}` : shQuote(dir)}`, { captureOutput: true });
      if (mk.code !== 0) throw new CommandFailedError(`rsync to ${target}: could not create ${dir}: ${mk.stderr.trim()}`);
      const r = await runLocal(["rsync", "-e", rsh(), ...rsyncFlags(o), expandHome(source), `${target}:${targetPath}`], { capture: true });
      if (r.code !== 0) throw new CommandFailedError(`rsync ${source} → ${target}:${targetPath} failed (exit ${r.code}): ${r.stderr.trim()}`);
    },
    async rsyncDown(source, targetPath, o = {}): Promise<void> {
      fs.mkdirSync(targetPath.endsWith("/") ? expandHome(targetPath) : path.dirname(path.resolve(expandHome(targetPath))), { recursive: true });
      const r = await runLocal(["rsync", "-e", rsh(), ...rsyncFlags(o), `${target}:${source}`, expandHome(targetPath)], { capture: true });
      if (r.code !== 0) throw new CommandFailedError(`rsync ${target}:${source} → ${targetPath} failed (exit ${r.code}): ${r.stderr.trim()}`);
    },
  };
}

/** A runner for a node that is this machine (fake_multinode; the launcher's own host). */
export function localRunner(opts: { ctx: RunnerContext; nodeId: string; env?: Record<string, string> }): CommandRunner {
  const { ctx } = opts;
  const local = (p: string): string => expandHome(p);
  return {
    description: `localhost (${opts.nodeId})`,
    async run(cmd: string, o: RunOptions = {}): Promise<RunResult> {
      const env = { ...process.env, ...opts.env, ...o.env };
      if (o.interactive) return runLocal(["bash", "--login", "-c", cmd], { interactive: true, env, timeoutMs: o.timeoutMs });
      return runLocal(["bash", "-s"], { input: commandScript(cmd), env, capture: o.captureOutput,
        log: o.captureOutput ? undefined : ctx.log, timeoutMs: o.timeoutMs });
    },
    async rsyncUp(source, target, o = {}): Promise<void> {
      const dst = local(target);
      fs.mkdirSync(target.endsWith("/") ? dst : path.dirname(path.resolve(dst)), { recursive: true });
      const r = await runLocal(["rsync", ...rsyncFlags(o), local(source), dst], { capture: true });
      if (r.code !== 0) throw new CommandFailedError(`rsync ${source} → ${target} failed (exit ${r.code}): ${r.stderr.trim()}`);
    },
    async rsyncDown(source, target, o = {}): Promise<void> { return this.rsyncUp(source, target, o); },
  };
}
