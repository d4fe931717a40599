/**
 * @module test/helpers/stub_clouds/ec2
 * A small stateful stand-in for the EC2 Query API on 127.0.0.1, enough for the AWS provider and
 * its bootstrap: instances (run, describe with filters and pages, tags, stop, start, terminate),
 * key pairs, subnets and security groups. Requests arrive as the SDK sends them (form-encoded
 * `Action=...` with `Filter.1.Value.1`-style lists) and are answered in EC2's XML, so the real
 * `@aws-sdk/client-ec2` parses them. Instances move pending → running and shutting-down →
 * terminated after `transitionMs`, as a real region does (only slower to be read back). Every
 * request is recorded, parsed into nested values, for tests to assert on.
 */
import http from "node:http";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";

export interface Ec2Request { action: string; params: Record<string, unknown>; raw: URLSearchParams }

export interface StubInstance {
  InstanceId: string;
  ImageId: string;
  InstanceType: string;
  KeyName?: string;
  SubnetId?: string;
  state: "pending" | "running" | "stopping" | "stopped" | "shutting-down" | "terminated";
  PrivateIpAddress: string;
  PublicIpAddress?: string;
  spot: boolean;
  tags: Map<string, string>;
  /** Everything RunInstances was sent, parsed. */
  launch: Record<string, unknown>;
  since: number;
}

export interface Ec2StubOptions {
  /** How long pending and shutting-down/stopping last. Default 60 ms. */
  transitionMs?: number;
  /** Page size of DescribeInstances (to exercise NextToken). Default 2. */
  pageSize?: number;
  subnets?: Array<{ SubnetId: string; VpcId: string; AvailabilityZone: string; MapPublicIpOnLaunch: boolean }>;
}

export interface Ec2Stub {
  url: string;
  requests: Ec2Request[];
  instances: Map<string, StubInstance>;
  keyPairs: Map<string, string>;
  securityGroups: Map<string, { GroupId: string; GroupName: string; VpcId: string; ingress: unknown[] }>;
  /** Make the next RunInstances calls fail with this error code (e.g. InsufficientInstanceCapacity). */
  failRunInstances: string[];
  actions(): string[];
  close(): Promise<void>;
}

const STATE_CODE: Record<StubInstance["state"], number> = {
  pending: 0, running: 16, "shutting-down": 32, terminated: 48, stopping: 64, stopped: 80,
};

/** `Filter.1.Value.2=x` → `{ Filter: [{ Value: [, "x"] }] }`: numbered keys become (1-based) arrays. */
export function parseQuery(params: URLSearchParams): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of params) {
    const parts = key.split(".");
    let cur: Record<string, unknown> = root;
    parts.forEach((p, i) => {
      if (i === parts.length - 1) { cur[p] = value; return; }
      cur[p] ??= {};
      cur = cur[p] as Record<string, unknown>;
    });
  }
  const arrays = (v: unknown): unknown => {
    if (typeof v !== "object" || v === null) return v;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length && keys.every((k) => /^\d+$/.test(k))) {
      return keys.map(Number).sort((x, y) => x - y).map((k) => arrays(o[String(k)]));
    }
    return Object.fromEntries(keys.map((k) => [k, arrays(o[k])]));
  };
  return arrays(root) as Record<string, unknown>;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** EC2's XML: object members become elements, arrays become `<item>` sequences. */
function toXml(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (Array.isArray(v)) return v.map((x) => `<item>${toXml(x)}</item>`).join("");
  if (typeof v === "object") {
    return Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `<${k}>${toXml(x)}</${k}>`).join("");
  }
  return esc(String(v));
}

