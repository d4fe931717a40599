/**
 * @module launcher/providers/aws
 * The AWS node provider: EC2 instances through the official `@aws-sdk/client-ec2` (v3), loaded
 * only when a cluster uses `provider.type: aws`. Behaviour follows Ray's AWS provider:
 * `node_config` is passed to RunInstances as given (Ray's boto3 names are the SDK's), the cluster
 * is found by its cluster-name tag, and with `cache_stopped_nodes` (on by default, as in Ray)
 * terminated nodes are stopped and later restarted instead of launched anew, which is faster and
 * keeps their disks. Commands run over SSH.
 *
 * Tags are EC2 tags, stored key for key, plus the EC2 console's `Name` tag (the node name).
 * Credentials come from the SDK's default chain (env, shared config, SSO, instance role), or from
 * `provider.aws_credentials` as in Ray. `provider.endpoint_url` (or `AWS_ENDPOINT_URL_EC2`)
 * points the client elsewhere: a VPC endpoint, LocalStack, the tests' stub.
 */
import { optionalSdk, str } from "./sdk.ts";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type * as Ec2 from "@aws-sdk/client-ec2";
import { ConfigError, ProviderError } from "../../common/errors.ts";
import type { CommandRunner, NodeProvider, ProviderContext, ProviderModule, ProviderNode, RunnerContext } from "../provider.ts";
import { sshRunner } from "../runners.ts";
import { TAG, type ClusterConfig, type ProviderConfig, type Tags } from "../types.ts";

type Sdk = typeof import("@aws-sdk/client-ec2");

const KEY_PREFIX = "stingray-autoscaler";
/** How many `stingray-autoscaler_<i>_<region>` key pair names bootstrap tries (Ray tries 30). */
const MAX_KEY_PAIRS = 30;
/** EC2 accepts at most 1000 ids per Stop/TerminateInstances call. */
const MAX_IDS_PER_CALL = 1000;

function loadSdk(): Promise<Sdk> {
  return optionalSdk("aws", "@aws-sdk/client-ec2", () => import("@aws-sdk/client-ec2"));
}

function errText(e: unknown): string {
  const err = e as { name?: string; Code?: string; message?: string };
  const code = err.Code ?? err.name;
  return code && code !== "Error" ? `${code}: ${err.message ?? String(e)}` : (err.message ?? String(e));
}

function errCode(e: unknown): string {
  const err = e as { name?: string; Code?: string };
  return err.Code ?? err.name ?? "";
}

/** Run one EC2 call; failures become a ProviderError naming the call. */
async function ec2<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw new ProviderError(`AWS EC2 ${what} failed: ${errText(e)}`, { cause: e });
  }
}

function makeClient(sdk: Sdk, provider: ProviderConfig): Ec2.EC2Client {
  const endpoint = str(provider.endpoint_url) ?? str(process.env.AWS_ENDPOINT_URL_EC2);
  const c = provider.aws_credentials as Record<string, unknown> | undefined;
  const accessKeyId = str(c?.aws_access_key_id);
  const secretAccessKey = str(c?.aws_secret_access_key);
  return new sdk.EC2Client({
    region: provider.region!,
    maxAttempts: 5,
    ...(endpoint ? { endpoint } : {}),
    ...(accessKeyId && secretAccessKey
      ? { credentials: { accessKeyId, secretAccessKey, sessionToken: str(c?.aws_session_token) } }
      : {}),
  });
}

function toAwsTags(tags: Tags): Ec2.Tag[] {
  const out: Ec2.Tag[] = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  const name = tags[TAG.nodeName];
  if (name !== undefined) out.push({ Key: "Name", Value: name });
  return out;
}

function fromAwsTags(tags: Ec2.Tag[] | undefined): Tags {
  const out: Tags = {};
  for (const t of tags ?? []) if (t.Key !== undefined && t.Key !== "Name") out[t.Key] = t.Value ?? "";
  const name = tags?.find((t) => t.Key === "Name")?.Value;
  if (name !== undefined && out[TAG.nodeName] === undefined) out[TAG.nodeName] = name;
  return out;
}

/**
 * Merge the user's TagSpecifications into ours, as Ray does: instance tags the user gives are
 * added (and override ours, except Stingray's own keys, which the provider relies on to find its
 * nodes); specifications for other resource types (volumes, network interfaces) pass as given.
 */
