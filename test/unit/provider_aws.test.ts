// The AWS provider against a stub of the EC2 Query API (test/helpers/stub_clouds/ec2.ts), with the
// real @aws-sdk/client-ec2: the provider conformance suite, then what is AWS-specific (spot and
// tag specifications sent as given, stopped-node reuse, subnet fallback, bootstrap).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import aws, { mergeTagSpecifications } from "../../src/launcher/providers/aws.ts";
import { ConfigError } from "../../src/common/errors.ts";
import type { NodeProvider, ProviderContext } from "../../src/launcher/provider.ts";
import { TAG, type ClusterConfig, type ProviderConfig } from "../../src/launcher/types.ts";
import { startEc2Stub } from "../helpers/stub_clouds/ec2.ts";
import { providerConformance, eventually } from "../helpers/provider_conformance.ts";

// Credentials for the SDK's default chain (the env provider comes first); no instance metadata.
process.env.AWS_ACCESS_KEY_ID = "AKIDSTUBSTUBSTUB";
process.env.AWS_SECRET_ACCESS_KEY = "stub-secret";
process.env.AWS_EC2_METADATA_DISABLED = "true";
delete process.env.AWS_PROFILE;

const stub = await startEc2Stub();
after(() => stub.close());

const ctx = (clusterName: string): ProviderContext => ({ clusterName, onHead: false, stateDir: os.tmpdir(), log: () => {} });
const providerConfig = (extra: Partial<ProviderConfig> = {}): ProviderConfig =>
  ({ type: "aws", region: "us-west-2", endpoint_url: stub.url, ...extra });
const nodeConfig = { InstanceType: "m5.large", ImageId: "ami-0123456789abcdef0", SubnetIds: ["subnet-a"] };

for (const cache of [false, true]) {
  providerConformance(`aws (EC2 stub, cache_stopped_nodes: ${cache})`, async ({ clusterName }) => ({
    provider: await aws.createProvider(providerConfig({ cache_stopped_nodes: cache }), ctx(clusterName)),
    nodeConfig,
    teardown: async () => {},
  }), { supportsExternalIp: true, waitMs: 5000 });
}

function lastRun(): Record<string, unknown> {
  const r = stub.requests.filter((q) => q.action === "RunInstances").at(-1);
  assert.ok(r, "RunInstances was called");
  return r.params;
}

async function withProvider(cluster: string, extra: Partial<ProviderConfig>, fn: (p: NodeProvider) => Promise<void>): Promise<void> {
  const p = await aws.createProvider(providerConfig(extra), ctx(cluster));
  try { await fn(p); } finally { await p.close?.(); }
}

test("spot market options, block devices and user TagSpecifications are sent as given", async () => {
  await withProvider("spot-cluster", {}, async (p) => {
    const nodes = await p.createNodes({
      ...nodeConfig,
      SubnetIds: ["subnet-a", "subnet-b"],
      KeyName: "my-key",
      SecurityGroupIds: ["sg-1", "sg-2"],
      IamInstanceProfile: { Name: "stingray-head" },
      BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { VolumeSize: 100 } }],
      InstanceMarketOptions: { MarketType: "spot", SpotOptions: { MaxPrice: "0.25" } },
      TagSpecifications: [
        { ResourceType: "instance", Tags: [{ Key: "team", Value: "ml" }, { Key: TAG.clusterName, Value: "not-this-one" }] },
        { ResourceType: "volume", Tags: [{ Key: "backup", Value: "no" }] },
      ],
    }, { [TAG.clusterName]: "spot-cluster", [TAG.nodeKind]: "worker", [TAG.nodeName]: "stingray-spot-worker", [TAG.launchConfig]: "abc" }, 2);
    assert.equal(nodes.length, 2);
    const run = lastRun();
    assert.equal(run.MinCount, "1");
    assert.equal(run.MaxCount, "2");
    assert.equal(run.SubnetId, "subnet-a", "the first of SubnetIds");
    assert.equal(run.SubnetIds, undefined, "SubnetIds is Ray's key, not sent to EC2");
    assert.deepEqual(run.InstanceMarketOptions, { MarketType: "spot", SpotOptions: { MaxPrice: "0.25" } });
    assert.deepEqual(run.BlockDeviceMapping, [{ DeviceName: "/dev/sda1", Ebs: { VolumeSize: "100" } }]);
    assert.deepEqual(run.SecurityGroupId, ["sg-1", "sg-2"]);
    assert.deepEqual(run.IamInstanceProfile, { Name: "stingray-head" });
    assert.equal(run.KeyName, "my-key");
    const specs = run.TagSpecification as Array<{ ResourceType: string; Tag: Array<{ Key: string; Value: string }> }>;
    assert.equal(specs.length, 2);
    const inst = Object.fromEntries(specs[0]!.Tag.map((t) => [t.Key, t.Value]));
    assert.equal(specs[0]!.ResourceType, "instance");
    assert.equal(inst.team, "ml", "user instance tags are merged in");
    assert.equal(inst[TAG.clusterName], "spot-cluster", "the cluster tag is the provider's");
    assert.equal(inst.Name, "stingray-spot-worker", "Name carries the node name");
    assert.equal(inst[TAG.nodeName], "stingray-spot-worker");
    assert.deepEqual(specs[1], { ResourceType: "volume", Tag: [{ Key: "backup", Value: "no" }] });

    // Spot instances cannot be stopped: with cache_stopped_nodes (the default) they are terminated.
    const before = stub.actions().length;
    await p.terminateNodes(nodes.map((n) => n.id));
    const calls = stub.actions().slice(before);
    assert.ok(calls.includes("TerminateInstances"));
    assert.ok(!calls.includes("StopInstances"));
  });
});

