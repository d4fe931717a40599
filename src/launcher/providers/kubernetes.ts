/**
 * @module launcher/providers/kubernetes
 * The Kubernetes node provider: every node is a pod, created through the official
 * `@kubernetes/client-node` (1.x) CoreV1Api, loaded only when a cluster uses
 * `provider.type: kubernetes`. This is Ray's older provider that creates pods directly (not
 * KubeRay): `node_config` is a Pod manifest (or `{ pod: <manifest> }`), nodes are found by a label
 * selector on the cluster name, a pod's IP is its internal IP (pods have no external one), and
 * commands run through `kubectl exec` (kubectl_runner.ts).
 *
 * Tags. Each tag is stored twice: exactly, as the annotation `tags.stingray.io/<key>` (no length
 * or character limits worth the name), and as the label `<key>` so that selectors, Services and
 * `kubectl get -l` can use it. Label values allow `[A-Za-z0-9._-]`, at most 63 characters,
 * starting and ending alphanumeric: a tag value already in that form (and without `_`) is the
 * label value; any other is written `x_` followed by the value with each byte outside
 * `[A-Za-z0-9.-]` as `_` plus two hex digits (`my_cluster` → `x_my_5fcluster`), so a label with
 * `_` is always an encoded one and decodes exactly. A value whose label would exceed 63
 * characters gets no label, only the annotation, and is filtered here rather than by the server.
 *
 * The cluster is reached through a kubeconfig: `provider.kubeconfig` (a file), else the default
 * (KUBECONFIG, ~/.kube/config, or the pod's service account when running on the head), with
 * `provider.context` choosing a context.
 */
import { optionalSdk, str } from "./sdk.ts";
import { expandHome } from "../runners.ts";
import type * as K8s from "@kubernetes/client-node";
import { ConfigError, ProviderError } from "../../common/errors.ts";
import type { CommandRunner, NodeProvider, ProviderContext, ProviderModule, ProviderNode, RunnerContext } from "../provider.ts";
import { TAG, type ClusterConfig, type ProviderConfig, type Tags } from "../types.ts";
import { kubectlRunner } from "./kubectl_runner.ts";

type Sdk = typeof import("@kubernetes/client-node");

export const DEFAULT_NAMESPACE = "stingray";
const TAG_ANNOTATION = "tags.stingray.io/";
const LABEL_MAX = 63;
const TAG_KEY = /^[A-Za-z0-9]([-A-Za-z0-9.]{0,61}[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Phases of pods that are gone for good (a field selector has no OR, so: not any of these). */
const FIELD_SELECTOR = "status.phase!=Failed,status.phase!=Succeeded,status.phase!=Unknown";

function loadSdk(): Promise<Sdk> {
  return optionalSdk("kubernetes", "@kubernetes/client-node", () => import("@kubernetes/client-node"));
}

function statusOf(e: unknown): number | undefined {
  const c = (e as { code?: unknown }).code;
  return typeof c === "number" ? c : undefined;
}

function k8sError(what: string, e: unknown): ProviderError {
  const err = e as { code?: number; body?: unknown; message?: string };
  let detail = err.message ?? String(e);
  if (typeof err.body === "string") {
    try {
      detail = (JSON.parse(err.body) as { message?: string }).message ?? detail;
    } catch { /* not JSON: keep the message */ }
  }
  return new ProviderError(`Kubernetes ${what} failed${err.code ? ` (HTTP ${err.code})` : ""}: ${detail.split("\n")[0]}`, { cause: e });
}

// --- label codec -------------------------------------------------------------------------------

const RAW_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9.]*)?[A-Za-z0-9])?$/;

/** A tag value as a label value (see the module comment); undefined when it cannot fit in 63 characters. */
export function encodeLabelValue(value: string): string | undefined {
  if (RAW_VALUE.test(value) && value.length <= LABEL_MAX) return value;
  const bytes = [...Buffer.from(value, "utf8")];
  let body = "";
  bytes.forEach((b, k) => {
    const c = String.fromCharCode(b);
    // The last character must be alphanumeric: a trailing "." or "-" is escaped too.
    const last = k === bytes.length - 1;
    body += /[A-Za-z0-9]/.test(c) || (!last && /[.-]/.test(c)) ? c : `_${b.toString(16).padStart(2, "0")}`;
  });
  const out = `x_${body}`;
  return out.length <= LABEL_MAX ? out : undefined;
}