export function mergeTagSpecifications(ours: Ec2.Tag[], user: unknown): Ec2.TagSpecification[] {
  const instanceTags = new Map(ours.map((t) => [t.Key!, t.Value ?? ""]));
  const specs: Ec2.TagSpecification[] = [];
  for (const spec of Array.isArray(user) ? user as Ec2.TagSpecification[] : []) {
    if (spec.ResourceType === "instance") {
      for (const t of spec.Tags ?? []) {
        if (t.Key === undefined || (t.Key.startsWith("stingray-") && instanceTags.has(t.Key))) continue;
        instanceTags.set(t.Key, t.Value ?? "");
      }
    } else {
      specs.push(spec);
    }
  }
  return [{ ResourceType: "instance", Tags: [...instanceTags].map(([Key, Value]) => ({ Key, Value })) }, ...specs];
}

class AwsNodeProvider implements NodeProvider {
  private readonly sdk: Sdk;
  private readonly client: Ec2.EC2Client;
  private readonly clusterName: string;
  private readonly cacheStopped: boolean;
  private readonly log: (line: string) => void;
  /**
   * Tags we wrote that DescribeInstances may not show yet: EC2 is eventually consistent, so a
   * read right after CreateTags can miss them (Ray keeps the same cache). Cleared per key once a
   * describe shows the value.
   */
  private readonly pendingTags = new Map<string, Tags>();

  constructor(sdk: Sdk, providerConfig: ProviderConfig, ctx: ProviderContext) {
    this.sdk = sdk;
    this.client = makeClient(sdk, providerConfig);
    this.clusterName = ctx.clusterName;
    this.cacheStopped = providerConfig.cache_stopped_nodes !== false;
    this.log = ctx.log;
  }

