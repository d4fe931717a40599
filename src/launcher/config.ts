/**
 * @module launcher/config
 * Loading a cluster YAML (`stingray up CONFIG.yaml`) into a `ClusterConfig`: parse keeping
 * positions, validate against schema.json, then Ray's semantic checks and `prepare_config`
 * (defaults, legacy `head_node`/`worker_nodes`, `prepare_local`, merged setup commands). Every
 * problem found is reported at once, one per line, as `file:line: key.path: what; what to do`.
 * Warnings (values Ray clamps) go to `options.warn` and never throw. Also: the copy of the config
 * written to the head (`clusterConfigForHead`) and a YAML dump that reads back equal.
 */
import fs from "node:fs";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { parseDocument, LineCounter, isMap, isSeq, isScalar, stringify, type Document, type Node } from "yaml";
import { ConfigError } from "../common/errors.ts";
import type { AuthConfig, ClusterConfig, DockerConfig, NodeTypeConfig, ProviderConfig } from "./types.ts";

/** `stingray up --cluster-name / --min-workers / --max-workers`, with Ray's meaning. */
export interface ConfigOverrides {
  clusterName?: string;
  /** Sets min_workers of every worker node type (clamped to the type's max_workers, with a warning). */
  minWorkers?: number;
  /** Replaces the global max_workers (before node types default theirs to it). */
  maxWorkers?: number;
}

export interface ParseOptions {
  /** Where warnings go (default: stderr). */
  warn?: (message: string) => void;
}

export const DEFAULT_HEAD_START_COMMANDS = [
  "stingray stop",
  "ulimit -n 65536; stingray start --head --port=6379 --autoscaling-config=~/stingray_bootstrap_config.yaml",
];
export const DEFAULT_WORKER_START_COMMANDS = ["stingray stop", "ulimit -n 65536; stingray start --address=$STINGRAY_HEAD_IP:6379"];
export const BOOTSTRAP_CONFIG_PATH = "~/stingray_bootstrap_config.yaml";
export const BOOTSTRAP_KEY_PATH = "~/stingray_bootstrap_key.pem";
/** Ray's names: the one node type of a local cluster, and the types legacy configs become. */
export const LOCAL_NODE_TYPE = "local.cluster.node";
export const LEGACY_HEAD_TYPE = "ray.head.default";
export const LEGACY_WORKER_TYPE = "ray.worker.default";

const SSH_PROVIDERS = new Set(["local", "aws", "gcp"]);
const DEPRECATED = ["initial_workers", "autoscaling_mode", "target_utilization_fraction", "worker_default_node_type", "no_restart"];
const ALIASES = [["head_start_ray_commands", "head_start_stingray_commands"], ["worker_start_ray_commands", "worker_start_stingray_commands"]] as const;
const YAML_OPTIONS = { version: "1.1" } as const; // Ray's files are read by PyYAML: YAML 1.1 (`yes`, `True` are booleans)

type Path = Array<string | number>;
type Raw = Record<string, unknown>;

let validator: ValidateFunction | undefined;
function validate(data: unknown): ErrorObject[] {
  if (!validator) {
    const schema = JSON.parse(fs.readFileSync(new URL("./schema.json", import.meta.url), "utf8")) as object;
    validator = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true }).compile(schema);
  }
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

