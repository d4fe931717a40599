/**
 * @module launcher/providers/fake_multinode
 * Ray's testing provider: every "node" is a real Stingray raylet started on the head machine,
 * with the resources and labels of its node type, so the autoscaler's whole loop (demand → launch
 * → node joins → tasks run → idle → terminate) runs on one machine. The head node is this machine
 * itself, set up with a local command runner. Worker nodes need no setup: the provider starts
 * `stingray start --address=HEAD --block` for each (in its own temp dir, so sessions do not mix),
 * and the autoscaler's updater for such a node only marks it up-to-date.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { ProviderError } from "../../common/errors.ts";
import type { NodeProvider, ProviderContext, ProviderModule, ProviderNode, RunnerContext, CommandRunner } from "../provider.ts";
import { TAG, NODE_KIND, type Tags } from "../types.ts";
import { StateFile } from "../state_file.ts";
import { localRunner } from "../runners.ts";
import { detectNodeIp } from "../../node/resources.ts";

interface Entry { tags: Tags; state: "running" | "terminated"; pid?: number; tempDir?: string }
interface State { nodes: Record<string, Entry> }

const CLI = path.resolve(import.meta.dirname, "../../../bin/stingray.js");
const matches = (tags: Tags, filters: Tags): boolean => Object.entries(filters).every(([k, v]) => tags[k] === v);

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** `stingray start` flags for a node type's resources. */
export function resourceFlags(resources: Record<string, number> = {}, labels: Record<string, string> = {}): string[] {
  const flags: string[] = [];
  const custom: Record<string, number> = {};
  for (const [k, v] of Object.entries(resources)) {
    if (k === "CPU") flags.push(`--num-cpus=${v}`);
    else if (k === "GPU") flags.push(`--num-gpus=${v}`);
    else if (k === "memory") flags.push(`--memory=${v}`);
    else if (k === "object_store_memory") flags.push(`--object-store-memory=${v}`);
    else custom[k] = v;
  }
  if (Object.keys(custom).length) flags.push(`--resources=${JSON.stringify(custom)}`);
  if (Object.keys(labels).length) flags.push(`--labels=${JSON.stringify(labels)}`);
  return flags;
}

export class FakeMultiNodeProvider implements NodeProvider {
  private readonly ctx: ProviderContext;
  private readonly state: StateFile<State>;
  private readonly ip = detectNodeIp();

  constructor(ctx: ProviderContext) {
    this.ctx = ctx;
    this.state = new StateFile<State>(path.join(ctx.stateDir, `cluster-${ctx.clusterName}.fake.state`), () => ({ nodes: {} }));
  }

  async nonTerminatedNodes(tagFilters: Tags = {}): Promise<ProviderNode[]> {
    // A worker whose raylet process is gone (killed, crashed) is terminated.
    const dead = Object.entries(this.state.read().nodes)
      .filter(([, e]) => e.state === "running" && e.tags[TAG.nodeKind] === NODE_KIND.worker && !alive(e.pid)).map(([id]) => id);
    if (dead.length) await this.state.update((s) => { for (const id of dead) if (s.nodes[id]) s.nodes[id].state = "terminated"; });
    return Object.entries(this.state.read().nodes)
      .filter(([, e]) => e.state === "running" && matches(e.tags, tagFilters))
      .map(([id, e]) => ({ id, tags: { ...e.tags }, internalIp: this.ip, state: "running" as const }));
  }

  async createNodes(_nodeConfig: Record<string, unknown>, tags: Tags, count: number,
    extra: { resources?: Record<string, number>; labels?: Record<string, string> } = {}): Promise<ProviderNode[]> {
    const kind = tags[TAG.nodeKind];
    if (kind === NODE_KIND.head) {
      // The head is this machine; `up` sets it up with a local runner.
      return this.state.update((s) => {
        s.nodes["fake-head"] = { tags: { ...tags }, state: "running" };
        return [{ id: "fake-head", tags: { ...tags }, internalIp: this.ip, state: "running" as const }];
      });
    }
    const head = this.ctx.head;
    if (!head) throw new ProviderError("fake_multinode: worker nodes can only be created by the autoscaler on the head (it knows the GCS address and token)");
    const created: ProviderNode[] = [];
    for (let i = 0; i < count; i++) {
      const id = `fake-${randomBytes(4).toString("hex")}`;
      const tempDir = path.join(this.ctx.stateDir, "fake_nodes", id);
      fs.mkdirSync(tempDir, { recursive: true });
      const out = fs.openSync(path.join(tempDir, "start.log"), "a");
      const nodeTags: Tags = { ...tags };
      const child = spawn(process.execPath, [CLI, "start", `--address=${head.gcsAddress}`, "--block", `--temp-dir=${tempDir}`,
        `--node-ip-address=${this.ip}`, ...resourceFlags(extra.resources, extra.labels)], {
        detached: true, stdio: ["ignore", out, out],
        env: { ...process.env, STINGRAY_AUTH_TOKEN: head.token, STINGRAY_CLOUD_INSTANCE_ID: id,
          STINGRAY_NODE_TYPE_NAME: tags[TAG.userNodeType] ?? "" },
      });
      fs.closeSync(out);
      child.unref();
      if (!child.pid) throw new ProviderError(`fake_multinode: could not start a raylet for ${id}`);
      await this.state.update((s) => { s.nodes[id] = { tags: nodeTags, state: "running", pid: child.pid, tempDir }; });
      created.push({ id, tags: nodeTags, internalIp: this.ip, state: "running" });
    }
    return created;
  }

  async setNodeTags(nodeId: string, tags: Tags): Promise<void> {
    await this.state.update((s) => {
      const e = s.nodes[nodeId];
      if (!e) throw new ProviderError(`fake_multinode: unknown node ${nodeId}`);
      Object.assign(e.tags, tags);
    });
  }

  async terminateNodes(nodeIds: string[]): Promise<void> {
    const pids = await this.state.update((s) => nodeIds.flatMap((id) => {
      const e = s.nodes[id];
      if (!e || e.state === "terminated") return [];
      e.state = "terminated";
      return e.pid ? [e.pid] : [];
    }));
    // `start --block` stops its daemons on SIGTERM; SIGKILL the group if it lingers.
    for (const pid of pids) { try { process.kill(pid, "SIGTERM"); } catch { /* gone */ } }
    const deadline = Date.now() + 20_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const pid of pids) { try { process.kill(-pid, "SIGKILL"); } catch { /* gone */ } }
  }

  commandRunner(node: ProviderNode, ctx: RunnerContext): CommandRunner {
    const e = this.state.read().nodes[node.id];
    return localRunner({ ctx, nodeId: node.id, env: e?.tempDir ? { STINGRAY_TEMP_DIR: e.tempDir } : {} });
  }
}

const fakeMultiNode: ProviderModule = {
  async createProvider(_cfg, ctx) { return new FakeMultiNodeProvider(ctx); },
};
export default fakeMultiNode;