  private async describe(filters: Ec2.Filter[]): Promise<Ec2.Instance[]> {
    const out: Ec2.Instance[] = [];
    let NextToken: string | undefined;
    do {
      const page = await ec2("DescribeInstances", () => this.client.send(new this.sdk.DescribeInstancesCommand({ Filters: filters, NextToken })));
      for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  }

  private clusterFilter(states: string[]): Ec2.Filter[] {
    return [
      { Name: "instance-state-name", Values: states },
      { Name: `tag:${TAG.clusterName}`, Values: [this.clusterName] },
    ];
  }

  private toNode(i: Ec2.Instance): ProviderNode {
    const tags = { ...fromAwsTags(i.Tags), ...this.pendingTags.get(i.InstanceId!) };
    return {
      id: i.InstanceId!,
      tags,
      internalIp: i.PrivateIpAddress || undefined,
      externalIp: i.PublicIpAddress || undefined,
      state: i.State?.Name === "running" ? "running" : "pending",
    };
  }

  async nonTerminatedNodes(tagFilters: Tags = {}): Promise<ProviderNode[]> {
    // Only the cluster name and state are filtered by EC2; the other tags are matched here, over
    // the tags we just wrote too, which a server-side tag filter could not see yet.
    const instances = await this.describe(this.clusterFilter(["pending", "running"]));
    const seen = new Set<string>();
    for (const i of instances) {
      const id = i.InstanceId!;
      seen.add(id);
      const pending = this.pendingTags.get(id);
      if (!pending) continue;
      const actual = fromAwsTags(i.Tags);
      for (const [k, v] of Object.entries(pending)) if (actual[k] === v) delete pending[k];
      if (!Object.keys(pending).length) this.pendingTags.delete(id);
    }
    for (const id of this.pendingTags.keys()) if (!seen.has(id)) this.pendingTags.delete(id);
    return instances.map((i) => this.toNode(i))
      .filter((n) => Object.entries(tagFilters).every(([k, v]) => n.tags[k] === v));
  }

  async createNodes(nodeConfig: Record<string, unknown>, tags: Tags, count: number): Promise<ProviderNode[]> {
    const allTags: Tags = { ...tags, [TAG.clusterName]: this.clusterName };
    const out: ProviderNode[] = [];
    if (this.cacheStopped && count > 0) {
      const reused = await this.restartStopped(allTags, count);
      out.push(...reused);
      count -= reused.length;
    }
    if (count > 0) out.push(...await this.launch(nodeConfig, allTags, count));
    return out;
  }

  /** Start stopped nodes of this cluster made from the same launch config and node type (Ray's reuse). */
  private async restartStopped(tags: Tags, count: number): Promise<ProviderNode[]> {
    const filters = this.clusterFilter(["stopped"]);
    for (const key of [TAG.nodeKind, TAG.launchConfig, TAG.userNodeType]) {
      const v = tags[key];
      if (v !== undefined) filters.push({ Name: `tag:${key}`, Values: [v] });
    }
    // Without a launch-config hash, a stopped node may have been made from another node_config.
    if (tags[TAG.launchConfig] === undefined) return [];
    const stopped = (await this.describe(filters)).slice(0, count);
    if (!stopped.length) return [];
    const ids = stopped.map((i) => i.InstanceId!);
    this.log(`Reusing stopped nodes ${ids.join(", ")} (set cache_stopped_nodes: false under provider to terminate nodes instead)`);
    await ec2("StartInstances", () => this.client.send(new this.sdk.StartInstancesCommand({ InstanceIds: ids })));
    await this.writeTags(ids, tags);
    return stopped.map((i) => ({ ...this.toNode(i), state: "pending" as const, externalIp: undefined }));
  }

  private async launch(nodeConfig: Record<string, unknown>, tags: Tags, count: number): Promise<ProviderNode[]> {
    const conf: Record<string, unknown> = structuredClone(nodeConfig);
    // SubnetIds is Ray's key, not EC2's: RunInstances takes one SubnetId, so try them in order.
    const subnetIds = Array.isArray(conf.SubnetIds) ? conf.SubnetIds.map(String) : str(conf.SubnetId) ? [String(conf.SubnetId)] : [];
    delete conf.SubnetIds;
    const name = tags[TAG.nodeName] ?? `stingray-${this.clusterName}-${tags[TAG.nodeKind] ?? "node"}`;
    conf.TagSpecifications = mergeTagSpecifications(toAwsTags({ ...tags, [TAG.nodeName]: name }), conf.TagSpecifications);
    conf.MinCount = 1;
    conf.MaxCount = count;
    if (conf.NetworkInterfaces) {
      // Security groups then belong to the interfaces; EC2 rejects both at once.
      delete conf.SecurityGroupIds;
      delete conf.SubnetId;
    }
    const attempts = conf.NetworkInterfaces ? 1 : Math.max(1, subnetIds.length);
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (!conf.NetworkInterfaces && subnetIds.length) conf.SubnetId = subnetIds[attempt];
      try {
        const res = await this.client.send(new this.sdk.RunInstancesCommand(conf as unknown as Ec2.RunInstancesCommandInput));
        const made = res.Instances ?? [];
        this.log(`Launched ${made.length} instance(s) ${made.map((i) => i.InstanceId).join(", ")}${conf.SubnetId ? ` in ${String(conf.SubnetId)}` : ""}`);
        return made.map((i) => ({ ...this.toNode(i), tags: { ...fromAwsTags(i.Tags), ...tags, [TAG.nodeName]: name } }));
      } catch (e) {
        // Capacity and availability errors are per availability zone: the next subnet may work.
        lastError = e;
        if (attempt + 1 < attempts) this.log(`RunInstances in ${String(conf.SubnetId)} failed (${errText(e)}); trying ${subnetIds[attempt + 1]}`);
      }
    }
    throw new ProviderError(`AWS EC2 RunInstances failed${subnetIds.length > 1 ? ` in every subnet (${subnetIds.join(", ")})` : ""}: ${errText(lastError)}`, { cause: lastError });
  }

  private async writeTags(ids: string[], tags: Tags): Promise<void> {
    await ec2("CreateTags", () => this.client.send(new this.sdk.CreateTagsCommand({ Resources: ids, Tags: toAwsTags(tags) })));
    for (const id of ids) this.pendingTags.set(id, { ...this.pendingTags.get(id), ...tags });
  }

  async setNodeTags(nodeId: string, tags: Tags): Promise<void> {
    if (Object.keys(tags).length) await this.writeTags([nodeId], tags);
  }