/** Problems with their YAML line, formatted the same way for errors and warnings. */
class Reporter {
  readonly problems: Array<{ line: number; text: string }> = [];
  private readonly doc: Document | undefined;
  private readonly lc: LineCounter;
  private readonly source: string;
  private readonly data: unknown;
  private readonly warnSink: (m: string) => void;
  constructor(source: string, doc: Document | undefined, lc: LineCounter, data: unknown, warn: (m: string) => void) {
    this.source = source; this.doc = doc; this.lc = lc; this.data = data; this.warnSink = warn;
  }
  /** Line of the deepest key (or list item) of `path` present in the YAML; 0 when none is. */
  line(path: Path): number {
    let node: unknown = this.doc?.contents;
    let offset: number | undefined;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        offset = (pair.key as Node).range?.[0] ?? offset;
        node = pair.value;
      } else if (isSeq(node)) {
        const item = node.items[Number(seg)] as Node | undefined;
        if (!item) break;
        offset = item.range?.[0] ?? offset;
        node = item;
      } else break;
    }
    return offset === undefined ? 1 : this.lc.linePos(offset).line;
  }
  /** The YAML source text of a scalar (to show `no` where the value became `false`). */
  scalarSource(path: Path): string | undefined {
    const n = this.doc?.getIn(path, true);
    return isScalar(n) && typeof n.source === "string" ? n.source : undefined;
  }
  /** `at`: where to point when `path` itself is not in the file (a missing key: its parent). */
  format(path: Path, text: string, at: Path = path): string {
    const where = this.doc ? `${this.source}:${this.line(at)}` : this.source;
    return path.length ? `${where}: ${formatPath(this.data, path)}: ${text}` : `${where}: ${text}`;
  }
  error(path: Path, text: string, at: Path = path): void { this.problems.push({ line: this.line(at), text: this.format(path, text, at) }); }
  /** A problem of the command line, not of a line of the file. */
  general(text: string): void { this.problems.push({ line: 0, text: `${this.source}: ${text}` }); }
  warn(path: Path, text: string): void { this.warnSink(this.format(path, text)); }
  throwIfAny(): void {
    if (!this.problems.length) return;
    const lines = [...new Set(this.problems.sort((a, b) => a.line - b.line).map((p) => p.text))];
    throw new ConfigError(lines.length === 1 ? lines[0]! : `${lines.length} problems in the cluster config:\n${lines.join("\n")}`);
  }
}

/** `available_node_types["ray.head.default"].resources.CPU`, `setup_commands[2]`. */
function formatPath(data: unknown, path: Path): string {
  let out = "";
  let cur = data;
  for (const seg of path) {
    if (Array.isArray(cur)) out += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(String(seg))) out += out ? `.${seg}` : String(seg);
    else out += `[${JSON.stringify(String(seg))}]`;
    cur = cur !== null && typeof cur === "object" ? (cur as Record<string, unknown>)[String(seg)] : undefined;
  }
  return out;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The closest known name, if it is close enough to be a typo. */
export function didYouMean(word: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestD) { best = k; bestD = d; }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return JSON.stringify(v);
}

const TYPE_NAMES: Record<string, string> = {
  number: "a number", integer: "a whole number", string: "a string", boolean: "true or false",
  object: "a mapping", array: "a list", null: "null",
};

function getAt(data: unknown, path: Path): unknown {
  let cur = data;
  for (const seg of path) cur = cur !== null && typeof cur === "object" ? (cur as Record<string, unknown>)[String(seg)] : undefined;
  return cur;
}

/** One ajv error → one problem at the YAML line of its key. */
function reportSchemaError(r: Reporter, data: unknown, e: ErrorObject): void {
  const path: Path = e.instancePath ? e.instancePath.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~")) : [];
  const value = getAt(data, path);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "type": {
      const types = (Array.isArray(p.type) ? p.type : String(p.type).split(",")) as string[];
      const want = types.map((t) => TYPE_NAMES[t] ?? t).join(" or ");
      const src = r.scalarSource(path);
      const got = typeof value === "boolean" && types.includes("string") && src
        ? `${src}, which YAML reads as ${value}; quote it: "${src}"` : describe(value);
      r.error(path, `must be ${want} (got ${got}); fix the value or remove the key`);
      return;
    }
    case "additionalProperties": {
      const key = String(p.additionalProperty);
      const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {}).filter((k) => !DEPRECATED.includes(k));
      const guess = known.length ? didYouMean(key, known) : undefined;
      r.error([...path, key], guess ? `unknown key; did you mean "${guess}"?` : known.length
        ? `unknown key; remove it (known keys here: ${known.join(", ")})` : "unknown key; remove it");
      return;
    }
    case "required": {
      const key = String(p.missingProperty);
      const fix = key === "provider" ? "add a provider section, e.g. `provider: {type: local, head_ip: ..., worker_ips: [...]}`"
        : key === "type" ? "set provider.type to one of local, fake_multinode, aws, gcp, kubernetes, external" : `add ${key}`;
      r.error(path, `missing required key "${key}"; ${fix}`);
      return;
    }
    case "enum": {
      const allowed = (p.allowedValues as unknown[]).map(String);
      const guess = typeof value === "string" ? didYouMean(value, allowed) : undefined;
      r.error(path, `must be one of ${allowed.join(", ")} (got ${describe(value)})${guess ? `; did you mean "${guess}"?` : ""}`);
      return;
    }
    case "minimum": case "maximum": case "exclusiveMinimum":
      r.error(path, `must be ${e.keyword === "maximum" ? "<=" : e.keyword === "minimum" ? ">=" : ">"} ${String(p.limit)} (got ${describe(value)}); fix the value or remove the key`);
      return;
    case "minLength":
      r.error(path, "must not be empty; give a value or remove the key");
      return;
    case "pattern":
      if (path.length === 1 && path[0] === "cluster_name") {
        r.error(path, `must start with a letter or digit and use only letters, digits, "_", "." and "-" (got ${describe(value)})`);
      } else r.error(path, `must match ${String(p.pattern)} (got ${describe(value)})`);
      return;
    default:
      r.error(path, `${e.message ?? "is invalid"} (got ${describe(value)})`);
  }
}

