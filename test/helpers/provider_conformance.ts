/**
 * @module test/helpers/provider_conformance
 * The tests every node provider must pass (local SSH hosts, fake multi-node, AWS, GCP,
 * Kubernetes, a user's external module), registered with node:test. A provider test file calls
 * `providerConformance(name, setup)` once; `setup` builds a provider bound to the cluster name it
 * is given. It is called twice (two cluster names) against the same backend, so that isolation
 * between clusters is checked: a stub-backed test starts its stub once and only creates the
 * provider in `setup`.
 *
 * The suite only uses the NodeProvider contract (launcher/provider.ts) and Stingray's tag keys,
 * with values that are not valid label values everywhere (upper case, dots, underscores), so a
 * provider that stores tags in a restricted label syntax must encode them reversibly.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { randomBytes } from "node:crypto";
import type { NodeProvider, ProviderNode, RunnerContext } from "../../src/launcher/provider.ts";
import { TAG, NODE_KIND, NODE_STATUS, type Tags } from "../../src/launcher/types.ts";

export interface ConformanceSetup {
  provider: NodeProvider;
  /** The node_config that createNodes is called with (a small instance, a pod spec, ...). */
  nodeConfig: Record<string, unknown>;
  teardown: () => Promise<void>;
}

export interface ConformanceOptions {
  /** The most nodes one cluster may hold at once (a fixed pool of SSH hosts). Default 4; at least 2. */
  maxNodes?: number;
  /** Nodes get an external IP once running (clouds with public IPs). Default false. */
  supportsExternalIp?: boolean;
  /** Create nodes in a second cluster to check that clusters do not see each other. Default true. */
  clusterIsolation?: boolean;
  /** Bound on each wait for the provider to converge (running, IPs, gone). Default 30 s. */
  waitMs?: number;
}

/** Poll `probe` until it returns a value other than undefined, or fail after `ms` with `what`. */
export async function eventually<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let delay = 20;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new assert.AssertionError({ message: `timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ""}` });
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
}

function hasTags(node: ProviderNode, tags: Tags): boolean {
  return Object.entries(tags).every(([k, v]) => node.tags[k] === v);
}

function ids(nodes: ProviderNode[]): string[] {
  return nodes.map((n) => n.id).sort();
}