  async terminateNodes(nodeIds: string[]): Promise<void> {
    if (!nodeIds.length) return;
    // Look the ids up first: TerminateInstances fails the whole call on one unknown id, and only
    // this cluster's instances may be stopped or terminated, whatever id a caller passes.
    const found = await this.describe([
      ...this.clusterFilter(["pending", "running", "stopping", "stopped"]),
      { Name: "instance-id", Values: nodeIds },
    ]);
    const terminate: string[] = [];
    const stop: string[] = [];
    for (const i of found) {
      const id = i.InstanceId!;
      this.pendingTags.delete(id);
      const spot = i.InstanceLifecycle === "spot" || !!i.SpotInstanceRequestId;
      if (!this.cacheStopped || spot) terminate.push(id); // spot instances cannot be stopped
      else if (i.State?.Name === "running" || i.State?.Name === "pending") stop.push(id);
    }
    if (stop.length) this.log(`Stopping instances ${stop.join(", ")} (set cache_stopped_nodes: false under provider to terminate them instead)`);
    for (let k = 0; k < stop.length; k += MAX_IDS_PER_CALL) {
      const InstanceIds = stop.slice(k, k + MAX_IDS_PER_CALL);
      await ec2("StopInstances", () => this.client.send(new this.sdk.StopInstancesCommand({ InstanceIds })));
    }
    for (let k = 0; k < terminate.length; k += MAX_IDS_PER_CALL) {
      const InstanceIds = terminate.slice(k, k + MAX_IDS_PER_CALL);
      await ec2("TerminateInstances", () => this.client.send(new this.sdk.TerminateInstancesCommand({ InstanceIds })));
    }
  }