/** Parse YAML text into the plain object and its positions; syntax errors become ConfigErrors. */
function parseYaml(text: string, source: string): { doc: Document; lc: LineCounter; data: unknown } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { ...YAML_OPTIONS, lineCounter: lc, prettyErrors: false });
  if (doc.errors.length) {
    const lines = doc.errors.map((e) => {
      const pos = lc.linePos(e.pos[0]);
      return `${source}:${pos.line}:${pos.col}: YAML syntax error: ${e.message.split("\n")[0]}`;
    });
    throw new ConfigError(lines.length === 1 ? lines[0]! : `${lines.length} YAML syntax errors:\n${lines.join("\n")}`);
  }
  let data: unknown;
  try { data = doc.toJS({ maxAliasCount: 1000 }); } catch (e) { throw new ConfigError(`${source}: ${(e as Error).message}`); }
  return { doc, lc, data };
}

/** Read, validate and prepare the cluster config in `file` (see parseClusterConfig). */
export function loadClusterConfig(file: string, overrides: ConfigOverrides = {}, options: ParseOptions = {}): ClusterConfig {
  let text: string;
  try { text = fs.readFileSync(file, "utf8"); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ConfigError(`cluster config ${file} does not exist; give the path of a cluster YAML file (examples in examples/cluster/)`);
    if (code === "EISDIR") throw new ConfigError(`cluster config ${file} is a directory; give the path of a cluster YAML file`);
    throw new ConfigError(`cannot read cluster config ${file}: ${(e as Error).message}`);
  }
  return parseClusterConfig(text, file, overrides, options);
}

/**
 * Parse cluster YAML `text` (named `source` in messages), apply the CLI overrides, validate, and
 * return the config with every default filled. Throws one ConfigError listing every problem.
 */
export function parseClusterConfig(text: string, source: string, overrides: ConfigOverrides = {}, options: ParseOptions = {}): ClusterConfig {
  const warn = options.warn ?? ((m: string) => { process.stderr.write(`stingray: warning: ${m}\n`); });
  const { doc, lc, data } = parseYaml(text, source);
  if (data === null || data === undefined) {
    throw new ConfigError(`${source}: the cluster config is empty; it needs at least a provider section (examples in examples/cluster/)`);
  }
  if (typeof data !== "object" || Array.isArray(data)) {
    throw new ConfigError(`${source}:1: the cluster config must be a mapping of keys (cluster_name:, provider:, ...), got ${describe(data)}`);
  }
  const r = new Reporter(source, doc, lc, data, warn);
  for (const e of validate(data)) reportSchemaError(r, data, e);
  r.throwIfAny();
  const config = prepare(structuredClone(data as Raw), overrides, r);
  r.throwIfAny();
  config._source = source;
  return config;
}

function checkCount(r: Reporter, flag: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 0)) r.general(`${flag} must be a whole number >= 0 (got ${v})`);
}