/** The inverse of encodeLabelValue. */
export function decodeLabelValue(label: string): string {
  if (!label.includes("_") || !label.startsWith("x_")) return label;
  const body = label.slice(2);
  const bytes: number[] = [];
  for (let k = 0; k < body.length; k++) {
    const hex = body.slice(k + 1, k + 3);
    if (body[k] === "_" && /^[0-9a-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      k += 2;
    } else {
      bytes.push(body.charCodeAt(k));
    }
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return label;
  }
}

function checkTagKey(key: string): void {
  if (!TAG_KEY.test(key)) throw new ProviderError(`tag key "${key}" cannot be a Kubernetes label name: letters, digits, "-" and ".", at most 63 characters`);
}

/** Labels and annotations holding `tags`; `forPatch` sets labels that cannot fit to null (removed). */
export function tagsToMetadata(tags: Tags, forPatch = false): { labels: Record<string, string | null>; annotations: Record<string, string> } {
  const labels: Record<string, string | null> = {};
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) {
    checkTagKey(k);
    annotations[`${TAG_ANNOTATION}${k}`] = v;
    const enc = encodeLabelValue(v);
    if (enc !== undefined) labels[k] = enc;
    else if (forPatch) labels[k] = null;
  }
  return { labels, annotations };
}

/** A pod's tags: its own labels (Stingray's decoded), overridden by the exact tag annotations. */
export function metadataToTags(meta: { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined): Tags {
  const tags: Tags = {};
  for (const [k, v] of Object.entries(meta?.labels ?? {})) tags[k] = k.startsWith("stingray-") ? decodeLabelValue(v) : v;
  for (const [k, v] of Object.entries(meta?.annotations ?? {})) if (k.startsWith(TAG_ANNOTATION)) tags[k.slice(TAG_ANNOTATION.length)] = v;
  return tags;
}

/** A pod name prefix for generateName: a DNS subdomain leaving room for the 5 random characters. */
function podPrefix(base: string): string {
  const clean = base.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-+/, "").slice(0, 57).replace(/-+$/, "");
  return `${clean || "stingray"}-`;
}

// --- the provider ------------------------------------------------------------------------------

interface Target { namespace: string; kubeconfig?: string; context?: string }

async function connect(sdk: Sdk, provider: ProviderConfig): Promise<K8s.KubeConfig> {
  const kc = new sdk.KubeConfig();
  try {
    const file = str(provider.kubeconfig);
    if (file) kc.loadFromFile(expandHome(file));
    else kc.loadFromDefault();
    const context = str(provider.context);
    if (context) kc.setCurrentContext(context);
  } catch (e) {
    throw new ProviderError(`could not load the kubeconfig${provider.kubeconfig ? ` ${String(provider.kubeconfig)}` : ""}: ${(e as Error).message}`, { cause: e });
  }
  return kc;
}

class KubernetesNodeProvider implements NodeProvider {
  private readonly sdk: Sdk;
  private readonly api: K8s.CoreV1Api;
  private readonly target: Target;
  private readonly clusterName: string;
  private readonly log: (line: string) => void;

  constructor(sdk: Sdk, kc: K8s.KubeConfig, providerConfig: ProviderConfig, ctx: ProviderContext) {
    this.sdk = sdk;
    this.api = kc.makeApiClient(sdk.CoreV1Api);
    this.target = {
      namespace: str(providerConfig.namespace) ?? DEFAULT_NAMESPACE,
      kubeconfig: str(providerConfig.kubeconfig),
      context: str(providerConfig.context),
    };
    this.clusterName = ctx.clusterName;
    this.log = ctx.log;
  }

  private toNode(pod: K8s.V1Pod): ProviderNode {
    return {
      id: pod.metadata!.name!,
      tags: metadataToTags(pod.metadata),
      internalIp: pod.status?.podIP || undefined,
      state: pod.status?.phase === "Running" ? "running" : "pending",
    };
  }

  async nonTerminatedNodes(tagFilters: Tags = {}): Promise<ProviderNode[]> {
    const filters: Tags = { ...tagFilters, [TAG.clusterName]: this.clusterName };
    if (tagFilters[TAG.clusterName] !== undefined && tagFilters[TAG.clusterName] !== this.clusterName) return [];
    const selector = Object.entries(filters).flatMap(([k, v]) => {
      const enc = encodeLabelValue(v);
      return enc === undefined ? [] : [`${k}=${enc}`];
    }).join(",");
    let pods: K8s.V1PodList;
    try {
      pods = await this.api.listNamespacedPod({ namespace: this.target.namespace, labelSelector: selector, fieldSelector: FIELD_SELECTOR });
    } catch (e) {
      throw k8sError(`listing pods in namespace ${this.target.namespace}`, e);
    }
    return pods.items
      // A pod being deleted still reports Running until it is gone; it is no node of ours any more.
      .filter((p) => !p.metadata?.deletionTimestamp && (p.status?.phase === "Running" || p.status?.phase === "Pending" || !p.status?.phase))
      .map((p) => this.toNode(p))
      .filter((n) => Object.entries(filters).every(([k, v]) => n.tags[k] === v));
  }