  commandRunner(node: ProviderNode, ctx: RunnerContext): CommandRunner {
    return sshRunner({ host: nodeHost(node, ctx), ctx, nodeId: node.id });
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** The address the launcher or head uses for a node: internal on the head or with use_internal_ips. */
export function nodeHost(node: ProviderNode, ctx: RunnerContext): string {
  const host = ctx.useInternalIp ? node.internalIp : node.externalIp;
  if (host) return host;
  throw new ProviderError(ctx.useInternalIp
    ? `node ${node.id} has no internal IP yet: wait until it is running`
    : `node ${node.id} has no external IP${node.internalIp ? ` (only ${node.internalIp})` : ""}: give it a public IP (a subnet that maps public IPs on launch), or set provider.use_internal_ips: true when this machine can reach the private network`);
}

export function validate(provider: ProviderConfig, config: ClusterConfig): void {
  if (!str(provider.region)) throw new ConfigError("provider.region is required for provider.type aws: set it to an AWS region, e.g. region: us-west-2");
  if (provider.availability_zone !== undefined && !str(provider.availability_zone)) {
    throw new ConfigError("provider.availability_zone must be a comma-separated list of zones of provider.region, e.g. us-west-2a,us-west-2b");
  }
  if (provider.cache_stopped_nodes !== undefined && typeof provider.cache_stopped_nodes !== "boolean") {
    throw new ConfigError("provider.cache_stopped_nodes must be true or false");
  }
  if (provider.endpoint_url !== undefined && !str(provider.endpoint_url)) throw new ConfigError("provider.endpoint_url must be a URL, e.g. https://ec2.us-west-2.amazonaws.com");
  for (const [name, t] of Object.entries(config.available_node_types ?? {})) {
    const nc = t.node_config ?? {};
    const key = `available_node_types.${name}.node_config`;
    if (!str(nc.ImageId) && !nc.LaunchTemplate) {
      throw new ConfigError(`${key}.ImageId is required for AWS: set the id of an AMI in ${provider.region} (e.g. an Ubuntu 24.04 AMI), or a LaunchTemplate`);
    }
    if (!str(nc.InstanceType) && !nc.LaunchTemplate) throw new ConfigError(`${key}.InstanceType is required for AWS, e.g. InstanceType: m5.large`);
    if (nc.SubnetIds !== undefined && !(Array.isArray(nc.SubnetIds) && nc.SubnetIds.every((s) => typeof s === "string"))) {
      throw new ConfigError(`${key}.SubnetIds must be a list of subnet ids`);
    }
  }
}

function keyPairName(i: number, region: string, base?: string): string {
  if (base) return i === 0 ? base : `${base}_key-${i}`;
  return i === 0 ? `${KEY_PREFIX}_${region}` : `${KEY_PREFIX}_${i}_${region}`;
}

function keyPath(name: string): string {
  return path.join(os.homedir(), ".ssh", `${name}.pem`);
}

/**
 * Ray's bootstrap_aws, where it is cheap: an SSH key pair (created in EC2 and saved under
 * ~/.ssh when none exists), subnets (available ones that map public IPs unless use_internal_ips,
 * in the configured zones) and a security group for the cluster (SSH from anywhere, all traffic
 * within the group). NOT done: the IAM instance profile Ray creates for the head
 * (ray-autoscaler-v1). The head's node_config must carry an `IamInstanceProfile` allowing
 * ec2:RunInstances, DescribeInstances, CreateTags, StartInstances, StopInstances,
 * TerminateInstances and iam:PassRole, or the autoscaler on the head cannot launch workers.
 */
async function bootstrapConfig(config: ClusterConfig, opts: { dryRun: boolean }): Promise<ClusterConfig> {
  const cfg = structuredClone(config);
  const provider = cfg.provider;
  validate(provider, cfg);
  const region = provider.region!;
  const nodeConfigs = Object.entries(cfg.available_node_types).map(([name, t]) => ({ name, nc: t.node_config }));

  if (cfg.auth.ssh_private_key) {
    // The user's own key: EC2 must know its public half under some name, unless cloud-init does it.
    for (const { name, nc } of nodeConfigs) {
      if (!nc.KeyName && !nc.UserData && !nc.LaunchTemplate) {
        throw new ConfigError(`available_node_types.${name}.node_config.KeyName is required when auth.ssh_private_key is set: name the EC2 key pair of that private key`);
      }
    }
  }
  if (opts.dryRun) {
    if (!cfg.auth.ssh_private_key) {
      const name = keyPairName(0, region, str((provider.key_pair as Record<string, unknown> | undefined)?.key_name));
      cfg.auth.ssh_private_key = keyPath(name);
      for (const { nc } of nodeConfigs) nc.KeyName ??= name;
    }
    return cfg;
  }

  const sdk = await loadSdk();
  const client = makeClient(sdk, provider);
  try {
    if (!cfg.auth.ssh_private_key) {
      const { name, file } = await ensureKeyPair(sdk, client, region, str((provider.key_pair as Record<string, unknown> | undefined)?.key_name));
      cfg.auth.ssh_private_key = file;
      for (const { nc } of nodeConfigs) nc.KeyName = name;
    }
    const needSubnets = nodeConfigs.filter(({ nc }) => !nc.SubnetIds && !nc.SubnetId && !nc.NetworkInterfaces && !nc.LaunchTemplate);
    const needGroups = nodeConfigs.filter(({ nc }) => !nc.SecurityGroupIds && !nc.NetworkInterfaces && !nc.LaunchTemplate);
    if (!needSubnets.length && !needGroups.length) return cfg;

    const subnets: Ec2.Subnet[] = [];
    let NextToken: string | undefined;
    do {
      const page = await ec2("DescribeSubnets", () => client.send(new sdk.DescribeSubnetsCommand({ NextToken })));
      subnets.push(...(page.Subnets ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    const vpcOf = new Map(subnets.map((s) => [s.SubnetId!, s.VpcId!]));

    let chosen: Ec2.Subnet[] = [];
    if (needSubnets.length) {
      const zones = str(provider.availability_zone)?.split(",").map((z) => z.trim()).filter(Boolean);
      chosen = subnets.filter((s) => s.State === "available" && (provider.use_internal_ips === true || s.MapPublicIpOnLaunch));
      if (zones) {
        chosen = chosen.filter((s) => zones.includes(s.AvailabilityZone!))
          .sort((x, y) => zones.indexOf(x.AvailabilityZone!) - zones.indexOf(y.AvailabilityZone!));
      } else {
        chosen.sort((x, y) => (y.AvailabilityZone ?? "").localeCompare(x.AvailabilityZone ?? ""));
      }
      // Security groups are per VPC: keep to the VPC of the user's groups, else of the first subnet.
      const givenGroups = nodeConfigs.flatMap(({ nc }) => Array.isArray(nc.SecurityGroupIds) ? nc.SecurityGroupIds.map(String) : []);
      let vpc = chosen[0]?.VpcId;
      if (givenGroups.length) {
        const g = await ec2("DescribeSecurityGroups", () => client.send(new sdk.DescribeSecurityGroupsCommand({ GroupIds: givenGroups })));
        vpc = g.SecurityGroups?.[0]?.VpcId ?? vpc;
      }
      chosen = chosen.filter((s) => s.VpcId === vpc);
      if (!chosen.length) {
        throw new ProviderError(`no usable subnet found in ${region}${zones ? ` in zones ${zones.join(", ")}` : ""}: a subnet must be available and map public IPs on launch unless provider.use_internal_ips is true; create one or set SubnetIds in node_config`);
      }
      for (const { nc } of needSubnets) nc.SubnetIds = chosen.map((s) => s.SubnetId!);
    }

    if (needGroups.length) {
      const first = needGroups[0]!.nc;
      const subnetOfFirst = Array.isArray(first.SubnetIds) ? String(first.SubnetIds[0]) : str(first.SubnetId);
      const vpcId = (subnetOfFirst && vpcOf.get(subnetOfFirst)) ?? chosen[0]?.VpcId ?? subnets[0]?.VpcId;
      if (!vpcId) throw new ProviderError(`could not find the VPC for the cluster's security group in ${region}: set SecurityGroupIds in node_config`);
      const groupId = await ensureSecurityGroup(sdk, client, `${KEY_PREFIX}-${cfg.cluster_name}`, vpcId);
      for (const { nc } of needGroups) nc.SecurityGroupIds = [groupId];
    }
    return cfg;
  } finally {
    client.destroy();
  }
}

async function ensureKeyPair(sdk: Sdk, client: Ec2.EC2Client, region: string, base?: string): Promise<{ name: string; file: string }> {
  fs.mkdirSync(path.join(os.homedir(), ".ssh"), { recursive: true, mode: 0o700 });
  for (let i = 0; i < MAX_KEY_PAIRS; i++) {
    const name = keyPairName(i, region, base);
    const file = keyPath(name);
    let exists = true;
    try {
      await client.send(new sdk.DescribeKeyPairsCommand({ KeyNames: [name] }));
    } catch (e) {
      if (!errCode(e).startsWith("InvalidKeyPair.NotFound")) throw new ProviderError(`AWS EC2 DescribeKeyPairs failed: ${errText(e)}`, { cause: e });
      exists = false;
    }
    const local = fs.existsSync(file);
    if (exists && local) return { name, file };
    if (!exists && !local) {
      const key = await ec2("CreateKeyPair", () => client.send(new sdk.CreateKeyPairCommand({ KeyName: name })));
      // Created with the right mode from the start: the private key is never world-readable.
      fs.writeFileSync(file, key.KeyMaterial ?? "", { mode: 0o600, flag: "wx" });
      return { name, file };
    }
    // A key pair without its local private key (or the reverse) is someone else's: try the next name.
  }
  throw new ProviderError(`no usable EC2 key pair among ${keyPairName(0, region, base)}..${keyPairName(MAX_KEY_PAIRS - 1, region, base)}: each exists in EC2 without its private key in ~/.ssh (or the reverse). Delete unused key pairs, or set auth.ssh_private_key and KeyName yourself`);
}

async function ensureSecurityGroup(sdk: Sdk, client: Ec2.EC2Client, name: string, vpcId: string): Promise<string> {
  const found = await ec2("DescribeSecurityGroups", () => client.send(new sdk.DescribeSecurityGroupsCommand({
    Filters: [{ Name: "group-name", Values: [name] }, { Name: "vpc-id", Values: [vpcId] }],
  })));
  const existing = found.SecurityGroups?.[0]?.GroupId;
  if (existing) return existing;
  const made = await ec2("CreateSecurityGroup", () => client.send(new sdk.CreateSecurityGroupCommand({
    GroupName: name, VpcId: vpcId, Description: `Stingray cluster nodes (${name})`,
  })));
  const GroupId = made.GroupId!;
  await ec2("AuthorizeSecurityGroupIngress", () => client.send(new sdk.AuthorizeSecurityGroupIngressCommand({
    GroupId,
    IpPermissions: [
      // Nodes of the cluster talk to each other on any port (GCS, raylets, object transfer).
      { IpProtocol: "-1", UserIdGroupPairs: [{ GroupId }] },
      // The launcher reaches the head over SSH, as in Ray's default group.
      { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
    ],
  })));
  return GroupId;
}

const aws: ProviderModule = {
  validate,
  bootstrapConfig,
  async createProvider(providerConfig: ProviderConfig, ctx: ProviderContext): Promise<NodeProvider> {
    if (!str(providerConfig.region)) throw new ConfigError("provider.region is required for provider.type aws: set it to an AWS region, e.g. region: us-west-2");
    const sdk = await loadSdk();
    return new AwsNodeProvider(sdk, providerConfig, ctx);
  },
};

export default aws;
