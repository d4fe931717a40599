/**
 * An in-memory NodeProvider for autoscaler unit tests: nodes are records, creation can be made to
 * fail or to wait, and every call is recorded so tests assert what the autoscaler asked for.
 */
import type { CommandRunner, NodeProvider, ProviderNode } from "../../src/launcher/provider.ts";
import type { Tags } from "../../src/launcher/types.ts";

export interface CreateCall { nodeConfig: Record<string, unknown>; tags: Tags; count: number;
  extra: { resources?: Record<string, number>; labels?: Record<string, string> } | undefined }

const matches = (tags: Tags, filters: Tags): boolean => Object.entries(filters).every(([k, v]) => tags[k] === v);

export class FakeProvider implements NodeProvider {
  readonly nodes = new Map<string, ProviderNode>();
  readonly createCalls: CreateCall[] = [];
  readonly terminateCalls: string[][] = [];
  /** When set, createNodes rejects with it (and creates nothing). */
  createError: Error | undefined;
  /** When set, createNodes waits for this promise before creating. */
  createGate: Promise<void> | undefined;
  private next = 2;
  /** When set, created nodes take these ids, first free one first (as the local provider reuses IPs). */
  idPool: string[] | undefined;

  /** Add a node directly (the head, or a node left by an earlier monitor). */
  add(tags: Tags, id?: string, ip?: string): ProviderNode {
    const n = this.next++;
    const node: ProviderNode = { id: id ?? `i-${n}`, tags: { ...tags }, internalIp: ip ?? `10.0.0.${n}`, state: "running" };
    this.nodes.set(node.id, node);
    return node;
  }

  async nonTerminatedNodes(tagFilters: Tags = {}): Promise<ProviderNode[]> {
    return [...this.nodes.values()].filter((n) => matches(n.tags, tagFilters)).map((n) => ({ ...n, tags: { ...n.tags } }));
  }

  async createNodes(nodeConfig: Record<string, unknown>, tags: Tags, count: number,
    extra?: { resources?: Record<string, number>; labels?: Record<string, string> }): Promise<ProviderNode[]> {
    this.createCalls.push({ nodeConfig, tags: { ...tags }, count, extra });
    if (this.createGate) await this.createGate;
    if (this.createError) throw this.createError;
    const out: ProviderNode[] = [];
    for (let i = 0; i < count; i++) {
      const id = this.idPool?.find((x) => !this.nodes.has(x));
      if (this.idPool && !id) throw new Error("no free id in the pool");
      out.push(this.add(tags, id));
    }
    return out;
  }

  async setNodeTags(nodeId: string, tags: Tags): Promise<void> {
    const n = this.nodes.get(nodeId);
    if (n) n.tags = { ...n.tags, ...tags };
  }

  async terminateNodes(nodeIds: string[]): Promise<void> {
    this.terminateCalls.push([...nodeIds]);
    for (const id of nodeIds) this.nodes.delete(id);
  }

  commandRunner(): CommandRunner {
    throw new Error("FakeProvider nodes run no commands");
  }

  /** Terminated node ids, in order. */
  get terminated(): string[] { return this.terminateCalls.flat(); }
  /** Nodes created per node type (sum of create calls that succeeded or not). */
  requested(type: string, tag: string): number {
    return this.createCalls.filter((c) => c.tags[tag] === type).reduce((s, c) => s + c.count, 0);
  }
}
