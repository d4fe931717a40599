/**
 * @module test/helpers/stub_clouds/kube
 * A small stateful stand-in for the Kubernetes API server on 127.0.0.1, enough for the Kubernetes
 * provider and its bootstrap: namespaces, pods (create with generateName, get, list with label and
 * field selectors, merge-patch, delete), services, service accounts, roles and role bindings. It
 * answers JSON (`Status` objects for errors) and enforces what a provider can get wrong: the
 * bearer token of the kubeconfig, that the namespace exists, label key and value syntax, object
 * names, the merge-patch content type. Pods go Pending → Running (with a pod IP) after
 * `transitionMs`; a deleted pod keeps running with a deletionTimestamp for `transitionMs` before
 * it goes, as in a real cluster. `writeKubeconfig` writes a kubeconfig pointing at the stub.
 */
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";

export interface KubeRequest { method: string; path: string; query: URLSearchParams; contentType?: string; body: unknown }

type Obj = { apiVersion?: string; kind?: string; metadata: Record<string, unknown> & { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: unknown; status?: Record<string, unknown> } & Record<string, unknown>;

export interface KubeStubOptions { transitionMs?: number; token?: string }

export interface KubeStub {
  url: string;
  token: string;
  requests: KubeRequest[];
  /** Objects by `<resource>/<namespace>/<name>` (`namespaces/-/<name>` for namespaces). */
  objects: Map<string, Obj>;
  pods(namespace: string): Obj[];
  writeKubeconfig(dir: string): string;
  close(): Promise<void>;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

class KubeError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

function checkLabels(labels: unknown): void {
  for (const [k, v] of Object.entries((labels ?? {}) as Record<string, unknown>)) {
    const slash = k.lastIndexOf("/");
    const prefix = slash >= 0 ? k.slice(0, slash) : "";
    const name = slash >= 0 ? k.slice(slash + 1) : k;
    if ((prefix && (!DNS_SUBDOMAIN.test(prefix) || prefix.length > 253)) || !LABEL_NAME.test(name) || name.length > 63) {
      throw new KubeError(422, "Invalid", `metadata.labels: Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.'`);
    }
    if (typeof v !== "string" || !LABEL_VALUE.test(v) || v.length > 63) {
      throw new KubeError(422, "Invalid", `metadata.labels: Invalid value: "${String(v)}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
    }
  }
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...target as Record<string, unknown> } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** `a=b,c!=d,e,!f,g in (x,y)` as a predicate over labels. */
function labelSelector(sel: string): (labels: Record<string, string>) => boolean {
  const terms = sel.split(/,(?![^(]*\))/).map((t) => t.trim()).filter(Boolean).map((t) => {
    let m: RegExpExecArray | null;
    if ((m = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(t))) {
      const [, k, op, v] = m;
      return op === "!=" ? (l: Record<string, string>) => l[k!] !== v : (l: Record<string, string>) => l[k!] === v;
    }
    if ((m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t))) {
      const [, k, op, vs] = m;
      const set = vs!.split(",").map((x) => x.trim());
      return op === "in" ? (l: Record<string, string>) => set.includes(l[k!] ?? "\0") : (l: Record<string, string>) => !set.includes(l[k!] ?? "\0");
    }
    if ((m = /^!(\S+)$/.exec(t))) { const k = m[1]!; return (l: Record<string, string>) => !(k in l); }
    if (/^\S+$/.test(t)) return (l: Record<string, string>) => t in l;
    throw new KubeError(400, "BadRequest", `unable to parse requirement: ${t}`);
  });
  return (labels) => terms.every((f) => f(labels));
}

function fieldSelector(sel: string): (o: Obj) => boolean {
  const terms = sel.split(",").filter(Boolean).map((t) => {
    const m = /^([\w.]+)(==|=|!=)(.*)$/.exec(t);
    if (!m) throw new KubeError(400, "BadRequest", `invalid field selector: ${t}`);
    const [, field, op, value] = m;
    const get = (o: Obj): unknown => field!.split(".").reduce<unknown>((x, p) => (x as Record<string, unknown> | undefined)?.[p], o);
    if (!["status.phase", "metadata.name", "metadata.namespace", "spec.nodeName"].includes(field!)) {
      throw new KubeError(400, "BadRequest", `field label not supported: ${field}`);
    }
    return op === "!=" ? (o: Obj) => get(o) !== value : (o: Obj) => get(o) === value;
  });
  return (o) => terms.every((f) => f(o));
}

interface Route { resource: string; namespace?: string; name?: string; group: string }

function parsePath(p: string): Route | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^\/api\/v1\/namespaces(?:\/([^/]+))?$/.exec(p))) return { resource: "namespaces", name: m[1], group: "" };
  if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|services|serviceaccounts)(?:\/([^/]+))?$/.exec(p))) return { namespace: m[1], resource: m[2]!, name: m[3], group: "" };
  if ((m = /^\/apis\/rbac\.authorization\.k8s\.io\/v1\/namespaces\/([^/]+)\/(roles|rolebindings)(?:\/([^/]+))?$/.exec(p))) return { namespace: m[1], resource: m[2]!, name: m[3], group: "rbac.authorization.k8s.io" };
  return undefined;
}

const KIND: Record<string, string> = { namespaces: "Namespace", pods: "Pod", services: "Service", serviceaccounts: "ServiceAccount", roles: "Role", rolebindings: "RoleBinding" };

export async function startKubeStub(opts: KubeStubOptions = {}): Promise<KubeStub> {
  const transitionMs = opts.transitionMs ?? 40;
  const token = opts.token ?? `stub-token-${randomBytes(6).toString("hex")}`;
  const requests: KubeRequest[] = [];
  const objects = new Map<string, Obj>();
  let version = 1;
  let podIp = 5;
  const born = new Map<string, number>();
  const dying = new Map<string, number>();

  const key = (r: Route, name: string): string => `${r.resource}/${r.namespace ?? "-"}/${name}`;

  const tick = (): void => {
    const now = Date.now();
    for (const [k, o] of objects) {
      if (!k.startsWith("pods/")) continue;
      const status = o.status ?? {};
      if (status.phase === "Pending" && now - (born.get(k) ?? now) >= transitionMs) {
        o.status = { ...status, phase: "Running", podIP: `10.244.0.${podIp++ % 250}`, startTime: new Date().toISOString() };
      }
      const d = dying.get(k);
      if (d !== undefined && now - d >= transitionMs) { objects.delete(k); dying.delete(k); born.delete(k); }
    }
  };

  const handle = (method: string, url: URL, body: unknown, contentType: string | undefined): [number, unknown] => {
    const r = parsePath(url.pathname);
    if (!r) throw new KubeError(404, "NotFound", `the server could not find the requested resource (${url.pathname})`);
    if (r.namespace && !objects.has(`namespaces/-/${r.namespace}`) && !(method === "GET" && !r.name)) {
      throw new KubeError(404, "NotFound", `namespaces "${r.namespace}" not found`);
    }
    const kind = KIND[r.resource]!;
    if (!r.name && method === "GET") {
      const labels = labelSelector(url.searchParams.get("labelSelector") ?? "");
      const fields = fieldSelector(url.searchParams.get("fieldSelector") ?? "");
      const items = [...objects.entries()].filter(([k, o]) => k.startsWith(`${r.resource}/${r.namespace ?? "-"}/`) && labels(o.metadata.labels ?? {}) && fields(o)).map(([, o]) => o);
      return [200, { kind: `${kind}List`, apiVersion: r.group ? `${r.group}/v1` : "v1", metadata: { resourceVersion: String(version) }, items }];
    }
    if (!r.name && method === "POST") {
      const o = structuredClone(body) as Obj;
      o.metadata ??= {} as Obj["metadata"];
      let name = o.metadata.name;
      const gen = o.metadata.generateName as string | undefined;
      if (!name && gen) name = `${gen}${randomBytes(3).toString("hex").slice(0, 5)}`;
      if (!name) throw new KubeError(422, "Invalid", "metadata.name: Required value: name or generateName is required");
      if (!(r.resource === "namespaces" || r.resource === "services" ? DNS_LABEL : DNS_SUBDOMAIN).test(name) || name.length > (r.resource === "pods" ? 253 : 63)) {
        throw new KubeError(422, "Invalid", `metadata.name: Invalid value: "${name}": a lowercase RFC 1123 name must consist of lower case alphanumeric characters, '-' or '.'`);
      }
      if (o.metadata.namespace && o.metadata.namespace !== r.namespace) {
        throw new KubeError(400, "BadRequest", `the namespace of the provided object (${String(o.metadata.namespace)}) does not match the namespace sent on the request (${r.namespace})`);
      }
      checkLabels(o.metadata.labels);
      const k = key(r, name);
      if (objects.has(k)) throw new KubeError(409, "AlreadyExists", `${r.resource} "${name}" already exists`);
      o.apiVersion ??= r.group ? `${r.group}/v1` : "v1";
      o.kind ??= kind;
      o.metadata = { ...o.metadata, name, ...(r.namespace ? { namespace: r.namespace } : {}), uid: randomBytes(8).toString("hex"), resourceVersion: String(++version), creationTimestamp: new Date().toISOString() };
      if (r.resource === "pods") { o.status = { phase: "Pending" }; born.set(k, Date.now()); }
      if (r.resource === "namespaces") o.status = { phase: "Active" };
      objects.set(k, o);
      return [201, o];
    }
    const k = key(r, r.name!);
    const o = objects.get(k);
    if (!o) throw new KubeError(404, "NotFound", `${r.resource} "${r.name}" not found`);
    if (method === "GET") return [200, o];
    if (method === "PATCH") {
      if (contentType !== "application/merge-patch+json") throw new KubeError(415, "UnsupportedMediaType", `the stub only takes merge patches, not ${contentType}`);
      const next = mergePatch(o, body) as Obj;
      checkLabels(next.metadata.labels);
      next.metadata.resourceVersion = String(++version);
      objects.set(k, next);
      return [200, next];
    }
    if (method === "DELETE") {
      if (r.resource === "pods") {
        if (!o.metadata.deletionTimestamp) {
          o.metadata.deletionTimestamp = new Date().toISOString();
          dying.set(k, Date.now());
        }
        return [200, o];
      }
      objects.delete(k);
      return [200, { kind: "Status", apiVersion: "v1", status: "Success", details: { name: r.name, kind: r.resource } }];
    }
    throw new KubeError(405, "MethodNotAllowed", `${method} is not allowed on ${url.pathname}`);
  };

  const server = http.createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => { raw += d; });
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://stub");
      const contentType = req.headers["content-type"]?.split(";")[0];
      let body: unknown;
      const reply = (status: number, out: unknown): void => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(out));
      };
      try {
        body = raw ? JSON.parse(raw) : undefined;
        requests.push({ method: req.method ?? "GET", path: url.pathname, query: url.searchParams, contentType, body });
        if (req.headers.authorization !== `Bearer ${token}`) throw new KubeError(401, "Unauthorized", "Unauthorized");
        tick();
        const [status, out] = handle(req.method ?? "GET", url, body, contentType);
        reply(status, out);
      } catch (e) {
        const err = e instanceof KubeError ? e : new KubeError(500, "InternalError", String(e));
        reply(err.status, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: err.message, reason: err.reason, code: err.status });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const timer = setInterval(tick, 10);
  timer.unref();
  return {
    url, token, requests, objects,
    pods: (ns) => [...objects.entries()].filter(([k]) => k.startsWith(`pods/${ns}/`)).map(([, o]) => o),
    writeKubeconfig(dir: string): string {
      const file = path.join(dir, "kubeconfig.json");
      // kubeconfig is YAML, and JSON is YAML. Plain http needs insecure-skip-tls-verify in the client.
      fs.writeFileSync(file, JSON.stringify({
        apiVersion: "v1", kind: "Config", "current-context": "stub",
        clusters: [{ name: "stub", cluster: { server: url, "insecure-skip-tls-verify": true } }],
        users: [{ name: "stub", user: { token } }],
        contexts: [{ name: "stub", context: { cluster: "stub", user: "stub", namespace: "default" } }],
      }), { mode: 0o600 });
      return file;
    },
    close: () => new Promise<void>((resolve) => { clearInterval(timer); server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