/** Ray's prepare_config + prepare_local on schema-valid data. */
function prepare(raw: Raw, overrides: ConfigOverrides, r: Reporter): ClusterConfig {
  for (const k of DEPRECATED) {
    if (k in raw) { r.warn([k], "is deprecated in Ray and ignored by Stingray; remove it"); delete raw[k]; }
  }
  if (overrides.clusterName !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(overrides.clusterName)) {
      r.general(`--cluster-name "${overrides.clusterName}" must start with a letter or digit and use only letters, digits, "_", "." and "-"`);
    }
    raw.cluster_name = overrides.clusterName;
  }
  checkCount(r, "--max-workers", overrides.maxWorkers);
  checkCount(r, "--min-workers", overrides.minWorkers);
  if (overrides.maxWorkers !== undefined) raw.max_workers = overrides.maxWorkers;

  const provider = { ...(raw.provider as ProviderConfig) };
  if (provider.project_id === null) delete provider.project_id;
  const type = provider.type;
  const auth = prepareAuth(raw.auth as Raw | undefined);
  if (type === "external" && !provider.module) {
    r.error(["provider", "module"], "is missing; provider type external needs it: the file or package whose default export is a ProviderModule", ["provider"]);
  }
  if (type !== "external" && provider.module !== undefined) r.warn(["provider", "module"], `is only used by provider type external; ignored for ${type}`);
  if (SSH_PROVIDERS.has(type) && !auth.ssh_user) {
    r.error(["auth", "ssh_user"], `is missing; provider type ${type} connects to its nodes over SSH: set it to the login user (e.g. ubuntu)`,
      raw.auth ? ["auth"] : ["provider", "type"]);
  }
  const numIps = type === "local" ? checkLocal(provider, r) : 0;

  const globalMax = (raw.max_workers as number | undefined) ?? (type === "local" ? numIps : 2);
  const types = prepareNodeTypes(raw, type, globalMax, numIps, r);
  let maxWorkers = globalMax;
  if (type === "local" && maxWorkers > numIps) {
    r.warn(["max_workers"], `${maxWorkers} is more than the ${numIps} worker_ips; using max_workers: ${numIps}`);
    maxWorkers = numIps;
  }
  if (types) {
    const { nodeTypes, headType } = types;
    for (const [name, t] of Object.entries(nodeTypes)) {
      const isWorkerType = name !== headType || t.max_workers > 0;
      if (overrides.minWorkers !== undefined && isWorkerType) {
        if (overrides.minWorkers > t.max_workers) {
          r.warn(["available_node_types", name, "max_workers"], `--min-workers ${overrides.minWorkers} is more than max_workers; using min_workers: ${t.max_workers}`);
        }
        t.min_workers = Math.min(overrides.minWorkers, t.max_workers);
      }
      if (t.min_workers > t.max_workers) {
        r.error(["available_node_types", name, "min_workers"], `${t.min_workers} is more than max_workers (${t.max_workers}); lower min_workers or raise max_workers`);
      }
      if (type === "fake_multinode" && typeof t.resources.CPU !== "number") {
        r.error(["available_node_types", name, "resources"], "the fake_multinode provider cannot detect a node's size: set resources.CPU (and GPU, memory when used)");
      }
    }
    const minSum = Object.entries(nodeTypes).reduce((s, [n, t]) => s + (n === headType ? 0 : t.min_workers), 0);
    if (minSum > maxWorkers) r.warn(["max_workers"], `the node types' min_workers add up to ${minSum}, more than max_workers (${maxWorkers}); at most ${maxWorkers} workers will be started`);
  }

  const docker = prepareDocker(raw.docker as Raw | undefined, r);
  const cmds = (k: string): string[] => [...((raw[k] as string[] | undefined) ?? [])];
  for (const [rayKey, alias] of ALIASES) {
    if (rayKey in raw && alias in raw) r.error([alias], `is an alias of ${rayKey}, which is also given; keep one of them`);
  }
  const start = (rayKey: string, alias: string, dflt: string[]): string[] =>
    [...((raw[rayKey] ?? raw[alias] ?? dflt) as string[])];
  const setup = cmds("setup_commands");

  const config: ClusterConfig = {
    cluster_name: (raw.cluster_name as string | undefined) ?? "default",
    max_workers: maxWorkers,
    upscaling_speed: (raw.upscaling_speed as number | undefined) ?? 1,
    idle_timeout_minutes: (raw.idle_timeout_minutes as number | undefined) ?? 5,
    provider,
    auth,
    available_node_types: types?.nodeTypes ?? {},
    head_node_type: types?.headType ?? "",
    file_mounts: { ...((raw.file_mounts as Record<string, string> | undefined) ?? {}) },
    cluster_synced_files: cmds("cluster_synced_files"),
    file_mounts_sync_continuously: (raw.file_mounts_sync_continuously as boolean | undefined) ?? false,
    rsync_exclude: cmds("rsync_exclude"),
    rsync_filter: cmds("rsync_filter"),
    initialization_commands: cmds("initialization_commands"),
    setup_commands: setup,
    // Ray's merge_setup_commands: the head and worker lists below are what a node runs
    // (setup_commands first); setup_commands stays for reference and for dumping back.
    head_setup_commands: [...setup, ...cmds("head_setup_commands")],
    worker_setup_commands: [...setup, ...cmds("worker_setup_commands")],
    head_start_ray_commands: start("head_start_ray_commands", "head_start_stingray_commands", DEFAULT_HEAD_START_COMMANDS),
    worker_start_ray_commands: start("worker_start_ray_commands", "worker_start_stingray_commands", DEFAULT_WORKER_START_COMMANDS),
  };
  if (docker) config.docker = docker;
  if (raw.metadata !== undefined) config.metadata = raw.metadata as Record<string, unknown>;
  return config;
}