function list(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

class Ec2Error extends Error {
  readonly status: number;
  readonly errCode: string;
  constructor(errCode: string, message: string, status = 400) {
    super(message);
    this.errCode = errCode;
    this.status = status;
  }
}

export async function startEc2Stub(opts: Ec2StubOptions = {}): Promise<Ec2Stub> {
  const transitionMs = opts.transitionMs ?? 60;
  const pageSize = opts.pageSize ?? 2;
  const subnets = opts.subnets ?? [
    { SubnetId: "subnet-b", VpcId: "vpc-1", AvailabilityZone: "us-west-2b", MapPublicIpOnLaunch: true },
    { SubnetId: "subnet-a", VpcId: "vpc-1", AvailabilityZone: "us-west-2a", MapPublicIpOnLaunch: true },
    { SubnetId: "subnet-private", VpcId: "vpc-1", AvailabilityZone: "us-west-2a", MapPublicIpOnLaunch: false },
  ];
  const requests: Ec2Request[] = [];
  const instances = new Map<string, StubInstance>();
  const keyPairs = new Map<string, string>();
  const securityGroups: Ec2Stub["securityGroups"] = new Map();
  const failRunInstances: string[] = [];
  let ipCounter = 10;

  /** Advance time-driven states (a real region does this on its own). */
  const tick = (): void => {
    const now = Date.now();
    for (const i of instances.values()) {
      if (now - i.since < transitionMs) continue;
      if (i.state === "pending") { i.state = "running"; i.since = now; i.PublicIpAddress = `203.0.113.${i.PrivateIpAddress.split(".")[3]}`; }
      else if (i.state === "shutting-down") { i.state = "terminated"; i.since = now; }
      else if (i.state === "stopping") { i.state = "stopped"; i.since = now; i.PublicIpAddress = undefined; }
    }
  };

  const instanceXml = (i: StubInstance): Record<string, unknown> => ({
    instanceId: i.InstanceId,
    imageId: i.ImageId,
    instanceState: { code: STATE_CODE[i.state], name: i.state },
    privateIpAddress: i.state === "terminated" ? undefined : i.PrivateIpAddress,
    ipAddress: i.PublicIpAddress,
    keyName: i.KeyName,
    instanceType: i.InstanceType,
    subnetId: i.SubnetId,
    instanceLifecycle: i.spot ? "spot" : undefined,
    spotInstanceRequestId: i.spot ? `sir-${i.InstanceId.slice(2, 10)}` : undefined,
    tagSet: [...i.tags].map(([key, value]) => ({ key, value })),
  });

  const matches = (i: StubInstance, filters: Array<{ Name?: string; Value?: string[] }>): boolean => filters.every((f) => {
    const values = list(f.Value);
    const name = f.Name ?? "";
    if (name === "instance-state-name") return values.includes(i.state);
    if (name === "instance-id") return values.includes(i.InstanceId);
    if (name.startsWith("tag:")) { const v = i.tags.get(name.slice(4)); return v !== undefined && values.includes(v); }
    if (name === "tag-key") return values.some((k) => i.tags.has(k));
    throw new Ec2Error("InvalidParameterValue", `The filter '${name}' is invalid`);
  });

  const changes = (ids: string[], to: (i: StubInstance) => StubInstance["state"] | undefined): unknown[] => ids.map((id) => {
    const i = instances.get(id);
    if (!i) throw new Ec2Error("InvalidInstanceID.NotFound", `The instance ID '${id}' does not exist`);
    const previous = i.state;
    const next = to(i);
    if (next && next !== i.state) { i.state = next; i.since = Date.now(); }
    return { instanceId: id, previousState: { code: STATE_CODE[previous], name: previous }, currentState: { code: STATE_CODE[i.state], name: i.state } };
  });

  const tagsOf = (p: Record<string, unknown>, key = "Tag"): Array<[string, string]> =>
    ((p[key] as Array<{ Key: string; Value?: string }> | undefined) ?? []).map((t) => [t.Key, t.Value ?? ""]);

  const handlers: Record<string, (p: Record<string, unknown>) => Record<string, unknown>> = {
    DescribeInstances(p) {
      const filters = (p.Filter as Array<{ Name?: string; Value?: string[] }> | undefined) ?? [];
      const wanted = list(p.InstanceId);
      for (const id of wanted) if (!instances.has(id)) throw new Ec2Error("InvalidInstanceID.NotFound", `The instance ID '${id}' does not exist`);
      const all = [...instances.values()].filter((i) => (!wanted.length || wanted.includes(i.InstanceId)) && matches(i, filters));
      const start = Number(p.NextToken ?? 0);
      const page = all.slice(start, start + pageSize);
      const next = start + pageSize < all.length ? String(start + pageSize) : undefined;
      return {
        reservationSet: page.map((i) => ({ reservationId: `r-${i.InstanceId.slice(2)}`, ownerId: "123456789012", instancesSet: [instanceXml(i)] })),
        nextToken: next,
      };
    },
    RunInstances(p) {
      const fail = failRunInstances.shift();
      if (fail) throw new Ec2Error(fail, `We currently do not have sufficient capacity (stub failure ${fail})`);
      if (!p.ImageId) throw new Ec2Error("MissingParameter", "The request must contain the parameter ImageId");
      const max = Number(p.MaxCount ?? 1);
      const tags: Array<[string, string]> = [];
      for (const spec of (p.TagSpecification as Array<Record<string, unknown>> | undefined) ?? []) {
        if (spec.ResourceType === "instance") tags.push(...tagsOf(spec));
      }
      const market = p.InstanceMarketOptions as { MarketType?: string } | undefined;
      const made: StubInstance[] = [];
      for (let n = 0; n < max; n++) {
        const id = `i-${randomBytes(8).toString("hex").slice(0, 17)}`;
        const i: StubInstance = {
          InstanceId: id, ImageId: String(p.ImageId), InstanceType: String(p.InstanceType ?? "m5.large"),
          KeyName: p.KeyName as string | undefined, SubnetId: p.SubnetId as string | undefined,
          state: "pending", PrivateIpAddress: `10.0.0.${ipCounter++ % 250}`, spot: market?.MarketType === "spot",
          tags: new Map(tags), launch: p, since: Date.now(),
        };
        instances.set(id, i);
        made.push(i);
      }
      return { reservationId: `r-${randomBytes(4).toString("hex")}`, ownerId: "123456789012", instancesSet: made.map(instanceXml) };
    },
    CreateTags(p) {
      const ids = list(p.ResourceId);
      for (const id of ids) if (!instances.has(id)) throw new Ec2Error("InvalidInstanceID.NotFound", `The instance ID '${id}' does not exist`);
      for (const id of ids) for (const [k, v] of tagsOf(p)) instances.get(id)!.tags.set(k, v);
      return { return: true };
    },
    TerminateInstances(p) {
      return { instancesSet: changes(list(p.InstanceId), (i) => (i.state === "terminated" ? undefined : "shutting-down")) };
    },
    StopInstances(p) {
      return {
        instancesSet: changes(list(p.InstanceId), (i) => {
          if (i.spot) throw new Ec2Error("UnsupportedOperation", `The instance '${i.InstanceId}' is a spot instance and cannot be stopped`);
          return i.state === "running" || i.state === "pending" ? "stopping" : undefined;
        }),
      };
    },
    StartInstances(p) {
      return {
        instancesSet: changes(list(p.InstanceId), (i) => {
          if (i.state !== "stopped") throw new Ec2Error("IncorrectInstanceState", `The instance '${i.InstanceId}' is not in a state from which it can be started`);
          return "pending";
        }),
      };
    },
    DescribeKeyPairs(p) {
      const names = list(p.KeyName);
      for (const n of names) if (!keyPairs.has(n)) throw new Ec2Error("InvalidKeyPair.NotFound", `The key pair '${n}' does not exist`);
      const found = names.length ? names : [...keyPairs.keys()];
      return { keySet: found.map((n) => ({ keyName: n, keyPairId: `key-${n.length}`, keyFingerprint: "00:11" })) };
    },
    CreateKeyPair(p) {
      const name = String(p.KeyName);
      if (keyPairs.has(name)) throw new Ec2Error("InvalidKeyPair.Duplicate", `The keypair '${name}' already exists.`);
      const material = `-----BEGIN RSA PRIVATE KEY-----\nstub-${randomBytes(8).toString("hex")}\n-----END RSA PRIVATE KEY-----`;
      keyPairs.set(name, material);
      return { keyName: name, keyFingerprint: "00:11", keyMaterial: material, keyPairId: `key-${name.length}` };
    },
    DescribeSubnets() {
      return { subnetSet: subnets.map((s) => ({ subnetId: s.SubnetId, vpcId: s.VpcId, availabilityZone: s.AvailabilityZone, state: "available", mapPublicIpOnLaunch: s.MapPublicIpOnLaunch })) };
    },
    DescribeSecurityGroups(p) {
      const filters = (p.Filter as Array<{ Name?: string; Value?: string[] }> | undefined) ?? [];
      const ids = list(p.GroupId);
      const out = [...securityGroups.values()].filter((g) => (!ids.length || ids.includes(g.GroupId)) && filters.every((f) => {
        const v = list(f.Value);
        if (f.Name === "group-name") return v.includes(g.GroupName);
        if (f.Name === "vpc-id") return v.includes(g.VpcId);
        throw new Ec2Error("InvalidParameterValue", `The filter '${f.Name}' is invalid`);
      }));
      return { securityGroupInfo: out.map((g) => ({ groupId: g.GroupId, groupName: g.GroupName, vpcId: g.VpcId, ownerId: "123456789012" })) };
    },
    CreateSecurityGroup(p) {
      const id = `sg-${randomBytes(6).toString("hex")}`;
      securityGroups.set(id, { GroupId: id, GroupName: String(p.GroupName), VpcId: String(p.VpcId), ingress: [] });
      return { groupId: id, return: true };
    },
    AuthorizeSecurityGroupIngress(p) {
      const g = securityGroups.get(String(p.GroupId));
      if (!g) throw new Ec2Error("InvalidGroup.NotFound", `The security group '${String(p.GroupId)}' does not exist`);
      g.ingress.push(...((p.IpPermissions as unknown[] | undefined) ?? []));
      return { return: true };
    },
  };

  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => { body += d; });
    req.on("end", () => {
      const raw = new URLSearchParams(body);
      const action = raw.get("Action") ?? "";
      const params = parseQuery(raw);
      requests.push({ action, params, raw });
      const requestId = randomBytes(8).toString("hex");
      try {
        tick();
        const handler = handlers[action];
        if (!handler) throw new Ec2Error("InvalidAction", `The action ${action} is not valid for this web service.`);
        const out = handler(params);
        res.writeHead(200, { "content-type": "text/xml;charset=UTF-8" });
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${requestId}</requestId>${toXml(out)}</${action}Response>`);
      } catch (e) {
        const err = e instanceof Ec2Error ? e : new Ec2Error("InternalError", String(e), 500);
        res.writeHead(err.status, { "content-type": "text/xml;charset=UTF-8" });
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${esc(err.errCode)}</Code><Message>${esc(err.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  // States also move with nobody asking, as in a real region.
  const timer = setInterval(tick, Math.max(5, transitionMs / 2));
  timer.unref();
  return {
    url: `http://127.0.0.1:${port}`,
    requests, instances, keyPairs, securityGroups, failRunInstances,
    actions: () => requests.map((r) => r.action),
    close: () => new Promise<void>((resolve) => { clearInterval(timer); server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
