/**
 * @module test/helpers/stub_clouds/gce
 * A small stateful stand-in for the Compute Engine REST API (v1) on 127.0.0.1, enough for the GCP
 * provider: zonal instances (insert, get, list with a filter expression and pages, setLabels with
 * the label fingerprint, delete) and zone operations (get, wait). It answers JSON as GCE does and
 * enforces the rules a provider can get wrong: label keys and values (`[a-z0-9_-]`, at most 63
 * characters, keys start with a letter), instance names, the fingerprint on setLabels (412 when
 * stale). Inserts and deletes return RUNNING operations that finish after `operationMs`;
 * instances go PROVISIONING → STAGING → RUNNING after `transitionMs`. Every request is recorded.
 */
import http from "node:http";
import { createHash, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";

export interface GceRequest { method: string; path: string; query: URLSearchParams; body: unknown }

export interface StubGceInstance {
  name: string;
  zone: string;
  status: "PROVISIONING" | "STAGING" | "RUNNING" | "STOPPING";
  labels: Record<string, string>;
  body: Record<string, unknown>;
  networkIP: string;
  natIP?: string;
  since: number;
}

export interface StubOperation {
  name: string;
  zone: string;
  operationType: string;
  targetLink: string;
  status: "PENDING" | "RUNNING" | "DONE";
  doneAt: number;
  error?: { errors: Array<{ code: string; message: string }> };
  onDone?: () => void;
}

export interface GceStubOptions {
  /** How long an insert or delete operation runs. Default 40 ms. */
  operationMs?: number;
  /** How long PROVISIONING, STAGING and STOPPING each last. Default 30 ms. */
  transitionMs?: number;
  /** Page size of instances.list (to exercise pageToken). Default 2. */
  pageSize?: number;
}

export interface GceStub {
  url: string;
  requests: GceRequest[];
  instances: Map<string, StubGceInstance>;
  operations: Map<string, StubOperation>;
  /** Make the next insert operations end with this error (as a quota failure does). */
  failInserts: string[];
  /** Let this many setLabels calls find that someone else changed the labels first (412). */
  concurrentLabelChanges: number;
  close(): Promise<void>;
}

const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const INSTANCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

class GceError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

function fingerprint(labels: Record<string, string>): string {
  const sorted = Object.keys(labels).sort().map((k) => [k, labels[k]]);
  return createHash("sha256").update(JSON.stringify(sorted)).digest("base64").slice(0, 12);
}

function checkLabels(labels: unknown): Record<string, string> {
  const l = (labels ?? {}) as Record<string, unknown>;
  if (Object.keys(l).length > 64) throw new GceError(400, "invalid", "Invalid value for field 'labels': at most 64 labels");
  for (const [k, v] of Object.entries(l)) {
    if (!LABEL_KEY.test(k)) throw new GceError(400, "invalid", `Invalid value for field 'labels': label key '${k}' violates format constraints`);
    if (typeof v !== "string" || !LABEL_VALUE.test(v)) throw new GceError(400, "invalid", `Invalid value for field 'labels': label value '${String(v)}' of key '${k}' violates format constraints`);
  }
  return l as Record<string, string>;
}

// --- instances.list filter expressions: comparisons joined by AND / OR, with parentheses ---
type Tok = { t: "(" | ")" | "AND" | "OR" } | { t: "cmp"; field: string; op: "=" | "!="; value: string };

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  const re = /\s*(?:(\()|(\))|(AND)\b|(OR)\b|([\w.-]+)\s*(!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s()]+)))/y;
  let pos = 0;
  while (pos < s.length) {
    if (/^\s*$/.test(s.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw new GceError(400, "invalid", `Invalid list filter expression at ${pos}: ${s}`);
    pos = re.lastIndex;
    if (m[1]) out.push({ t: "(" });
    else if (m[2]) out.push({ t: ")" });
    else if (m[3]) out.push({ t: "AND" });
    else if (m[4]) out.push({ t: "OR" });
    else out.push({ t: "cmp", field: m[5]!, op: m[6] as "=" | "!=", value: m[7] ?? m[8] ?? "" });
  }
  return out;
}

type Pred = (i: StubGceInstance) => boolean;

function parseFilter(s: string): Pred {
  const toks = tokenize(s);
  let k = 0;
  const field = (i: StubGceInstance, f: string): string | undefined => {
    if (f === "status") return i.status;
    if (f === "name") return i.name;
    if (f.startsWith("labels.")) return i.labels[f.slice(7)];
    throw new GceError(400, "invalid", `Invalid list filter field '${f}'`);
  };
  // Juxtaposed terms mean AND, as in GCE.
  const expr = (): Pred => {
    let left = term();
    for (;;) {
      const t = toks[k];
      if (!t || t.t === ")") return left;
      const op = t.t === "OR" ? "OR" : "AND";
      if (t.t === "OR" || t.t === "AND") k++;
      const right = term();
      const l = left;
      left = op === "OR" ? (i) => l(i) || right(i) : (i) => l(i) && right(i);
    }
  };
  const term = (): Pred => {
    const t = toks[k++];
    if (!t) throw new GceError(400, "invalid", `Invalid list filter expression: ${s}`);
    if (t.t === "(") {
      const e = expr();
      if (toks[k++]?.t !== ")") throw new GceError(400, "invalid", `Unbalanced parentheses in filter: ${s}`);
      return e;
    }
    if (t.t !== "cmp") throw new GceError(400, "invalid", `Invalid list filter expression: ${s}`);
    return t.op === "=" ? (i) => field(i, t.field) === t.value : (i) => field(i, t.field) !== t.value;
  };
  const p = toks.length ? expr() : () => true;
  if (k < toks.length) throw new GceError(400, "invalid", `Invalid list filter expression: ${s}`);
  return p;
}

export async function startGceStub(opts: GceStubOptions = {}): Promise<GceStub> {
  const operationMs = opts.operationMs ?? 40;
  const transitionMs = opts.transitionMs ?? 30;
  const pageSize = opts.pageSize ?? 2;
  const requests: GceRequest[] = [];
  const instances = new Map<string, StubGceInstance>();
  const operations = new Map<string, StubOperation>();
  const failInserts: string[] = [];
  let ip = 2;
  let base = "";

  const tick = (): void => {
    const now = Date.now();
    for (const op of operations.values()) {
      if (op.status !== "DONE" && now >= op.doneAt) { op.status = "DONE"; op.onDone?.(); }
    }
    for (const i of instances.values()) {
      if (now - i.since < transitionMs) continue;
      if (i.status === "PROVISIONING") { i.status = "STAGING"; i.since = now; }
      else if (i.status === "STAGING") {
        i.status = "RUNNING"; i.since = now;
        const nic = (i.body.networkInterfaces as Array<{ accessConfigs?: unknown[] }> | undefined)?.[0];
        if (nic?.accessConfigs?.length) i.natIP = `198.51.100.${i.networkIP.split(".")[3]}`;
      }
    }
  };

  const operation = (zone: string, type: string, target: string, onDone?: () => void, error?: string): StubOperation => {
    const op: StubOperation = {
      name: `operation-${Date.now()}-${randomBytes(4).toString("hex")}`, zone, operationType: type,
      targetLink: `${base}/compute/v1/${target}`, status: "RUNNING", doneAt: Date.now() + operationMs, onDone,
      ...(error ? { error: { errors: [{ code: error, message: `stub: ${error}` }] } } : {}),
    };
    operations.set(op.name, op);
    return op;
  };

  const opJson = (op: StubOperation): Record<string, unknown> => ({
    kind: "compute#operation", id: String(op.name.length), name: op.name, zone: `${base}/compute/v1/zones/${op.zone}`,
    operationType: op.operationType, targetLink: op.targetLink, status: op.status, progress: op.status === "DONE" ? 100 : 50,
    ...(op.status === "DONE" && op.error ? { error: op.error } : {}),
  });

  const instanceJson = (i: StubGceInstance, project: string): Record<string, unknown> => {
    const nics = ((i.body.networkInterfaces as Array<Record<string, unknown>> | undefined) ?? [{}]).map((n, idx) => ({
      ...n, networkIP: i.networkIP,
      accessConfigs: ((n.accessConfigs as Array<Record<string, unknown>> | undefined) ?? []).map((a) => ({ ...a, ...(idx === 0 && i.natIP ? { natIP: i.natIP } : {}) })),
    }));
    return {
      ...i.body, kind: "compute#instance", id: String(BigInt("0x" + createHash("sha1").update(i.name).digest("hex").slice(0, 12))),
      name: i.name, zone: `${base}/compute/v1/projects/${project}/zones/${i.zone}`, status: i.status,
      labels: i.labels, labelFingerprint: fingerprint(i.labels), networkInterfaces: nics,
      selfLink: `${base}/compute/v1/projects/${project}/zones/${i.zone}/instances/${i.name}`,
    };
  };

  const route = (method: string, parts: string[], query: URLSearchParams, body: Record<string, unknown>): [number, unknown] => {
    // compute/v1/projects/{project}/zones/{zone}/{collection}[/{name}[/{verb}]]
    const [c0, v1, projects, project, zones, zone, collection, name, verb] = parts;
    if (c0 !== "compute" || v1 !== "v1" || projects !== "projects" || zones !== "zones" || !project || !zone) {
      throw new GceError(404, "notFound", `The requested URL /${parts.join("/")} was not found`);
    }
    const key = (n: string): string => `${project}/${zone}/${n}`;
    if (collection === "operations" && name) {
      const op = operations.get(name);
      if (!op) throw new GceError(404, "notFound", `The resource 'projects/${project}/zones/${zone}/operations/${name}' was not found`);
      return [200, opJson(op)];
    }
    if (collection !== "instances") throw new GceError(404, "notFound", `Unknown collection ${collection}`);
    if (!name && method === "POST") {
      const n = String(body.name ?? "");
      if (!INSTANCE_NAME.test(n)) throw new GceError(400, "invalid", `Invalid value for field 'resource.name': '${n}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`);
      if (instances.has(key(n))) throw new GceError(409, "alreadyExists", `The resource 'projects/${project}/zones/${zone}/instances/${n}' already exists`);
      if (!body.machineType) throw new GceError(400, "required", "Invalid value for field 'resource.machineType': ''. Machine type must be specified.");
      const labels = checkLabels(body.labels);
      const fail = failInserts.shift();
      const inst: StubGceInstance = { name: n, zone, status: "PROVISIONING", labels: { ...labels }, body, networkIP: `10.128.0.${ip++ % 250}`, since: Date.now() };
      if (!fail) instances.set(key(n), inst);
      return [200, opJson(operation(zone, "insert", `projects/${project}/zones/${zone}/instances/${n}`, undefined, fail))];
    }
    if (!name && method === "GET") {
      const pred = parseFilter(query.get("filter") ?? "");
      const all = [...instances.entries()].filter(([k, i]) => k.startsWith(`${project}/${zone}/`) && pred(i)).map(([, i]) => i);
      const start = Number(query.get("pageToken") ?? 0);
      const size = Math.min(pageSize, Number(query.get("maxResults") ?? pageSize));
      const page = all.slice(start, start + size);
      return [200, {
        kind: "compute#instanceList", id: `projects/${project}/zones/${zone}/instances`, items: page.map((i) => instanceJson(i, project)),
        ...(start + size < all.length ? { nextPageToken: String(start + size) } : {}),
      }];
    }
    const inst = name ? instances.get(key(name)) : undefined;
    if (!inst) throw new GceError(404, "notFound", `The resource 'projects/${project}/zones/${zone}/instances/${name}' was not found`);
    if (method === "GET" && !verb) return [200, instanceJson(inst, project)];
    if (method === "DELETE" && !verb) {
      inst.status = "STOPPING";
      inst.since = Date.now();
      return [200, opJson(operation(zone, "delete", `projects/${project}/zones/${zone}/instances/${inst.name}`, () => instances.delete(key(inst.name))))];
    }
    if (method === "POST" && verb === "setLabels") {
      if (stub.concurrentLabelChanges > 0) inst.labels.other = `changed-${stub.concurrentLabelChanges--}`;
      if (body.labelFingerprint !== fingerprint(inst.labels)) {
        throw new GceError(412, "conditionNotMet", "Labels fingerprint either invalid or resource labels have changed");
      }
      inst.labels = { ...checkLabels(body.labels) };
      return [200, opJson(operation(zone, "setLabels", `projects/${project}/zones/${zone}/instances/${inst.name}`))];
    }
    throw new GceError(404, "notFound", `Unknown method ${method} ${verb ?? ""}`);
  };

  const server = http.createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => { raw += d; });
    req.on("end", () => {
      const url = new URL(req.url ?? "/", base);
      const body = raw ? JSON.parse(raw) as Record<string, unknown> : {};
      requests.push({ method: req.method ?? "GET", path: url.pathname, query: url.searchParams, body });
      const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
      const reply = (status: number, out: unknown): void => {
        res.writeHead(status, { "content-type": "application/json; charset=UTF-8" });
        res.end(JSON.stringify(out));
      };
      tick();
      try {
        // operations/{name}/wait blocks until the operation is done (or a while has passed), as GCE does.
        if (req.method === "POST" && parts[6] === "operations" && parts[8] === "wait") {
          const op = operations.get(parts[7] ?? "");
          if (!op) throw new GceError(404, "notFound", `The resource 'operations/${parts[7]}' was not found`);
          const deadline = Date.now() + 500;
          const poll = (): void => {
            tick();
            if (op.status === "DONE" || Date.now() > deadline) reply(200, opJson(op));
            else setTimeout(poll, 5);
          };
          poll();
          return;
        }
        const [status, out] = route(req.method ?? "GET", parts, url.searchParams, body);
        reply(status, out);
      } catch (e) {
        const err = e instanceof GceError ? e : new GceError(500, "backendError", String(e));
        reply(err.status, { error: { code: err.status, message: err.message, errors: [{ message: err.message, domain: "global", reason: err.reason }] } });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  const timer = setInterval(tick, 10);
  timer.unref();
  const stub: GceStub = {
    url: base, requests, instances, operations, failInserts, concurrentLabelChanges: 0,
    close: () => new Promise<void>((resolve) => { clearInterval(timer); server.closeAllConnections(); server.close(() => resolve()); }),
  };
  return stub;
}
