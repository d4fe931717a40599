/**
 * @module launcher/providers/gcp
 * The GCP node provider: Compute Engine instances in one zone through the official
 * `@google-cloud/compute` client (REST transport), loaded only when a cluster uses
 * `provider.type: gcp`. Behaviour follows Ray's GCP provider (gcp/node.py): `node_config` is the
 * body of instances.insert in its REST form (machineType, disks, networkInterfaces, scheduling,
 * serviceAccounts, ...), nodes are found by a label filter on the cluster name, tags are labels
 * (set with the instance's labelFingerprint), and every mutation waits for its zone operation.
 * Commands run over SSH.
 *
 * Label encoding. GCP labels allow only `[a-z0-9_-]`, at most 63 characters, while tag values
 * (node type names such as `ray.worker.default`, cluster names) may hold anything. A value made
 * only of `[a-z0-9-]` is stored as is; otherwise every byte of its UTF-8 form outside `[a-z0-9-]`
 * is written `_` plus two hex digits (`ray.head` → `ray_2ehead`, `_` → `_5f`), so `_` always
 * starts an escape and decoding is exact. An encoded value longer than 63 characters continues in
 * labels `<key>_2`, `<key>_3`, ... (tag keys themselves never contain `_`). Only single-label
 * values are filtered by GCE; every filter is also checked here on the decoded tags.
 *
 * Credentials: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's user
 * login, the metadata server on GCE), or Ray's `provider.gcp_credentials` (a service account).
 * `provider.endpoint_url` (or `STINGRAY_GCP_ENDPOINT_URL`) points the client at another endpoint
 * (a private one, the tests' stub). Over plain http:// no token is sent at all (an emulator or
 * stub), so a real credential never travels unencrypted; https endpoints authenticate normally.
 */
import { optionalSdk, str } from "./sdk.ts";
import { randomBytes } from "node:crypto";
import type * as Compute from "@google-cloud/compute";
import { ConfigError, ProviderError } from "../../common/errors.ts";
import type { CommandRunner, NodeProvider, ProviderContext, ProviderModule, ProviderNode, RunnerContext } from "../provider.ts";
import { sshRunner } from "../runners.ts";
import { TAG, type ClusterConfig, type ProviderConfig, type Tags } from "../types.ts";

type Sdk = typeof import("@google-cloud/compute");
type Instance = Compute.protos.google.cloud.compute.v1.IInstance;
type Operation = Compute.protos.google.cloud.compute.v1.IOperation;
type ClientOptions = NonNullable<ConstructorParameters<Sdk["InstancesClient"]>[0]>;
type FetchInit = NonNullable<Parameters<typeof fetch>[1]>;

const LABEL_MAX = 63;
const TAG_KEY = /^[a-z][a-z0-9-]{0,59}$/;
const NON_TERMINATED = ["PROVISIONING", "STAGING", "RUNNING"];
/** How long one mutation may wait for its zone operation (an insert takes tens of seconds). */
const OPERATION_TIMEOUT_MS = 10 * 60_000;
/** gRPC status codes the REST transport maps HTTP errors to. */
const NOT_FOUND = 5;
const FAILED_PRECONDITION = 9;

function loadSdk(): Promise<Sdk> {
  return optionalSdk("gcp", "@google-cloud/compute", () => import("@google-cloud/compute"));
}

function gcpError(what: string, e: unknown): ProviderError {
  const err = e as { code?: number; message?: string };
  return new ProviderError(`GCP Compute Engine ${what} failed: ${err.message ?? String(e)}`, { cause: e });
}

function codeOf(e: unknown): number | undefined {
  const c = (e as { code?: unknown }).code;
  return typeof c === "number" ? c : undefined;
}

// --- label codec -------------------------------------------------------------------------------

