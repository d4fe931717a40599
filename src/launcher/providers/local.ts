/**
 * @module launcher/providers/local
 * The `local` provider: a fixed pool of machines given by `provider.head_ip` and
 * `provider.worker_ips`, reached over SSH (OpenSSH and rsync). "Creating" a node claims a free IP
 * from the pool; "terminating" one stops Stingray on it (and its container, with `docker:`) and
 * returns the IP to the pool. Which IPs are in use lives in a locked state file,
 * `<temp dir>/cluster-<name>.state`, as in Ray.
 *
 * Two copies of the provider exist: the launcher's (`stingray up` on the user's machine), which
 * creates the head, and the autoscaler's on the head, which owns the workers. The launcher reads
 * the head's state file over SSH to see the workers, so `get-worker-ips`, `exec --all-nodes` and
 * `down` know them; changes to workers go through the head (see cluster.ts).
 */
import path from "node:path";
import { ConfigError, ProviderError } from "../../common/errors.ts";
import { defaultTempDir } from "../../node/session.ts";
import type { NodeProvider, ProviderContext, ProviderModule, ProviderNode, RunnerContext, CommandRunner } from "../provider.ts";
import { TAG, NODE_KIND, type ProviderConfig, type Tags } from "../types.ts";
import { StateFile } from "../state_file.ts";
import { sshRunner, shQuote } from "../runners.ts";
import { containerSpec, dockerRunner, engineCommand } from "../docker.ts";

interface Entry { tags: Tags; state: "running" | "terminated" }
interface State { nodes: Record<string, Entry> }

/** Where a cluster's local-provider state lives (the same path on the launcher machine and the head). */
export function localStatePath(clusterName: string, dir = defaultTempDir()): string {
  return path.join(dir, `cluster-${clusterName}.state`);
}

const matches = (tags: Tags, filters: Tags): boolean => Object.entries(filters).every(([k, v]) => tags[k] === v);

export class LocalNodeProvider implements NodeProvider {
  private readonly cfg: ProviderConfig;
  private readonly ctx: ProviderContext;
  private readonly state: StateFile<State>;

  constructor(cfg: ProviderConfig, ctx: ProviderContext) {
    this.cfg = cfg;
    this.ctx = ctx;
    this.state = new StateFile<State>(localStatePath(ctx.clusterName, ctx.stateDir), () => ({ nodes: {} }));
  }

  private pool(kind: string | undefined): string[] {
    if (kind === NODE_KIND.head) return [this.cfg.head_ip!];
    return this.cfg.worker_ips ?? [];
  }

  /** On the launcher machine: the head's view of the workers, read over SSH (empty while the head is not up). */
  private async headEntries(): Promise<Record<string, Entry>> {
    if (this.ctx.onHead || !this.ctx.auth) return {};
    // With `docker:` the head's autoscaler, and so its state file, lives in the head's container.
    const host = this.headRunner();
    const head = this.ctx.docker ? dockerRunner(host, containerSpec(this.ctx.docker, NODE_KIND.head), this.ctx.clusterName) : host;
    const r = await head.run(`cat ${shQuote(localStatePath(this.ctx.clusterName, defaultTempDir()))} 2>/dev/null || true`,
      { captureOutput: true, timeoutMs: 30_000 }).catch(() => undefined);
    if (!r || r.code !== 0 || !r.stdout.trim()) return {};
    try { return (JSON.parse(r.stdout) as State).nodes ?? {}; } catch { return {}; }
  }

  private headRunner(): CommandRunner {
    const host = this.cfg.external_head_ip ?? this.cfg.head_ip!;
    return sshRunner({ host, nodeId: this.cfg.head_ip!, ctx: { auth: this.ctx.auth!, clusterName: this.ctx.clusterName,
      log: this.ctx.log, useInternalIp: false } });
  }

  async nonTerminatedNodes(tagFilters: Tags = {}): Promise<ProviderNode[]> {
    const local = this.state.read().nodes;
    const remote = await this.headEntries();
    const all: Record<string, Entry> = { ...local };
    // The head's file is the truth about workers; this machine's about what it created itself.
    for (const [ip, e] of Object.entries(remote)) if (e.tags[TAG.nodeKind] === NODE_KIND.worker || !all[ip]) all[ip] = e;
    return Object.entries(all)
      .filter(([, e]) => e.state === "running" && matches(e.tags, tagFilters))
      .map(([ip, e]) => this.node(ip, e.tags));
  }