export function providerConformance(
  name: string,
  setup: (args: { clusterName: string }) => Promise<ConformanceSetup>,
  opts: ConformanceOptions = {},
): void {
  const maxNodes = opts.maxNodes ?? 4;
  const waitMs = opts.waitMs ?? 30_000;
  const isolation = opts.clusterIsolation ?? true;
  const suffix = randomBytes(3).toString("hex");
  // Upper case, dots and underscores: legal in Ray's node type names, not in GCP labels.
  const workerType = "Worker.Small_1";
  const headType = "head.default";

  describe(`provider conformance: ${name}`, () => {
    let a: ConformanceSetup;
    let b: ConformanceSetup | undefined;
    const clusterA = `conf-a-${suffix}`;
    const clusterB = `conf-b-${suffix}`;
    const baseTags = (cluster: string, kind: string, type: string): Tags => ({
      [TAG.clusterName]: cluster,
      [TAG.nodeKind]: kind,
      [TAG.userNodeType]: type,
      [TAG.nodeStatus]: NODE_STATUS.uninitialized,
      [TAG.launchConfig]: "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    });
    let workers: ProviderNode[] = [];
    let head: ProviderNode | undefined;

    before(async () => {
      assert.ok(maxNodes >= 2, "the conformance suite needs room for at least 2 nodes");
      a = await setup({ clusterName: clusterA });
      if (isolation) b = await setup({ clusterName: clusterB });
    });

    after(async () => {
      // Leave nothing behind even when a test failed half way.
      for (const s of [a, b]) {
        if (!s) continue;
        try {
          const left = await s.provider.nonTerminatedNodes({});
          if (left.length) await s.provider.terminateNodes(left.map((n) => n.id));
        } finally {
          await s.provider.close?.();
          await s.teardown();
        }
      }
    });

    test("createNodes returns `count` nodes, and nonTerminatedNodes lists them with their tags", async () => {
      const tags = baseTags(clusterA, NODE_KIND.worker, workerType);
      workers = await a.provider.createNodes(a.nodeConfig, tags, 2);
      assert.equal(workers.length, 2);
      assert.equal(new Set(workers.map((n) => n.id)).size, 2, "node ids are distinct");
      for (const n of workers) {
        assert.ok(n.id, "a node has an id");
        assert.ok(n.state === "pending" || n.state === "running", `state is pending or running, not ${n.state}`);
        assert.ok(hasTags(n, tags), `created node carries its tags: ${JSON.stringify(n.tags)}`);
      }
      const listed = await a.provider.nonTerminatedNodes({});
      for (const w of workers) {
        const l = listed.find((n) => n.id === w.id);
        assert.ok(l, `node ${w.id} is listed`);
        assert.ok(hasTags(l, tags), `listed node carries its tags: ${JSON.stringify(l.tags)}`);
      }
    });

    test("nonTerminatedNodes keeps only nodes having every filter tag, and only this cluster's", async () => {
      if (maxNodes >= 3) {
        [head] = await a.provider.createNodes(a.nodeConfig, baseTags(clusterA, NODE_KIND.head, headType), 1);
        assert.ok(head);
      }
      const byKind = await a.provider.nonTerminatedNodes({ [TAG.nodeKind]: NODE_KIND.worker });
      assert.deepEqual(ids(byKind), ids(workers));
      const byTwo = await a.provider.nonTerminatedNodes({ [TAG.nodeKind]: NODE_KIND.worker, [TAG.userNodeType]: workerType });
      assert.deepEqual(ids(byTwo), ids(workers));
      const none = await a.provider.nonTerminatedNodes({ [TAG.nodeKind]: NODE_KIND.worker, [TAG.userNodeType]: "no-such-type" });
      assert.deepEqual(none, []);
      if (head) {
        const heads = await a.provider.nonTerminatedNodes({ [TAG.nodeKind]: NODE_KIND.head });
        assert.deepEqual(ids(heads), [head.id]);
        assert.equal(heads[0]!.tags[TAG.userNodeType], headType);
      }
      assert.deepEqual(ids(await a.provider.nonTerminatedNodes()), ids([...workers, ...(head ? [head] : [])]));

      if (b) {
        const [other] = await b.provider.createNodes(b.nodeConfig, baseTags(clusterB, NODE_KIND.worker, workerType), 1);
        assert.ok(other);
        const inA = await a.provider.nonTerminatedNodes({ [TAG.nodeKind]: NODE_KIND.worker });
        assert.ok(!inA.some((n) => n.id === other.id), "another cluster's node is not listed");
        assert.ok(inA.every((n) => n.tags[TAG.clusterName] === clusterA));
        const inB = await b.provider.nonTerminatedNodes({});
        assert.deepEqual(ids(inB), [other.id]);
        assert.equal(inB[0]!.tags[TAG.clusterName], clusterB);
        await b.provider.terminateNodes([other.id]);
        await eventually("the other cluster's node to go", waitMs, async () =>
          (await b!.provider.nonTerminatedNodes({})).length === 0 ? true : undefined);
      }
    });

    test("setNodeTags merges into the node's tags and leaves other nodes alone", async () => {
      const [w0, w1] = workers;
      assert.ok(w0 && w1);
      await a.provider.setNodeTags(w0.id, { [TAG.nodeStatus]: NODE_STATUS.upToDate, [TAG.runtimeConfig]: "Runtime.Hash_42" });
      const listed = await a.provider.nonTerminatedNodes({});
      const n0 = listed.find((n) => n.id === w0.id);
      const n1 = listed.find((n) => n.id === w1.id);
      assert.ok(n0 && n1);
      assert.equal(n0.tags[TAG.nodeStatus], NODE_STATUS.upToDate);
      assert.equal(n0.tags[TAG.runtimeConfig], "Runtime.Hash_42");
      assert.equal(n0.tags[TAG.userNodeType], workerType, "tags not named are kept");
      assert.equal(n0.tags[TAG.clusterName], clusterA);
      assert.equal(n1.tags[TAG.nodeStatus], NODE_STATUS.uninitialized, "another node's tags are untouched");
      assert.equal(n1.tags[TAG.runtimeConfig], undefined);
      const byStatus = await a.provider.nonTerminatedNodes({ [TAG.nodeStatus]: NODE_STATUS.upToDate });
      assert.deepEqual(ids(byStatus), [w0.id]);
      // A second merge over the first one.
      await a.provider.setNodeTags(w0.id, { [TAG.nodeStatus]: NODE_STATUS.settingUp });
      const again = (await a.provider.nonTerminatedNodes({})).find((n) => n.id === w0.id);
      assert.equal(again?.tags[TAG.nodeStatus], NODE_STATUS.settingUp);
      assert.equal(again?.tags[TAG.runtimeConfig], "Runtime.Hash_42");
    });

    test("nodes become running with an internal IP (and an external one where supported)", async () => {
      const want = ids(workers);
      const ready = await eventually("nodes to run with IPs", waitMs, async () => {
        const nodes = (await a.provider.nonTerminatedNodes({ [TAG.nodeKind]: NODE_KIND.worker })).filter((n) => want.includes(n.id));
        const ok = nodes.length === want.length && nodes.every((n) =>
          n.state === "running" && n.internalIp && (!opts.supportsExternalIp || n.externalIp));
        return ok ? nodes : undefined;
      });
      for (const n of ready) {
        assert.ok(net.isIP(n.internalIp!), `internal IP ${n.internalIp} is an IP address`);
        if (opts.supportsExternalIp) assert.ok(net.isIP(n.externalIp!), `external IP ${n.externalIp} is an IP address`);
      }
      workers = ready;
    });

    test("commandRunner returns a runner with a description", () => {
      const node = workers[0];
      assert.ok(node);
      for (const useInternalIp of [true, opts.supportsExternalIp ?? false]) {
        const ctx: RunnerContext = { auth: { ssh_user: "ubuntu" }, clusterName: clusterA, log: () => {}, useInternalIp };
        const runner = a.provider.commandRunner(node, ctx);
        assert.equal(typeof runner.description, "string");
        assert.ok(runner.description.length > 0);
        assert.equal(typeof runner.run, "function");
        assert.equal(typeof runner.rsyncUp, "function");
        assert.equal(typeof runner.rsyncDown, "function");
      }
    });

    test("terminateNodes removes nodes from nonTerminatedNodes and is idempotent", async () => {
      const [w0, ...rest] = workers;
      assert.ok(w0);
      await a.provider.terminateNodes([w0.id]);
      await eventually(`${w0.id} to leave nonTerminatedNodes`, waitMs, async () =>
        (await a.provider.nonTerminatedNodes({})).some((n) => n.id === w0.id) ? undefined : true);
      const still = await a.provider.nonTerminatedNodes({});
      for (const n of rest) assert.ok(still.some((s) => s.id === n.id), `${n.id} was not terminated`);
      // Again, together with an id the provider never made: neither is an error.
      await a.provider.terminateNodes([w0.id, "stingray-conformance-unknown-node"]);
      await a.provider.terminateNodes([]);
      const all = await a.provider.nonTerminatedNodes({});
      await a.provider.terminateNodes(all.map((n) => n.id));
      await eventually("every node to leave nonTerminatedNodes", waitMs, async () =>
        (await a.provider.nonTerminatedNodes({})).length === 0 ? true : undefined);
    });
  });
}