  async createNodes(nodeConfig: Record<string, unknown>, tags: Tags, count: number): Promise<ProviderNode[]> {
    const manifest = (nodeConfig.pod ?? nodeConfig) as K8s.V1Pod;
    const allTags: Tags = { ...tags, [TAG.clusterName]: this.clusterName };
    const { labels, annotations } = tagsToMetadata(allTags);
    const out: ProviderNode[] = [];
    for (let k = 0; k < count; k++) {
      const body: K8s.V1Pod = structuredClone(manifest);
      const meta = body.metadata ?? {};
      // Always generateName: several pods come from one node_config.
      const generateName = meta.generateName ?? (meta.name ? `${meta.name}-` : podPrefix(tags[TAG.nodeName] ?? `stingray-${this.clusterName}-${tags[TAG.nodeKind] ?? "node"}`));
      body.apiVersion ??= "v1";
      body.kind ??= "Pod";
      body.metadata = {
        ...meta, name: undefined, generateName, namespace: this.target.namespace,
        labels: { ...meta.labels, ...labels as Record<string, string> },
        annotations: { ...meta.annotations, ...annotations },
      };
      let pod: K8s.V1Pod;
      try {
        pod = await this.api.createNamespacedPod({ namespace: this.target.namespace, body });
      } catch (e) {
        throw k8sError(`creating a pod in namespace ${this.target.namespace}`, e);
      }
      out.push(this.toNode(pod));
    }
    this.log(`Created pod(s) ${out.map((n) => n.id).join(", ")} in namespace ${this.target.namespace}`);
    return out;
  }

  async setNodeTags(nodeId: string, tags: Tags): Promise<void> {
    if (!Object.keys(tags).length) return;
    const { labels, annotations } = tagsToMetadata(tags, true);
    try {
      await this.api.patchNamespacedPod({ name: nodeId, namespace: this.target.namespace, body: { metadata: { labels, annotations } } },
        this.sdk.setHeaderOptions("Content-Type", this.sdk.PatchStrategy.MergePatch));
    } catch (e) {
      throw k8sError(`labelling pod ${nodeId}`, e);
    }
  }

  async terminateNodes(nodeIds: string[]): Promise<void> {
    await Promise.all(nodeIds.map(async (name) => {
      try {
        await this.api.deleteNamespacedPod({ name, namespace: this.target.namespace });
      } catch (e) {
        if (statusOf(e) === 404) return; // already gone
        throw k8sError(`deleting pod ${name}`, e);
      }
    }));
  }

  commandRunner(node: ProviderNode, ctx: RunnerContext): CommandRunner {
    return kubectlRunner({ ...this.target, pod: node.id, ctx });
  }
}

export function validate(provider: ProviderConfig, config: ClusterConfig): void {
  const ns = provider.namespace;
  if (ns !== undefined && (typeof ns !== "string" || !DNS_LABEL.test(ns))) {
    throw new ConfigError(`provider.namespace "${String(ns)}" is not a valid namespace name: lower case letters, digits and "-", at most 63 characters (default "${DEFAULT_NAMESPACE}")`);
  }
  if (provider.kubeconfig !== undefined && !str(provider.kubeconfig)) throw new ConfigError("provider.kubeconfig must be the path of a kubeconfig file");
  if (provider.context !== undefined && !str(provider.context)) throw new ConfigError("provider.context must name a context of the kubeconfig");
  if (provider.services !== undefined) {
    if (!Array.isArray(provider.services)) throw new ConfigError("provider.services must be a list of Service manifests");
    provider.services.forEach((s: unknown, k: number) => {
      if (!str((s as { metadata?: { name?: unknown } } | null)?.metadata?.name)) throw new ConfigError(`provider.services[${k}].metadata.name is required`);
    });
  }
  for (const [name, t] of Object.entries(config.available_node_types ?? {})) {
    const nc = t.node_config ?? {};
    const pod = (nc.pod ?? nc) as { spec?: { containers?: unknown } };
    const key = `available_node_types.${name}.node_config${nc.pod ? ".pod" : ""}`;
    if (!Array.isArray(pod.spec?.containers) || !pod.spec.containers.length) {
      throw new ConfigError(`${key}.spec.containers is required for Kubernetes: node_config is a Pod manifest with at least one container`);
    }
  }
}