function prepareAuth(a: Raw | undefined): AuthConfig {
  const auth: AuthConfig = { ssh_user: (a?.ssh_user as string | undefined) ?? "" };
  for (const k of ["ssh_private_key", "ssh_public_key", "ssh_proxy_command"] as const) {
    if (typeof a?.[k] === "string") auth[k] = a[k];
  }
  if (typeof a?.ssh_port === "number") auth.ssh_port = a.ssh_port;
  if (a?.ssh_options) {
    // YAML 1.1 reads `StrictHostKeyChecking: no` as false; ssh wants yes/no.
    auth.ssh_options = Object.fromEntries(Object.entries(a.ssh_options as Record<string, unknown>)
      .map(([k, v]) => [k, typeof v === "boolean" ? (v ? "yes" : "no") : String(v)]));
  }
  return auth;
}

/** The local provider's hosts; returns len(worker_ips). */
function checkLocal(p: ProviderConfig, r: Reporter): number {
  if (p.head_ip === undefined || p.worker_ips === undefined) {
    r.error(["provider"], "the local provider needs the machines' addresses: supply a head_ip and the list of worker_ips (worker_ips: [] for a head-only cluster)");
    return p.worker_ips?.length ?? 0;
  }
  const seen = new Set<string>();
  p.worker_ips.forEach((ip, i) => {
    if (ip === p.head_ip) r.error(["provider", "worker_ips", i], `${ip} is the head_ip; list each machine once, the head only as head_ip`);
    else if (seen.has(ip)) r.error(["provider", "worker_ips", i], `${ip} is listed twice; list each machine once`);
    seen.add(ip);
  });
  return p.worker_ips.length;
}

function fillNodeType(t: Raw, isHead: boolean, globalMax: number): NodeTypeConfig {
  const out: NodeTypeConfig = {
    node_config: structuredClone((t.node_config as Record<string, unknown> | undefined) ?? {}),
    resources: { ...((t.resources as Record<string, number> | undefined) ?? {}) },
    labels: { ...((t.labels as Record<string, string> | undefined) ?? {}) },
    min_workers: (t.min_workers as number | undefined) ?? 0,
    // Ray: a type's max_workers defaults to the global one, except the head type's (0).
    max_workers: (t.max_workers as number | undefined) ?? (isHead ? 0 : globalMax),
  };
  if (t.initialization_commands) out.initialization_commands = [...(t.initialization_commands as string[])];
  if (t.worker_setup_commands) out.worker_setup_commands = [...(t.worker_setup_commands as string[])];
  if (t.docker) out.docker = structuredClone(t.docker as Partial<DockerConfig>);
  return out;
}