/** Encode one tag value into the label alphabet (see the module comment). */
export function encodeLabelValue(value: string): string {
  if (/^[a-z0-9-]*$/.test(value)) return value;
  let out = "";
  for (const b of Buffer.from(value, "utf8")) {
    const c = String.fromCharCode(b);
    out += /[a-z0-9-]/.test(c) ? c : `_${b.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** The inverse of encodeLabelValue. A `_` not followed by two hex digits (a label set by hand) is kept. */
export function decodeLabelValue(label: string): string {
  if (!label.includes("_")) return label;
  const bytes: number[] = [];
  for (let k = 0; k < label.length; k++) {
    const hex = label.slice(k + 1, k + 3);
    if (label[k] === "_" && /^[0-9a-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      k += 2;
    } else {
      bytes.push(...Buffer.from(label[k]!, "utf8"));
    }
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return label; // not something we wrote
  }
}

function checkTagKey(key: string): void {
  if (!TAG_KEY.test(key)) {
    throw new ProviderError(`tag key "${key}" cannot be a GCP label key: tag keys must be lower case letters, digits and "-", start with a letter, and be at most 60 characters`);
  }
}

/** Tags → labels, with long values continued in `<key>_2`, `<key>_3`, ... */
export function tagsToLabels(tags: Tags): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) {
    checkTagKey(k);
    const enc = encodeLabelValue(v);
    out[k] = enc.slice(0, LABEL_MAX);
    for (let part = 2, at = LABEL_MAX; at < enc.length; part++, at += LABEL_MAX) out[`${k}_${part}`] = enc.slice(at, at + LABEL_MAX);
  }
  return out;
}

/** Labels → tags: continuation labels are joined to their key and values decoded. */
export function labelsToTags(labels: Record<string, string> | null | undefined): Tags {
  const parts = new Map<string, string[]>();
  for (const [k, v] of Object.entries(labels ?? {})) {
    const m = /^(.+)_(\d+)$/.exec(k);
    const key = m && TAG_KEY.test(m[1]!) ? m[1]! : k;
    const idx = m && TAG_KEY.test(m[1]!) ? Number(m[2]) - 1 : 0;
    const list = parts.get(key) ?? [];
    list[idx] = v;
    parts.set(key, list);
  }
  const out: Tags = {};
  for (const [k, list] of parts) {
    if (list[0] === undefined) continue; // a stray continuation
    out[k] = decodeLabelValue(list.map((p) => p ?? "").join(""));
  }
  return out;
}

/** Drop a tag's label and its continuations. */
function dropTagLabels(labels: Record<string, string>, key: string): void {
  for (const k of Object.keys(labels)) if (k === key || (k.startsWith(`${key}_`) && /^\d+$/.test(k.slice(key.length + 1)))) delete labels[k];
}

/** An instance name: `stingray-<cluster>-<kind>-<random>`, in GCE's name syntax. */
export function instanceName(base: string): string {
  const clean = base.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^[^a-z]+/, "").slice(0, LABEL_MAX - 9).replace(/-+$/, "");
  return `${clean || "stingray"}-${randomBytes(4).toString("hex")}`;
}

// --- the provider ------------------------------------------------------------------------------

interface Clients { instances: Compute.InstancesClient; operations: Compute.ZoneOperationsClient }

/**
 * Client options for an endpoint override. Over http:// (an emulator or a stub) the client gets
 * an auth object that adds no credentials: tokens are never sent in clear text.
 */
function clientOptions(provider: ProviderConfig): ClientOptions {
  const opts: ClientOptions = { fallback: true };
  const endpoint = str(provider.endpoint_url) ?? str(process.env.STINGRAY_GCP_ENDPOINT_URL);
  if (endpoint) {
    const u = new URL(endpoint);
    opts.apiEndpoint = u.hostname;
    opts.protocol = u.protocol.replace(":", "");
    if (u.port) opts.port = Number(u.port);
    if (u.protocol === "http:") {
      // google-gax calls only these two members of its auth client on the REST transport.
      const anonymous = {
        getRequestHeaders: async () => new Headers(),
        fetch: (url: string, init: FetchInit) => fetch(url, { method: init.method, headers: init.headers, body: init.body, signal: init.signal }),
      };
      opts.authClient = anonymous as unknown as ClientOptions["authClient"];
      return opts;
    }
  }
  const creds = provider.gcp_credentials as { type?: string; credentials?: unknown } | undefined;
  if (creds?.type === "service_account") {
    opts.credentials = (typeof creds.credentials === "string" ? JSON.parse(creds.credentials) : creds.credentials) as ClientOptions["credentials"];
  } else if (creds !== undefined) {
    throw new ConfigError(`provider.gcp_credentials.type "${String(creds.type)}" is not supported: use "service_account" with its JSON key in credentials, or omit gcp_credentials to use Application Default Credentials`);
  }
  if (provider.project_id) opts.projectId = provider.project_id;
  return opts;
}

class GcpNodeProvider implements NodeProvider {
  private readonly c: Clients;
  private readonly project: string;
  private readonly zone: string;
  private readonly clusterName: string;
  private readonly log: (line: string) => void;

  constructor(c: Clients, providerConfig: ProviderConfig, ctx: ProviderContext) {
    this.c = c;
    this.project = providerConfig.project_id!;
    this.zone = providerConfig.availability_zone!;
    this.clusterName = ctx.clusterName;
    this.log = ctx.log;
  }

  /** Wait for a zone operation (as Ray's wait_for_operation); an operation error becomes a ProviderError. */
  private async waitFor(what: string, op: Operation | null | undefined): Promise<void> {
    const deadline = Date.now() + OPERATION_TIMEOUT_MS;
    let cur = op;
    while (cur && cur.status !== "DONE") {
      if (Date.now() > deadline) throw new ProviderError(`GCP ${what}: operation ${cur.name} did not finish within ${OPERATION_TIMEOUT_MS / 60_000} minutes`);
      // operations.wait returns when the operation is done, or after a while (then ask again).
      [cur] = await this.c.operations.wait({ project: this.project, zone: this.zone, operation: String(cur.name) })
        .catch((e: unknown) => { throw gcpError(`${what} (waiting for operation ${cur?.name})`, e); });
    }
    const errors = cur?.error?.errors ?? [];
    if (errors.length) {
      throw new ProviderError(`GCP ${what} failed: ${errors.map((e) => `${e.code ?? ""}${e.message ? `: ${e.message}` : ""}`).join("; ")}`);
    }
  }

  private toNode(i: Instance): ProviderNode {
    const nic = i.networkInterfaces?.[0];
    return {
      id: i.name!,
      tags: labelsToTags(i.labels as Record<string, string> | undefined),
      internalIp: nic?.networkIP || undefined,
      externalIp: nic?.accessConfigs?.[0]?.natIP || undefined,
      state: i.status === "RUNNING" ? "running" : "pending",
    };
  }

  async nonTerminatedNodes(tagFilters: Tags = {}): Promise<ProviderNode[]> {
    const filters: Tags = { ...tagFilters, [TAG.clusterName]: this.clusterName };
    if (tagFilters[TAG.clusterName] !== undefined && tagFilters[TAG.clusterName] !== this.clusterName) return [];
    const clauses: string[] = [];
    for (const [k, v] of Object.entries(filters)) {
      const labels = tagsToLabels({ [k]: v });
      if (Object.keys(labels).length === 1) clauses.push(`(labels.${k} = "${labels[k]}")`);
    }
    clauses.push(`(${NON_TERMINATED.map((s) => `(status = ${s})`).join(" OR ")})`);
    let items: Instance[];
    try {
      [items] = await this.c.instances.list({ project: this.project, zone: this.zone, filter: clauses.join(" AND ") });
    } catch (e) {
      throw gcpError("instances.list", e);
    }
    return items.filter((i) => NON_TERMINATED.includes(String(i.status))).map((i) => this.toNode(i))
      .filter((n) => Object.entries(filters).every(([k, v]) => n.tags[k] === v));
  }

  /** machineType and acceleratorType as GCE wants them: zone-relative URLs (Ray does the same). */
  private instanceResource(nodeConfig: Record<string, unknown>, name: string, tags: Tags): Record<string, unknown> {
    const conf: Record<string, unknown> = structuredClone(nodeConfig);
    const mt = str(conf.machineType);
    if (mt && !mt.includes("/machineTypes/")) conf.machineType = `zones/${this.zone}/machineTypes/${mt}`;
    for (const acc of Array.isArray(conf.guestAccelerators) ? conf.guestAccelerators as Array<Record<string, unknown>> : []) {
      const t = str(acc.acceleratorType);
      if (t && !t.includes("/acceleratorTypes/")) acc.acceleratorType = `projects/${this.project}/zones/${this.zone}/acceleratorTypes/${t}`;
    }
    // Ray's example-full.yaml once wrote scheduling as a list of one mapping.
    if (Array.isArray(conf.scheduling)) conf.scheduling = Object.assign({}, ...conf.scheduling as object[]);
    conf.labels = { ...(conf.labels as Record<string, string> | undefined), ...tagsToLabels(tags) };
    conf.name = name;
    return conf;
  }

  async createNodes(nodeConfig: Record<string, unknown>, tags: Tags, count: number): Promise<ProviderNode[]> {
    const base = tags[TAG.nodeName] ?? `stingray-${this.clusterName}-${tags[TAG.nodeKind] ?? "node"}`;
    const conf = structuredClone(nodeConfig);
    // Instance templates: node_config fields override the template's (as in Ray).
    const sourceInstanceTemplate = str(conf.sourceInstanceTemplate);
    delete conf.sourceInstanceTemplate;
    const made = await Promise.all(Array.from({ length: count }, async () => {
      const name = instanceName(base);
      const allTags: Tags = { [TAG.nodeName]: name, ...tags, [TAG.clusterName]: this.clusterName };
      const instanceResource = this.instanceResource(conf, name, allTags);
      let op: Operation | null | undefined;
      try {
        const [lro] = await this.c.instances.insert({ project: this.project, zone: this.zone, instanceResource, ...(sourceInstanceTemplate ? { sourceInstanceTemplate } : {}) });
        op = lro.latestResponse as Operation;
      } catch (e) {
        throw gcpError(`instances.insert of ${name}`, e);
      }
      await this.waitFor(`instances.insert of ${name}`, op);
      const node: ProviderNode = { id: name, tags: allTags, state: "pending" };
      return node;
    }));
    this.log(`Launched ${made.length} instance(s) ${made.map((n) => n.id).join(", ")} in ${this.zone}`);
    return made;
  }

  async setNodeTags(nodeId: string, tags: Tags): Promise<void> {
    if (!Object.keys(tags).length) return;
    // setLabels replaces all labels and needs the current fingerprint: read, merge, write, and
    // read again if someone else changed them in between.
    for (let attempt = 0; ; attempt++) {
      let inst: Instance;
      try {
        [inst] = await this.c.instances.get({ project: this.project, zone: this.zone, instance: nodeId });
      } catch (e) {
        throw gcpError(`instances.get of ${nodeId}`, e);
      }
      const labels = { ...(inst.labels as Record<string, string> | undefined) };
      for (const k of Object.keys(tags)) dropTagLabels(labels, k);
      Object.assign(labels, tagsToLabels(tags));
      try {
        const [lro] = await this.c.instances.setLabels({
          project: this.project, zone: this.zone, instance: nodeId,
          instancesSetLabelsRequestResource: { labels, labelFingerprint: inst.labelFingerprint },
        });
        await this.waitFor(`instances.setLabels of ${nodeId}`, lro.latestResponse as Operation);
        return;
      } catch (e) {
        if (codeOf(e) === FAILED_PRECONDITION && attempt < 5) continue;
        throw e instanceof ProviderError ? e : gcpError(`instances.setLabels of ${nodeId}`, e);
      }
    }
  }

  async terminateNodes(nodeIds: string[]): Promise<void> {
    await Promise.all(nodeIds.map(async (id) => {
      let op: Operation;
      try {
        const [lro] = await this.c.instances.delete({ project: this.project, zone: this.zone, instance: id });
        op = lro.latestResponse as Operation;
      } catch (e) {
        if (codeOf(e) === NOT_FOUND) return; // already gone: terminating is idempotent
        throw gcpError(`instances.delete of ${id}`, e);
      }
      await this.waitFor(`instances.delete of ${id}`, op);
    }));
  }

  commandRunner(node: ProviderNode, ctx: RunnerContext): CommandRunner {
    const host = ctx.useInternalIp ? node.internalIp : node.externalIp;
    if (!host) {
      throw new ProviderError(ctx.useInternalIp
        ? `node ${node.id} has no internal IP yet: wait until it is running`
        : `node ${node.id} has no external IP: add an accessConfig (ONE_TO_ONE_NAT) to its networkInterfaces, or set provider.use_internal_ips: true when this machine can reach the VPC`);
    }
    return sshRunner({ host, ctx, nodeId: node.id });
  }

  async close(): Promise<void> {
    await Promise.all([this.c.instances.close(), this.c.operations.close()]);
  }
}

export function validate(provider: ProviderConfig, config: ClusterConfig): void {
  if (!str(provider.project_id)) throw new ConfigError("provider.project_id is required for provider.type gcp: set it to the id of your Google Cloud project");
  if (!str(provider.availability_zone)) throw new ConfigError("provider.availability_zone is required for provider.type gcp: set it to a zone, e.g. us-west1-a");
  const region = str(provider.region);
  if (region && !provider.availability_zone!.startsWith(`${region}-`)) {
    throw new ConfigError(`provider.availability_zone ${provider.availability_zone} is not in provider.region ${region}`);
  }
  for (const [name, t] of Object.entries(config.available_node_types ?? {})) {
    const nc = t.node_config ?? {};
    const key = `available_node_types.${name}.node_config`;
    if (!str(nc.machineType) && !str(nc.sourceInstanceTemplate)) throw new ConfigError(`${key}.machineType is required for GCP, e.g. machineType: n1-standard-2`);
    if (!Array.isArray(nc.disks) && !str(nc.sourceInstanceTemplate)) throw new ConfigError(`${key}.disks is required for GCP: a boot disk with initializeParams.sourceImage`);
    if (nc.labels !== undefined && (typeof nc.labels !== "object" || nc.labels === null)) throw new ConfigError(`${key}.labels must be a mapping of label keys to values`);
  }
}

/**
 * The cheap part of Ray's bootstrap_gcp: the region from the zone, and a default network
 * interface (the project's `default` network, with an external IP unless use_internal_ips).
 * NOT done: Ray's service account for the head (ray-autoscaler-sa-v1 with compute and IAM
 * roles) and its SSH key in project metadata. The head's node_config needs serviceAccounts with
 * the compute scope (or a service account with roles/compute.admin) for the autoscaler to launch
 * workers, and auth.ssh_private_key must name a key whose public half is in the project or
 * instance metadata (`ssh-keys`) or OS Login.
 */
async function bootstrapConfig(config: ClusterConfig, _opts: { dryRun: boolean }): Promise<ClusterConfig> {
  const cfg = structuredClone(config);
  validate(cfg.provider, cfg);
  cfg.provider.region ??= cfg.provider.availability_zone!.replace(/-[a-z]$/, "");
  for (const t of Object.values(cfg.available_node_types)) {
    const nc = t.node_config;
    if (nc.networkInterfaces === undefined && !nc.sourceInstanceTemplate) {
      nc.networkInterfaces = [{
        network: "global/networks/default",
        ...(cfg.provider.use_internal_ips ? {} : { accessConfigs: [{ name: "External NAT", type: "ONE_TO_ONE_NAT" }] }),
      }];
    }
  }
  return cfg;
}

const gcp: ProviderModule = {
  validate,
  bootstrapConfig,
  async createProvider(providerConfig: ProviderConfig, ctx: ProviderContext): Promise<NodeProvider> {
    if (!str(providerConfig.project_id) || !str(providerConfig.availability_zone)) {
      throw new ConfigError("provider.project_id and provider.availability_zone are required for provider.type gcp");
    }
    const sdk = await loadSdk();
    const opts = clientOptions(providerConfig);
    return new GcpNodeProvider({ instances: new sdk.InstancesClient(opts), operations: new sdk.ZoneOperationsClient(opts) }, providerConfig, ctx);
  },
};

export default gcp;
