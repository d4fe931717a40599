/**
 * @module examples/cluster/external/my_provider
 * A small external node provider (`provider: {type: external, module: ./my_provider.ts}`) to
 * start from. Its "nodes" are entries in a JSON file and every one of them is this machine:
 * commands run in a local bash and "rsync" is a local copy. A real provider keeps the same
 * shape and replaces createNodes/terminateNodes with calls to its cloud or scheduler, and
 * commandRunner with an SSH runner.
 *
 * The nodes live in a file, not in memory, because two copies of a provider exist: the
 * launcher's (`stingray up`), which creates the head, and the autoscaler's on the head, which
 * creates the workers; both must see the same nodes.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError } from "../../../src/common/errors.ts";
import type { CommandRunner, NodeProvider, ProviderContext, ProviderModule, ProviderNode, RunOptions, RunResult } from "../../../src/launcher/provider.ts";
import type { ProviderConfig, Tags } from "../../../src/launcher/types.ts";

interface State { nextId: number; nodes: Record<string, { tags: Tags; nodeConfig: Record<string, unknown> }> }

const expandHome = (p: string): string => (p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p);
const matches = (tags: Tags, filters: Tags): boolean => Object.entries(filters).every(([k, v]) => tags[k] === v);

/** Runs commands on this machine, as a node's runner would over SSH. */
class LocalShellRunner implements CommandRunner {
  readonly description: string;
  private readonly log: (line: string) => void;
  constructor(nodeId: string, log: (line: string) => void) {
    this.description = `${nodeId} (this machine)`;
    this.log = log;
  }

  run(cmd: string, opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve) => {
      const child = spawn("bash", ["-c", cmd], {
        env: { ...process.env, ...opts.env }, // the environment, never the command line
        stdio: opts.interactive ? "inherit" : ["ignore", "pipe", "pipe"],
        timeout: opts.timeoutMs,
      });
      let stdout = "";
      let stderr = "";
      child.stdout?.on("data", (b: Buffer) => {
        if (opts.captureOutput) stdout += b.toString();
        else for (const l of b.toString().split("\n")) if (l) this.log(l);
      });
      child.stderr?.on("data", (b: Buffer) => { stderr += b.toString(); });
      child.on("error", (e) => resolve({ code: 127, stdout, stderr: stderr + e.message }));
      child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  }

  /** rsync's rule: "dir/" copies the directory's contents into target, "dir" copies the directory itself. */
  private copy(source: string, target: string): Promise<void> {
    const src = expandHome(source);
    let dest = expandHome(target);
    if (fs.statSync(src).isDirectory() && !source.endsWith("/")) dest = path.join(dest, path.basename(src));
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.cpSync(src, dest, { recursive: true, force: true });
    return Promise.resolve();
  }
  rsyncUp(source: string, target: string): Promise<void> { return this.copy(source, target); }
  rsyncDown(source: string, target: string): Promise<void> { return this.copy(source, target); }
}

class MyNodeProvider implements NodeProvider {
  private readonly file: string;
  private readonly clusterName: string;
  constructor(config: ProviderConfig, ctx: ProviderContext) {
    this.clusterName = ctx.clusterName;
    const prefix = typeof config.state_file_prefix === "string" ? config.state_file_prefix : "my-provider";
    this.file = path.join(ctx.stateDir, `${prefix}-${ctx.clusterName}.json`);
  }

  // One writer at a time is assumed (the launcher creates the head, the head's autoscaler the
  // workers); a real provider asks its API instead of keeping a file.
  private read(): State {
    try { return JSON.parse(fs.readFileSync(this.file, "utf8")) as State; } catch { return { nextId: 1, nodes: {} }; }
  }
  private write(s: State): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(`${this.file}.tmp`, JSON.stringify(s, null, 2));
    fs.renameSync(`${this.file}.tmp`, this.file); // readers never see half a file
  }
  private node(id: string, tags: Tags): ProviderNode {
    return { id, tags: { ...tags }, internalIp: "127.0.0.1", state: "running" };
  }

  nonTerminatedNodes(tagFilters: Tags = {}): Promise<ProviderNode[]> {
    const s = this.read();
    return Promise.resolve(Object.entries(s.nodes).filter(([, n]) => matches(n.tags, tagFilters)).map(([id, n]) => this.node(id, n.tags)));
  }

  createNodes(nodeConfig: Record<string, unknown>, tags: Tags, count: number): Promise<ProviderNode[]> {
    const s = this.read();
    const created: ProviderNode[] = [];
    for (let i = 0; i < count; i++) {
      // Ids must be unique across clusters, as a cloud's instance ids are.
      const id = `${this.clusterName}-node-${s.nextId++}`;
      s.nodes[id] = { tags: { ...tags }, nodeConfig };
      created.push(this.node(id, tags));
    }
    this.write(s);
    return Promise.resolve(created);
  }

  setNodeTags(nodeId: string, tags: Tags): Promise<void> {
    const s = this.read();
    const n = s.nodes[nodeId];
    if (n) { Object.assign(n.tags, tags); this.write(s); }
    return Promise.resolve();
  }

  terminateNodes(nodeIds: string[]): Promise<void> {
    const s = this.read();
    for (const id of nodeIds) delete s.nodes[id];
    this.write(s);
    return Promise.resolve();
  }

  commandRunner(node: ProviderNode, ctx: { log: (line: string) => void }): CommandRunner {
    return new LocalShellRunner(node.id, ctx.log);
  }
}

const provider: ProviderModule = {
  validate(config: ProviderConfig): void {
    if (config.state_file_prefix !== undefined && typeof config.state_file_prefix !== "string") {
      throw new ConfigError("provider.state_file_prefix must be a string (a file name prefix); fix it or remove it");
    }
  },
  createProvider(config: ProviderConfig, ctx: ProviderContext): Promise<NodeProvider> {
    return Promise.resolve(new MyNodeProvider(config, ctx));
  },
};

export default provider;
