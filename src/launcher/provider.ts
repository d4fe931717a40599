/**
 * @module launcher/provider
 * The one contract every node provider implements (local SSH hosts, fake multi-node raylets,
 * AWS, GCP, Kubernetes, or a user's external module), and the command runner it hands out for
 * a node. Providers are loaded lazily by `provider.type` (providers/index.ts): the launcher and
 * autoscaler never import a cloud SDK themselves.
 */
import type { ClusterConfig, ProviderConfig, Tags, AuthConfig, DockerConfig } from "./types.ts";

/** A node as a provider reports it. `id` is the provider's own id (instance id, pod name, IP). */
export interface ProviderNode {
  id: string;
  tags: Tags;
  /** Address other nodes of the cluster use; undefined while the provider has not assigned one. */
  internalIp?: string;
  /** Address the launcher machine uses (public IP); undefined when only the internal one exists. */
  externalIp?: string;
  /** "pending": created, not yet running (booting); "running": reachable in principle. */
  state: "pending" | "running";
}

export interface RunOptions {
  /**
   * Environment of the command. Never put on a command line: runners pass it on stdin or through
   * the environment of the local process, so secrets (the cluster token) stay out of `ps`.
   */
  env?: Record<string, string>;
  /** Attach the user's terminal (exec, attach): stdio inherited, a TTY requested. */
  interactive?: boolean;
  /** Capture and return stdout instead of streaming it to `log`. */
  captureOutput?: boolean;
  /** Local ports forwarded to the same (or mapped) ports on the node while the command runs. */
  portForward?: Array<[local: number, remote: number]>;
  timeoutMs?: number;
  /** Run on the host even when the node runs inside a container (docker runner). */
  runOnHost?: boolean;
}

export interface RunResult { code: number; stdout: string; stderr: string }

export interface CommandRunner {
  /** Run a shell command (bash) on the node. Resolves with its exit code; never throws for a non-zero exit. */
  run(cmd: string, opts?: RunOptions): Promise<RunResult>;
  /** Copy a local file or directory to the node (rsync semantics: a trailing "/" copies contents). */
  rsyncUp(source: string, target: string, opts?: { exclude?: string[]; filter?: string[]; runOnHost?: boolean }): Promise<void>;
  /** Copy a path on the node to this machine. */
  rsyncDown(source: string, target: string, opts?: { exclude?: string[]; filter?: string[]; runOnHost?: boolean }): Promise<void>;
  /** A short description for logs, e.g. "ubuntu@10.0.0.5". */
  readonly description: string;
}

/** What a provider needs to build a command runner for one of its nodes. */
export interface RunnerContext {
  auth: AuthConfig;
  clusterName: string;
  docker?: DockerConfig;
  /** Where progress lines go. */
  log: (line: string) => void;
  /** Reach nodes on their internal IPs (true on the head, and when provider.use_internal_ips). */
  useInternalIp: boolean;
}

export interface ProviderContext {
  clusterName: string;
  /** True when the provider runs inside the cluster's head (the autoscaler), false on the launcher machine. */
  onHead: boolean;
  /** Directory for provider state files (default: the Stingray temp dir). */
  stateDir: string;
  log: (line: string) => void;
  /** The cluster's auth and docker sections, for providers that reach their nodes themselves (local: `stingray stop` over SSH on terminate). */
  auth?: AuthConfig;
  docker?: DockerConfig;
  /** fake_multinode: the head's GCS address and token, so the provider can start raylets that join it. */
  head?: { gcsAddress: string; token: string };
}

export interface NodeProvider {
  /** Nodes that are not terminated and whose tags include every `tagFilters` entry. */
  nonTerminatedNodes(tagFilters?: Tags): Promise<ProviderNode[]>;
  /**
   * Create `count` nodes from `nodeConfig` with `tags` (the cluster name tag included). Resolves
   * with the created nodes once the provider has accepted them (they may still be "pending").
   * `resources` and `labels` are the node type's, for providers that start Stingray themselves.
   */
  createNodes(nodeConfig: Record<string, unknown>, tags: Tags, count: number,
    extra?: { resources?: Record<string, number>; labels?: Record<string, string> }): Promise<ProviderNode[]>;
  /** Merge `tags` into a node's tags. */
  setNodeTags(nodeId: string, tags: Tags): Promise<void>;
  /** Terminate nodes (idempotent: an unknown or already terminated id is not an error). */
  terminateNodes(nodeIds: string[]): Promise<void>;
  /** A runner that executes commands on the node. */
  commandRunner(node: ProviderNode, ctx: RunnerContext): CommandRunner;
  /** Release clients, timers, locks. */
  close?(): Promise<void>;
}

export interface ProviderModule {
  /**
   * Fill provider-specific defaults into a validated config before anything is launched (AWS:
   * key pair, security group, subnets; Kubernetes: namespace). Must not touch hosts unless
   * `dryRun` is false. Optional.
   */
  bootstrapConfig?(config: ClusterConfig, opts: { dryRun: boolean }): Promise<ClusterConfig>;
  /** Check provider-specific config keys; throw a ConfigError naming the key and the fix. */
  validate?(provider: ProviderConfig, config: ClusterConfig): void;
  createProvider(providerConfig: ProviderConfig, ctx: ProviderContext): Promise<NodeProvider>;
}
