/**
 * Test helpers for the cluster launcher tests: a shared directory (outside the hosts' private
 * /tmp and /root) holding the config and a bin/ with `stingray` and `node`, the CLI run on the
 * "laptop" host, the cluster's alive nodes as the head sees them, and polling with the
 * autoscaler's log attached to a timeout.
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { TestHosts, Host } from "./hosts.ts";

export const ROOT = path.resolve(import.meta.dirname, "../..");

/**
 * The setup command that installs Stingray on a test node as `npm install stingray` would: the
 * CLI and Node on PATH (through ~/.profile, read by the launcher's login shells) and the package
 * resolvable from the home directory, for scripts that `import "stingray"`.
 */
export const INSTALL_STINGRAY = "mkdir -p ~/bin ~/node_modules && ln -sfn " + `${ROOT}/bin/stingray.js ~/bin/stingray && ln -sfn ${process.execPath} ~/bin/node && ` +
  `ln -sfn ${ROOT} ~/node_modules/stingray && echo 'export PATH=$HOME/bin:$PATH' > ~/.profile`;

export class LauncherRig {
  readonly shared = `/run/stingray-test-${randomBytes(4).toString("hex")}`;
  readonly cfgFile = path.join(this.shared, "cluster.yaml");
  hosts!: TestHosts;
  laptop!: Host;
  head!: Host;

  constructor() {
    fs.mkdirSync(path.join(this.shared, "bin"), { recursive: true });
    fs.symlinkSync(path.join(ROOT, "bin/stingray.js"), path.join(this.shared, "bin/stingray"));
    fs.symlinkSync(process.execPath, path.join(this.shared, "bin/node"));
  }

  attach(hosts: TestHosts, laptop: Host, head: Host): void { this.hosts = hosts; this.laptop = laptop; this.head = head; }

  env(): NodeJS.ProcessEnv { return { ...process.env, HOME: "/root", PATH: `${this.shared}/bin:${process.env.PATH}` }; }

  /** `stingray ARGS` on the laptop. */
  cli(args: string[], timeoutMs = 300_000): Promise<{ stdout: string; stderr: string }> {
    return this.hosts.exec(this.laptop, ["stingray", ...args], { env: this.env(), timeoutMs, cwd: ROOT });
  }

  /** IPs of the alive nodes, asked on the head through `stingray exec` (empty if the head does not answer). */
  async aliveIps(): Promise<string[]> {
    const r = await this.cli(["exec", this.cfgFile, "stingray list nodes --format=json"], 60_000).catch(() => ({ stdout: "[]" }));
    try {
      return (JSON.parse(r.stdout) as Array<{ node_ip: string; state: string }>).filter((n) => n.state === "ALIVE").map((n) => n.node_ip).sort();
    } catch { return []; }
  }

  async monitorLog(lines = 60): Promise<string> {
    const r = await this.hosts.exec(this.head, ["sh", "-c", `tail -n ${lines} /tmp/stingray/session_latest/logs/monitor.log`]).catch(() => ({ stdout: "(no monitor log)" }));
    return r.stdout;
  }

  async until(what: string, cond: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; monitor.log:\n${await this.monitorLog(40)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** Stingray processes (daemons, workers, the autoscaler) on a host. */
  stingrayPids(h: Host): number[] {
    return this.hosts.pids(h).filter((pid) => {
      try { return /src\/(gcs|raylet|worker|autoscaler|dashboard)\/main\.ts/.test(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")); } catch { return false; }
    });
  }

  cleanup(): void { fs.rmSync(this.shared, { recursive: true, force: true }); }
}
