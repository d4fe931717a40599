/**
 * Test hosts: several "machines" on this box, each a network namespace with its own IP on a
 * private bridge, plus a persistent mount namespace with private /tmp and /dev/shm, so nothing
 * crosses between hosts except the network. Used by multi-host tests (and later the launcher and
 * chaos tests). Names are unique per run; `destroy()` kills every process in the namespaces and
 * removes namespaces, links and mounts, and is safe to call twice or after a partial create.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import fs from "node:fs";

const run = promisify(execFile);
const REPO_ROOT = new URL("../..", import.meta.url).pathname;

export interface Host { name: string; ns: string; ip: string; mnt: string }

function sh(...args: string[]): void { execFileSync(args[0]!, args.slice(1), { stdio: ["ignore", "ignore", "pipe"] }); }
function trySh(...args: string[]): void { try { sh(...args); } catch { /* already gone */ } }

export class TestHosts {
  readonly hosts: Host[] = [];
  readonly bridge: string;
  readonly subnet: string;
  private tag: string;
  private children = new Set<ChildProcess>();

  private constructor() {
    this.tag = randomBytes(3).toString("hex");
    this.bridge = `srb${this.tag}`;
    this.subnet = `10.213.${1 + (parseInt(this.tag, 16) % 250)}`;
  }

  static supported(): string | undefined {
    if (process.getuid?.() !== 0) return "needs root for network namespaces";
    for (const tool of ["ip", "nsenter", "unshare", "mount"]) {
      try { execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }); } catch { return `needs ${tool}`; }
    }
    return undefined;
  }

  /**
   * `keep`: directories that must stay visible inside the hosts even though each host mounts a
   * private tmpfs on /tmp (the repository itself may live under /tmp, as in a CI clone).
   */
  static async create(n: number, keep: string[] = [REPO_ROOT], o: { privateHome?: boolean } = {}): Promise<TestHosts> {
    const t = new TestHosts();
    try {
      t.setUp(n, keep.map((k) => fs.realpathSync(k)), o.privateHome ? ["/tmp", "/root"] : ["/tmp"]);
    } catch (e) {
      await t.destroy();
      throw e;
    }
    return t;
  }

  /**
   * `privateDirs`: mount points that get an empty tmpfs per host (/tmp always; /root with
   * `privateHome`, so each host has its own home: ~/.profile, ~/.ssh, launcher bootstrap files).
   */
  private setUp(n: number, keep: string[], privateDirs: string[]): void {
    sh("ip", "link", "add", this.bridge, "type", "bridge");
    sh("ip", "addr", "add", `${this.subnet}.1/24`, "dev", this.bridge);
    sh("ip", "link", "set", this.bridge, "up");
    fs.mkdirSync("/run/mnt", { recursive: true });
    // /run/mnt must be a private mount point to hold persistent mount-namespace files.
    const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8");
    if (!/ \/run\/mnt /.test(mounts)) {
      sh("mount", "--bind", "/run/mnt", "/run/mnt");
      sh("mount", "--make-private", "/run/mnt");
    }
    for (let i = 0; i < n; i++) {
      const name = `sr${this.tag}h${i}`;
      const host: Host = { name, ns: name, ip: `${this.subnet}.${11 + i}`, mnt: `/run/mnt/${name}` };
      this.hosts.push(host);
      const veth = `srv${this.tag}${i}`;
      sh("ip", "netns", "add", host.ns);
      sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", host.ns);
      sh("ip", "link", "set", veth, "master", this.bridge, "up");
      sh("ip", "netns", "exec", host.ns, "ip", "addr", "add", `${host.ip}/24`, "dev", "eth0");
      sh("ip", "netns", "exec", host.ns, "ip", "link", "set", "eth0", "up");
      sh("ip", "netns", "exec", host.ns, "ip", "link", "set", "lo", "up");
      fs.writeFileSync(host.mnt, "");
      const under = (dir: string) => (k: string): boolean => k === dir || k.startsWith(`${dir}/`);
      const hidden = keep.filter((k) => privateDirs.some((d) => under(d)(k)));
      const stash = `/run/srkeep-${name}`;
      const q = (x: string): string => `'${x.replace(/'/g, "'\\''")}'`;
      const script = [
        "set -e",
        ...hidden.flatMap((k, j) => [`mkdir -p ${stash}/${j}`, `mount --bind ${q(k)} ${stash}/${j}`]),
        ...privateDirs.map((d) => `mount -t tmpfs -o mode=${d === "/tmp" ? "1777" : "0700"} none ${d}`),
        ...hidden.flatMap((k, j) => [`mkdir -p ${q(k)}`, `mount --bind ${stash}/${j} ${q(k)}`]),
        "mount -t tmpfs none /dev/shm",
      ].join("\n");
      if (hidden.length) fs.mkdirSync(stash, { recursive: true });
      sh("unshare", `--mount=${host.mnt}`, "--propagation", "private", "sh", "-c", script);
    }
  }

  /** The argv prefix that runs a command on `host`. */
  prefix(host: Host): string[] {
    return ["nsenter", `--mount=${host.mnt}`, "ip", "netns", "exec", host.ns];
  }

  /** Run a command on a host to completion. */
  async exec(host: Host, argv: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}):
    Promise<{ stdout: string; stderr: string }> {
    const [cmd, ...args] = [...this.prefix(host), ...argv];
    return run(cmd!, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, cwd: opts.cwd, maxBuffer: 1 << 26 });
  }

  /** Start a long-running command on a host; it is killed by destroy(). */
  spawn(host: Host, argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
    const [cmd, ...args] = [...this.prefix(host), ...argv];
    const c = spawn(cmd!, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    this.children.add(c);
    c.once("exit", () => this.children.delete(c));
    return c;
  }

  /** Pids of every process running in a host's network namespace. */
  pids(host: Host): number[] {
    try {
      return execFileSync("ip", ["netns", "pids", host.ns], { encoding: "utf8" }).split("\n").filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** Cut a host off the network (its link goes down; processes keep running), or reconnect it. */
  partition(host: Host, cut: boolean): void {
    const i = this.hosts.indexOf(host);
    sh("ip", "link", "set", `srv${this.tag}${i}`, cut ? "down" : "up");
  }

  /** Kill every process on a host (simulates the machine dying). */
  killAll(host: Host, signal: NodeJS.Signals = "SIGKILL"): void {
    for (const pid of this.pids(host)) { try { process.kill(pid, signal); } catch { /* gone */ } }
  }

  async destroy(): Promise<void> {
    for (const c of this.children) { try { c.kill("SIGKILL"); } catch { /* gone */ } }
    for (const h of this.hosts) this.killAll(h);
    await new Promise((r) => setTimeout(r, 100));
    for (const h of this.hosts) {
      this.killAll(h);
      trySh("ip", "netns", "del", h.ns);
      trySh("umount", h.mnt);
      try { fs.rmSync(h.mnt, { force: true }); } catch { /* gone */ }
      try { fs.rmSync(`/run/srkeep-${h.name}`, { recursive: true, force: true }); } catch { /* gone */ }
    }
    trySh("ip", "link", "del", this.bridge);
  }
}