/** available_node_types and head_node_type, from the config, a legacy config or prepare_local. */
function prepareNodeTypes(raw: Raw, type: string, globalMax: number, numIps: number, r: Reporter):
  { nodeTypes: Record<string, NodeTypeConfig>; headType: string } | undefined {
  const given = raw.available_node_types as Record<string, Raw> | undefined;
  const legacyHead = raw.head_node as Raw | undefined;
  const legacyWorker = raw.worker_nodes as Raw | undefined;
  const hasLegacy = (legacyHead && Object.keys(legacyHead).length > 0) || (legacyWorker && Object.keys(legacyWorker).length > 0);
  const topMin = raw.min_workers as number | undefined;

  if (given) {
    if (hasLegacy) r.warn([legacyHead ? "head_node" : "worker_nodes"], "is ignored because available_node_types is given; remove head_node and worker_nodes");
    if (topMin !== undefined) r.warn(["min_workers"], "the top-level min_workers is ignored when available_node_types is given; set min_workers per node type");
    const names = Object.keys(given);
    if (!names.length) { r.error(["available_node_types"], "is empty; define at least the head's node type"); return undefined; }
    const head = raw.head_node_type as string | undefined;
    if (head === undefined) {
      r.error(["head_node_type"], `is missing; set it to the node type that runs the head (one of ${names.join(", ")})`, ["available_node_types"]);
      return undefined;
    }
    if (!(head in given)) {
      const guess = didYouMean(head, names);
      r.error(["head_node_type"], `"${head}" is not a key of available_node_types (${names.join(", ")})${guess ? `; did you mean "${guess}"?` : ""}`);
      return undefined;
    }
    const nodeTypes: Record<string, NodeTypeConfig> = {};
    for (const [name, t] of Object.entries(given)) {
      const nt = fillNodeType(t, name === head, globalMax);
      if (type === "local") {
        // Stingray extension: node types on a local cluster; there are only numIps workers.
        for (const k of ["min_workers", "max_workers"] as const) {
          if (nt[k] > numIps) {
            r.warn(["available_node_types", name, k], `${nt[k]} is more than the ${numIps} worker_ips; using ${k}: ${numIps}`);
            nt[k] = numIps;
          }
        }
      }
      nodeTypes[name] = nt;
    }
    return { nodeTypes, headType: head };
  }
  if (raw.head_node_type !== undefined) {
    r.error(["head_node_type"], "names a node type but available_node_types is missing; define available_node_types or remove head_node_type");
    return undefined;
  }

  if (type === "local") {
    // Ray's prepare_local: one node type for the head and every worker; resources are detected.
    if (hasLegacy) r.error([legacyHead ? "head_node" : "worker_nodes"], "is not supported by the local provider; remove it (the hosts are provider.head_ip and provider.worker_ips)");
    const max = Math.min(globalMax, numIps);
    let min = topMin ?? numIps;
    if (min > numIps) {
      r.warn(["min_workers"], `${min} is more than the ${numIps} worker_ips; using min_workers: ${numIps}`);
      min = numIps;
    }
    if (min > max) {
      if (topMin !== undefined) r.error(["min_workers"], `${min} is more than max_workers (${max}); lower min_workers or raise max_workers`);
      else r.warn(["max_workers"], `${max} is less than the ${numIps} worker_ips; at most ${max} of them join the cluster`);
      min = Math.min(min, max);
    }
    return {
      nodeTypes: { [LOCAL_NODE_TYPE]: { node_config: {}, resources: {}, labels: {}, min_workers: min, max_workers: max } },
      headType: LOCAL_NODE_TYPE,
    };
  }

  if (type === "fake_multinode") {
    r.error(["available_node_types"], "is missing; the fake_multinode provider needs node types with resources (at least CPU) and head_node_type", ["provider", "type"]);
    return undefined;
  }
  // Ray's rewrite_legacy_yaml_to_available_node_types; also what a config with neither gets
  // (Ray fills head_node/worker_nodes from the provider's defaults.yaml; here the provider's
  // bootstrapConfig fills an empty node_config).
  const legacy = (n: Raw | undefined): Raw => {
    const { resources, ...nodeConfig } = n ?? {};
    return { node_config: nodeConfig, resources: (resources as Raw | undefined) ?? {} };
  };
  const head = legacy(legacyHead);
  const worker = legacy(legacyWorker);
  for (const [key, t] of [["head_node", head], ["worker_nodes", worker]] as const) {
    for (const [res, v] of Object.entries(t.resources as Raw)) {
      if (typeof v !== "number" || v < 0) r.error([key, "resources", res], `must be a number >= 0 (got ${describe(v)}); fix the value or remove the key`);
    }
  }
  return {
    nodeTypes: {
      [LEGACY_HEAD_TYPE]: fillNodeType({ ...head, min_workers: 0, max_workers: 0 }, true, globalMax),
      [LEGACY_WORKER_TYPE]: fillNodeType({ ...worker, min_workers: topMin ?? 0, max_workers: globalMax }, false, globalMax),
    },
    headType: LEGACY_HEAD_TYPE,
  };
}