test("cache_stopped_nodes stops instead of terminating, and createNodes restarts the stopped node", async () => {
  await withProvider("cache-cluster", { cache_stopped_nodes: true }, async (p) => {
    const tags = { [TAG.clusterName]: "cache-cluster", [TAG.nodeKind]: "worker", [TAG.userNodeType]: "cpu", [TAG.launchConfig]: "hash-1" };
    const [n] = await p.createNodes(nodeConfig, tags, 1);
    assert.ok(n);
    let before = stub.actions().length;
    await p.terminateNodes([n.id]);
    let calls = stub.actions().slice(before);
    assert.ok(calls.includes("StopInstances") && !calls.includes("TerminateInstances"), calls.join(","));
    assert.deepEqual(await p.nonTerminatedNodes({}), []);
    await eventually("the instance to stop", 5000, async () => (stub.instances.get(n.id)?.state === "stopped" ? true : undefined));

    // Another launch config does not reuse it.
    before = stub.actions().length;
    const [fresh] = await p.createNodes(nodeConfig, { ...tags, [TAG.launchConfig]: "hash-2" }, 1);
    assert.ok(fresh && fresh.id !== n.id);
    assert.ok(stub.actions().slice(before).includes("RunInstances"));

    before = stub.actions().length;
    const [again, second] = await p.createNodes(nodeConfig, { ...tags, [TAG.nodeStatus]: "uninitialized" }, 2);
    calls = stub.actions().slice(before);
    assert.equal(again?.id, n.id, "the stopped node comes back");
    assert.ok(second && second.id !== n.id, "the rest are launched");
    assert.ok(calls.includes("StartInstances"));
    const start = stub.requests.filter((r) => r.action === "StartInstances").at(-1)!;
    assert.deepEqual(start.params.InstanceId, [n.id]);
    assert.equal(lastRun().MaxCount, "1");
    const listed = await p.nonTerminatedNodes({ [TAG.launchConfig]: "hash-1" });
    assert.deepEqual(listed.map((x) => x.id).sort(), [n.id, second.id].sort());
    assert.equal(listed.find((x) => x.id === n.id)?.tags[TAG.nodeStatus], "uninitialized");

    // Without caching, terminate means terminate.
    await withProvider("cache-cluster", { cache_stopped_nodes: false }, async (q) => {
      before = stub.actions().length;
      await q.terminateNodes([n.id, second.id, fresh.id]);
      calls = stub.actions().slice(before);
      assert.ok(calls.includes("TerminateInstances") && !calls.includes("StopInstances"));
    });
  });
});

test("a launch failing in one subnet is retried in the next", async () => {
  await withProvider("subnet-cluster", { cache_stopped_nodes: false }, async (p) => {
    stub.failRunInstances.push("InsufficientInstanceCapacity");
    const before = stub.requests.length;
    const nodes = await p.createNodes({ ...nodeConfig, SubnetIds: ["subnet-a", "subnet-b"] }, { [TAG.nodeKind]: "worker" }, 1);
    assert.equal(nodes.length, 1);
    const runs = stub.requests.slice(before).filter((r) => r.action === "RunInstances");
    assert.deepEqual(runs.map((r) => r.params.SubnetId), ["subnet-a", "subnet-b"]);
    stub.failRunInstances.push("InsufficientInstanceCapacity");
    await assert.rejects(p.createNodes({ ...nodeConfig, SubnetIds: ["subnet-a"] }, { [TAG.nodeKind]: "worker" }, 1),
      /RunInstances failed: InsufficientInstanceCapacity/);
    await p.terminateNodes(nodes.map((n) => n.id));
  });
});

test("terminateNodes never touches another cluster's instance", async () => {
  let other = "";
  await withProvider("owner-cluster", { cache_stopped_nodes: false }, async (p) => {
    [other] = (await p.createNodes(nodeConfig, { [TAG.nodeKind]: "worker" }, 1)).map((n) => n.id) as [string];
  });
  await withProvider("intruder-cluster", { cache_stopped_nodes: false }, async (p) => {
    await p.terminateNodes([other]);
  });
  assert.notEqual(stub.instances.get(other)?.state, "shutting-down");
  assert.notEqual(stub.instances.get(other)?.state, "terminated");
});

