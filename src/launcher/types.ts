/**
 * @module launcher/types
 * The cluster config as the launcher and autoscaler use it after loading (defaults filled,
 * Ray's and Stingray's key names merged), and the node tags every provider stores. The YAML keys
 * are Ray's (`ray-schema.json`); `head_start_stingray_commands` and `worker_start_stingray_commands`
 * are accepted as aliases of the `*_ray_commands` keys.
 */

/** Per-node key/value tags a provider stores with each node (Ray's `ray-*` tags, renamed). */
export type Tags = Record<string, string>;

export const TAG = {
  clusterName: "stingray-cluster-name",
  nodeKind: "stingray-node-kind", // "head" | "worker"
  nodeName: "stingray-node-name",
  nodeStatus: "stingray-node-status", // see NODE_STATUS
  userNodeType: "stingray-user-node-type", // a key of available_node_types
  launchConfig: "stingray-launch-config", // hash of the node_config and auth that created the node
  runtimeConfig: "stingray-runtime-config", // hash of file mounts contents + setup/start commands
  fileMountsContents: "stingray-file-mounts-contents", // hash of the file mounts' contents
} as const;

export const NODE_KIND = { head: "head", worker: "worker" } as const;
export type NodeKind = (typeof NODE_KIND)[keyof typeof NODE_KIND];

export const NODE_STATUS = {
  uninitialized: "uninitialized",
  waitingForSsh: "waiting-for-ssh",
  syncingFiles: "syncing-files",
  settingUp: "setting-up",
  upToDate: "up-to-date",
  updateFailed: "update-failed",
} as const;
export type NodeStatus = (typeof NODE_STATUS)[keyof typeof NODE_STATUS];

export interface AuthConfig {
  ssh_user: string;
  ssh_private_key?: string;
  /** Ray's AWS/GCP key pair public half; hashed into the launch hash with the private key. */
  ssh_public_key?: string;
  ssh_proxy_command?: string;
  /** Extra `-o` options, e.g. `{ StrictHostKeyChecking: "no" }` (Stingray extension). */
  ssh_options?: Record<string, string>;
  ssh_port?: number;
}

export interface DockerConfig {
  image?: string;
  head_image?: string;
  worker_image?: string;
  container_name: string;
  pull_before_run: boolean;
  run_options: string[];
  head_run_options: string[];
  worker_run_options: string[];
  /** The container engine's command: "docker" (default) or "podman"; `use_podman: true` is Ray's spelling. */
  engine: string;
  disable_automatic_runtime_detection?: boolean;
  disable_shm_size_detection?: boolean;
}

export interface NodeTypeConfig {
  node_config: Record<string, unknown>;
  resources: Record<string, number>;
  labels: Record<string, string>;
  min_workers: number;
  max_workers: number;
  /** Per-type overrides, as Ray allows: each replaces the global list(s) on nodes of this type. */
  initialization_commands?: string[];
  worker_setup_commands?: string[];
  docker?: Partial<DockerConfig>;
}

export interface ProviderConfig {
  type: string;
  /** `external`: the module path (file or package) whose default export (or `provider`) is a ProviderModule. */
  module?: string;
  // local
  head_ip?: string;
  worker_ips?: string[];
  external_head_ip?: string;
  // clouds
  region?: string;
  availability_zone?: string;
  project_id?: string;
  namespace?: string;
  cache_stopped_nodes?: boolean;
  use_internal_ips?: boolean;
  [key: string]: unknown;
}

export interface ClusterConfig {
  cluster_name: string;
  max_workers: number;
  upscaling_speed: number;
  idle_timeout_minutes: number;
  provider: ProviderConfig;
  auth: AuthConfig;
  docker?: DockerConfig;
  available_node_types: Record<string, NodeTypeConfig>;
  head_node_type: string;
  /** remote path → local path */
  file_mounts: Record<string, string>;
  cluster_synced_files: string[];
  file_mounts_sync_continuously: boolean;
  rsync_exclude: string[];
  rsync_filter: string[];
  initialization_commands: string[];
  setup_commands: string[];
  head_setup_commands: string[];
  worker_setup_commands: string[];
  head_start_ray_commands: string[];
  worker_start_ray_commands: string[];
  /** User data (Ray's `metadata`); Stingray does not interpret it. */
  metadata?: Record<string, unknown>;
  /** Where the config was read from (for messages); not part of any hash. */
  _source?: string;
}