/** Ray's validate_docker_config: a docker section without any image means no docker. */
function prepareDocker(d: Raw | undefined, r: Reporter): DockerConfig | undefined {
  if (!d) return undefined;
  const image = d.image as string | undefined;
  const headImage = d.head_image as string | undefined;
  const workerImage = d.worker_image as string | undefined;
  if (!image && !headImage && !workerImage) {
    if (Object.keys(d).length) r.warn(["docker"], "has no image, so commands run on the hosts, not in containers; set docker.image to use containers");
    return undefined;
  }
  if (!image && !(headImage && workerImage)) {
    r.error(["docker"], `${headImage ? "head_image" : "worker_image"} is given without docker.image; set docker.image (or both head_image and worker_image)`);
  }
  if (d.use_podman === true && d.engine !== undefined && d.engine !== "podman") {
    r.error(["docker", "engine"], `is "${String(d.engine)}" but use_podman is true; keep one of them`);
  }
  const out: DockerConfig = {
    container_name: (d.container_name as string | undefined) || "stingray_container",
    pull_before_run: (d.pull_before_run as boolean | undefined) ?? true,
    run_options: [...((d.run_options as string[] | undefined) ?? [])],
    head_run_options: [...((d.head_run_options as string[] | undefined) ?? [])],
    worker_run_options: [...((d.worker_run_options as string[] | undefined) ?? [])],
    engine: (d.engine as string | undefined) ?? (d.use_podman === true ? "podman" : "docker"),
  };
  if (image) out.image = image;
  if (headImage) out.head_image = headImage;
  if (workerImage) out.worker_image = workerImage;
  for (const k of ["disable_automatic_runtime_detection", "disable_shm_size_detection"] as const) {
    if (typeof d[k] === "boolean") out[k] = d[k];
  }
  return out;
}

/**
 * The config written to the head as ~/stingray_bootstrap_config.yaml, as Ray's
 * `_set_up_config_for_head_node`: the SSH key at its path on the head, file_mounts pointing at
 * the already synced copies on the head (remote → remote, so the autoscaler there can hash and
 * sync them to workers), and no ssh_proxy_command (the head reaches workers directly).
 */
export function clusterConfigForHead(config: ClusterConfig, keyPathOnHead = BOOTSTRAP_KEY_PATH): ClusterConfig {
  const out = structuredClone(config);
  if (out.auth.ssh_private_key !== undefined) out.auth.ssh_private_key = keyPathOnHead;
  delete out.auth.ssh_proxy_command;
  out.file_mounts = Object.fromEntries(Object.keys(config.file_mounts).map((remote) => [remote, remote]));
  return out;
}

function startsWith(list: string[], prefix: string[]): boolean {
  return prefix.length <= list.length && prefix.every((c, i) => list[i] === c);
}

/** YAML text that parseClusterConfig reads back to an equal config (`_source` aside). */
export function dumpClusterConfig(config: ClusterConfig): string {
  const { setup_commands: setup, head_setup_commands: head, worker_setup_commands: worker } = config;
  // The head/worker lists hold setup_commands merged in front; unmerge them so that reading the
  // dump back merges once. If a caller changed setup_commands since, keep what the nodes run.
  const merged = startsWith(head, setup) && startsWith(worker, setup);
  const auth: Record<string, unknown> = { ...config.auth };
  if (!config.auth.ssh_user) delete auth.ssh_user;
  const out: Record<string, unknown> = {
    cluster_name: config.cluster_name,
    max_workers: config.max_workers,
    upscaling_speed: config.upscaling_speed,
    idle_timeout_minutes: config.idle_timeout_minutes,
    provider: config.provider,
    auth,
    ...(config.docker ? { docker: config.docker } : {}),
    available_node_types: config.available_node_types,
    head_node_type: config.head_node_type,
    file_mounts: config.file_mounts,
    cluster_synced_files: config.cluster_synced_files,
    file_mounts_sync_continuously: config.file_mounts_sync_continuously,
    rsync_exclude: config.rsync_exclude,
    rsync_filter: config.rsync_filter,
    ...(config.metadata !== undefined ? { metadata: config.metadata } : {}),
    initialization_commands: config.initialization_commands,
    setup_commands: merged ? setup : [],
    head_setup_commands: merged ? head.slice(setup.length) : head,
    worker_setup_commands: merged ? worker.slice(setup.length) : worker,
    head_start_ray_commands: config.head_start_ray_commands,
    worker_start_ray_commands: config.worker_start_ray_commands,
  };
  return `# Stingray cluster config${config._source ? ` (from ${config._source})` : ""}, defaults filled in.\n`
    + stringify(out, { ...YAML_OPTIONS, lineWidth: 0 });
}