  private node(ip: string, tags: Tags): ProviderNode {
    const external = ip === this.cfg.head_ip && this.cfg.external_head_ip ? this.cfg.external_head_ip : undefined;
    return { id: ip, tags: { ...tags }, internalIp: ip, externalIp: external, state: "running" };
  }

  async createNodes(_nodeConfig: Record<string, unknown>, tags: Tags, count: number): Promise<ProviderNode[]> {
    const kind = tags[TAG.nodeKind];
    const remote = await this.headEntries();
    return this.state.update((s) => {
      const busy = (ip: string): boolean => s.nodes[ip]?.state === "running" || remote[ip]?.state === "running";
      const free = this.pool(kind).filter((ip) => !busy(ip));
      if (free.length < count) {
        throw new ProviderError(`local provider: asked for ${count} ${kind ?? "worker"} node(s) but only ${free.length} of ` +
          `provider.${kind === NODE_KIND.head ? "head_ip" : "worker_ips"} ${free.length === 1 ? "is" : "are"} free; add IPs or lower max_workers`);
      }
      return free.slice(0, count).map((ip) => {
        s.nodes[ip] = { tags: { ...tags }, state: "running" };
        return this.node(ip, tags);
      });
    });
  }

  async setNodeTags(nodeId: string, tags: Tags): Promise<void> {
    await this.state.update((s) => {
      const e = s.nodes[nodeId];
      if (!e) throw new ProviderError(`local provider: node ${nodeId} is not known to this machine's state file ${this.state.file}`);
      Object.assign(e.tags, tags);
    });
  }

  async terminateNodes(nodeIds: string[]): Promise<void> {
    const known = this.state.read().nodes;
    const remote = await this.headEntries();
    await Promise.all(nodeIds.map(async (ip) => {
      if (!known[ip] && !remote[ip]) return;
      if (!this.ctx.auth) return;
      // Stop Stingray on the machine (and its container): the IP goes back to the pool empty.
      const r = this.runnerFor(ip);
      const docker = this.ctx.docker;
      const cmd = docker
        ? `${engineCommand(docker.engine || "docker")} rm -f ${shQuote(docker.container_name)} >/dev/null 2>&1 || true`
        : "command -v stingray >/dev/null 2>&1 && stingray stop || true";
      const res = await r.run(cmd, { captureOutput: true, timeoutMs: 60_000 }).catch((e: Error) => ({ code: -1, stdout: "", stderr: e.message }));
      if (res.code !== 0) this.ctx.log(`local provider: could not stop Stingray on ${ip} (${res.stderr.trim() || `exit ${res.code}`}); releasing it anyway`);
    }));
    await this.state.update((s) => {
      for (const ip of nodeIds) { const e = s.nodes[ip]; if (e) e.state = "terminated"; }
    });
  }

  private runnerFor(ip: string): CommandRunner {
    const host = ip === this.cfg.head_ip && this.cfg.external_head_ip && !this.ctx.onHead ? this.cfg.external_head_ip : ip;
    return sshRunner({ host, nodeId: ip, ctx: { auth: this.ctx.auth!, clusterName: this.ctx.clusterName, log: this.ctx.log, useInternalIp: this.ctx.onHead } });
  }

  commandRunner(node: ProviderNode, ctx: RunnerContext): CommandRunner {
    const host = ctx.useInternalIp ? (node.internalIp ?? node.id) : (node.externalIp ?? node.internalIp ?? node.id);
    return sshRunner({ host, nodeId: node.id, ctx });
  }
}

const localProvider: ProviderModule = {
  validate(p: ProviderConfig): void {
    if (typeof p.head_ip !== "string" || !p.head_ip) throw new ConfigError("provider.head_ip: the local provider needs the head's IP address");
    if (!Array.isArray(p.worker_ips)) throw new ConfigError("provider.worker_ips: the local provider needs a list of worker IP addresses (it may be empty)");
    if (p.worker_ips.includes(p.head_ip)) throw new ConfigError(`provider.worker_ips: ${p.head_ip} is also provider.head_ip; list each machine once`);
  },
  async createProvider(cfg, ctx) {
    localProvider.validate!(cfg, undefined as never);
    return new LocalNodeProvider(cfg, ctx);
  },
};
export default localProvider;