/** Create `body` unless an object of that name exists (then merge-patch it when `update`). */
async function ensure(what: string, read: () => Promise<unknown>, create: () => Promise<unknown>, update?: () => Promise<unknown>): Promise<void> {
  try {
    await read();
  } catch (e) {
    if (statusOf(e) !== 404) throw k8sError(`reading ${what}`, e);
    try {
      await create();
    } catch (c) {
      if (statusOf(c) !== 409) throw k8sError(`creating ${what}`, c); // 409: made meanwhile
    }
    return;
  }
  if (update) {
    try {
      await update();
    } catch (e) {
      throw k8sError(`updating ${what}`, e);
    }
  }
}

type Manifest = { metadata: { name: string; namespace?: string } } & Record<string, unknown>;

/**
 * Ray's bootstrap_kubernetes: the namespace (created if missing), the autoscaler's service
 * account, role and role binding and the `provider.services` when the config declares them
 * (created if missing; existing Services are merge-patched to the config). Also defaults
 * provider.use_internal_ips to true: a pod has no external IP.
 */
async function bootstrapConfig(config: ClusterConfig, opts: { dryRun: boolean }): Promise<ClusterConfig> {
  const cfg = structuredClone(config);
  const provider = cfg.provider;
  provider.namespace ??= DEFAULT_NAMESPACE;
  provider.use_internal_ips ??= true;
  validate(provider, cfg);
  if (opts.dryRun) return cfg;
  const namespace = provider.namespace;
  const sdk = await loadSdk();
  const kc = await connect(sdk, provider);
  const core = kc.makeApiClient(sdk.CoreV1Api);
  const merge = sdk.setHeaderOptions("Content-Type", sdk.PatchStrategy.MergePatch);

  await ensure(`namespace ${namespace}`,
    () => core.readNamespace({ name: namespace }),
    () => core.createNamespace({ body: { metadata: { name: namespace } } }));

  const inNs = (m: unknown): Manifest => {
    const o = structuredClone(m) as Manifest;
    o.metadata = { ...o.metadata, namespace };
    return o;
  };
  if (provider.autoscaler_service_account) {
    const sa = inNs(provider.autoscaler_service_account);
    await ensure(`service account ${sa.metadata.name}`,
      () => core.readNamespacedServiceAccount({ name: sa.metadata.name, namespace }),
      () => core.createNamespacedServiceAccount({ namespace, body: sa }));
  }
  if (provider.autoscaler_role || provider.autoscaler_role_binding) {
    const rbac = kc.makeApiClient(sdk.RbacAuthorizationV1Api);
    if (provider.autoscaler_role) {
      const role = inNs(provider.autoscaler_role) as unknown as K8s.V1Role & Manifest;
      await ensure(`role ${role.metadata.name}`,
        () => rbac.readNamespacedRole({ name: role.metadata.name, namespace }),
        () => rbac.createNamespacedRole({ namespace, body: role }));
    }
    if (provider.autoscaler_role_binding) {
      const binding = inNs(provider.autoscaler_role_binding) as unknown as K8s.V1RoleBinding & Manifest;
      // Subjects without a namespace mean this one (as Ray fills them in).
      for (const s of binding.subjects ?? []) if (s.kind === "ServiceAccount") s.namespace ??= namespace;
      await ensure(`role binding ${binding.metadata.name}`,
        () => rbac.readNamespacedRoleBinding({ name: binding.metadata.name, namespace }),
        () => rbac.createNamespacedRoleBinding({ namespace, body: binding }));
    }
  }
  for (const s of (provider.services as unknown[] | undefined) ?? []) {
    const svc = inNs(s) as unknown as K8s.V1Service & Manifest;
    await ensure(`service ${svc.metadata.name}`,
      () => core.readNamespacedService({ name: svc.metadata.name, namespace }),
      () => core.createNamespacedService({ namespace, body: svc }),
      () => core.patchNamespacedService({ name: svc.metadata.name, namespace, body: { metadata: { labels: svc.metadata.labels }, spec: svc.spec } }, merge));
  }
  return cfg;
}

const kubernetes: ProviderModule = {
  validate,
  bootstrapConfig,
  async createProvider(providerConfig: ProviderConfig, ctx: ProviderContext): Promise<NodeProvider> {
    const sdk = await loadSdk();
    const kc = await connect(sdk, providerConfig);
    return new KubernetesNodeProvider(sdk, kc, providerConfig, ctx);
  },
};

export default kubernetes;