function clusterConfig(extra: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    cluster_name: "boot", max_workers: 2, upscaling_speed: 1, idle_timeout_minutes: 5,
    provider: providerConfig({ availability_zone: "us-west-2a,us-west-2b" }),
    auth: { ssh_user: "ubuntu" },
    available_node_types: {
      head: { node_config: { InstanceType: "m5.large", ImageId: "ami-1" }, resources: {}, labels: {}, min_workers: 0, max_workers: 0 },
      worker: { node_config: { InstanceType: "m5.large", ImageId: "ami-1" }, resources: {}, labels: {}, min_workers: 0, max_workers: 2 },
    },
    head_node_type: "head", file_mounts: {}, cluster_synced_files: [], file_mounts_sync_continuously: false,
    rsync_exclude: [], rsync_filter: [], initialization_commands: [], setup_commands: [], head_setup_commands: [],
    worker_setup_commands: [], head_start_ray_commands: [], worker_start_ray_commands: [],
    ...extra,
  };
}

test("bootstrapConfig creates a key pair, picks subnets in the configured zones and makes a security group", async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-aws-home-"));
  const oldHome = process.env.HOME;
  process.env.HOME = home;
  try {
    const before = stub.requests.length;
    const dry = await aws.bootstrapConfig!(clusterConfig(), { dryRun: true });
    assert.equal(stub.requests.length, before, "a dry run calls no EC2 API");
    assert.equal(dry.available_node_types.head!.node_config.KeyName, "stingray-autoscaler_us-west-2");

    const cfg = await aws.bootstrapConfig!(clusterConfig(), { dryRun: false });
    const keyFile = path.join(home, ".ssh", "stingray-autoscaler_us-west-2.pem");
    assert.equal(cfg.auth.ssh_private_key, keyFile);
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(keyFile, "utf8"), stub.keyPairs.get("stingray-autoscaler_us-west-2"));
    for (const t of Object.values(cfg.available_node_types)) {
      assert.equal(t.node_config.KeyName, "stingray-autoscaler_us-west-2");
      assert.deepEqual(t.node_config.SubnetIds, ["subnet-a", "subnet-b"], "public subnets, in availability_zone order");
      assert.equal((t.node_config.SecurityGroupIds as string[]).length, 1);
    }
    const [group] = [...stub.securityGroups.values()];
    assert.equal(group?.GroupName, "stingray-autoscaler-boot");
    assert.equal(group?.VpcId, "vpc-1");
    assert.equal(group?.ingress.length, 2);

    // A second bootstrap reuses the key and the group.
    const mark = stub.requests.length;
    const again = await aws.bootstrapConfig!(clusterConfig(), { dryRun: false });
    const actions = stub.requests.slice(mark).map((r) => r.action);
    assert.ok(!actions.includes("CreateKeyPair") && !actions.includes("CreateSecurityGroup"), actions.join(","));
    assert.deepEqual(again.available_node_types.worker!.node_config.SecurityGroupIds, cfg.available_node_types.worker!.node_config.SecurityGroupIds);

    // A key pair that exists in EC2 without its private key here is someone else's: use the next name.
    fs.unlinkSync(keyFile);
    const third = await aws.bootstrapConfig!(clusterConfig(), { dryRun: false });
    assert.equal(third.available_node_types.head!.node_config.KeyName, "stingray-autoscaler_1_us-west-2");
  } finally {
    process.env.HOME = oldHome;
    fs.rmSync(home, { recursive: true, force: true });
  }
});

test("bootstrapConfig with the user's key requires KeyName", async () => {
  await assert.rejects(aws.bootstrapConfig!(clusterConfig({ auth: { ssh_user: "ubuntu", ssh_private_key: "~/.ssh/mine.pem" } }), { dryRun: true }),
    (e: Error) => e instanceof ConfigError && /available_node_types\.head\.node_config\.KeyName/.test(e.message));
});

test("validate names the missing key", () => {
  assert.throws(() => aws.validate!({ type: "aws" }, clusterConfig()), (e: Error) => e instanceof ConfigError && /provider\.region/.test(e.message));
  const noImage = clusterConfig();
  delete noImage.available_node_types.worker!.node_config.ImageId;
  assert.throws(() => aws.validate!(noImage.provider, noImage),
    (e: Error) => e instanceof ConfigError && /available_node_types\.worker\.node_config\.ImageId/.test(e.message));
  aws.validate!(clusterConfig().provider, clusterConfig());
});

test("mergeTagSpecifications keeps Stingray's keys and appends other resource types", () => {
  const merged = mergeTagSpecifications([{ Key: TAG.clusterName, Value: "c" }, { Key: "Name", Value: "n" }], [
    { ResourceType: "instance", Tags: [{ Key: "Name", Value: "custom" }, { Key: TAG.clusterName, Value: "x" }] },
    { ResourceType: "network-interface", Tags: [{ Key: "a", Value: "b" }] },
  ]);
  assert.deepEqual(merged, [
    { ResourceType: "instance", Tags: [{ Key: TAG.clusterName, Value: "c" }, { Key: "Name", Value: "custom" }] },
    { ResourceType: "network-interface", Tags: [{ Key: "a", Value: "b" }] },
  ]);
});
