// The Kubernetes provider against a stub API server (test/helpers/stub_clouds/kube.ts), with the
// real @kubernetes/client-node: the provider conformance suite, pod labels and annotations, the
// namespace/service bootstrap. The kubectl runner is checked with a fake `kubectl` that records
// its argv and stdin and runs the command after `--` on this machine (no cluster can run here).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import kubernetes, { decodeLabelValue, encodeLabelValue, metadataToTags, tagsToMetadata } from "../../src/launcher/providers/kubernetes.ts";
import { kubectlRunner } from "../../src/launcher/providers/kubectl_runner.ts";
import { ConfigError, ProviderError } from "../../src/common/errors.ts";
import type { NodeProvider, ProviderContext, RunnerContext } from "../../src/launcher/provider.ts";
import { TAG, type ClusterConfig, type ProviderConfig } from "../../src/launcher/types.ts";
import { startKubeStub } from "../helpers/stub_clouds/kube.ts";
import { providerConformance } from "../helpers/provider_conformance.ts";

const stub = await startKubeStub();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-kube-test-"));
const kubeconfig = stub.writeKubeconfig(tmp);
after(async () => {
  await stub.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ctx = (clusterName: string): ProviderContext => ({ clusterName, onHead: false, stateDir: tmp, log: () => {} });
const providerConfig = (extra: Partial<ProviderConfig> = {}): ProviderConfig =>
  ({ type: "kubernetes", namespace: "stingray-test", kubeconfig, ...extra });
const podSpec = {
  apiVersion: "v1", kind: "Pod",
  metadata: { labels: { component: "stingray-worker" } },
  spec: {
    restartPolicy: "Never",
    containers: [{ name: "stingray-node", image: "node:24", command: ["/bin/bash", "-c", "--"], args: ["trap : TERM INT; sleep infinity & wait;"] }],
  },
};

function clusterConfig(provider: ProviderConfig, nodeConfig: Record<string, unknown> = podSpec): ClusterConfig {
  return {
    cluster_name: "kube", max_workers: 2, upscaling_speed: 1, idle_timeout_minutes: 5, provider,
    auth: { ssh_user: "root" },
    available_node_types: { head: { node_config: nodeConfig, resources: {}, labels: {}, min_workers: 0, max_workers: 0 } },
    head_node_type: "head", file_mounts: {}, cluster_synced_files: [], file_mounts_sync_continuously: false,
    rsync_exclude: [], rsync_filter: [], initialization_commands: [], setup_commands: [], head_setup_commands: [],
    worker_setup_commands: [], head_start_ray_commands: [], worker_start_ray_commands: [],
  };
}

// The namespace the conformance suite uses is made by bootstrapConfig, as `stingray up` would.
await kubernetes.bootstrapConfig!(clusterConfig(providerConfig()), { dryRun: false });

providerConformance("kubernetes (API server stub)", async ({ clusterName }) => ({
  provider: await kubernetes.createProvider(providerConfig(), ctx(clusterName)),
  nodeConfig: podSpec,
  teardown: async () => {},
}), { supportsExternalIp: false, waitMs: 5000 });

async function withProvider(cluster: string, fn: (p: NodeProvider) => Promise<void>): Promise<void> {
  const p = await kubernetes.createProvider(providerConfig(), ctx(cluster));
  try { await fn(p); } finally { await p.close?.(); }
}

test("label values round-trip and always fit Kubernetes' label syntax", () => {
  const valid = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
  for (const s of ["", "head", "ray.head.default", "Worker.Small_1", "_", "x_y", "-lead", "trail.", "a b/c", "ünï ✓", "x_5f"]) {
    const enc = encodeLabelValue(s);
    assert.ok(enc !== undefined && valid.test(enc) && enc.length <= 63, `${JSON.stringify(s)} → ${enc}`);
    assert.equal(decodeLabelValue(enc), s);
  }
  assert.equal(encodeLabelValue("ray.head.default"), "ray.head.default", "valid values are kept as is");
  assert.equal(encodeLabelValue("my_cluster"), "x_my_5fcluster");
  assert.equal(encodeLabelValue("y".repeat(64)), undefined, "too long for a label: annotation only");
  const tags = { [TAG.clusterName]: "c", [TAG.launchConfig]: "L".repeat(100), [TAG.userNodeType]: "gpu_big" };
  const meta = tagsToMetadata(tags);
  assert.equal(meta.labels[TAG.launchConfig], undefined);
  assert.deepEqual(metadataToTags({ labels: meta.labels as Record<string, string>, annotations: meta.annotations }), tags);
  assert.throws(() => tagsToMetadata({ "bad key": "x" }), ProviderError);
});

test("pods carry the tags as labels and annotations, keep the user's labels, and are created in the namespace", async () => {
  await withProvider("Label_Cluster", async (p) => {
    const long = "h".repeat(80);
    const [n] = await p.createNodes({ pod: podSpec }, { [TAG.nodeKind]: "head", [TAG.userNodeType]: "head.default", [TAG.launchConfig]: long }, 1);
    assert.ok(n);
    assert.match(n.id, /^stingray-label-cluster-head-/);
    const pod = stub.objects.get(`pods/stingray-test/${n.id}`)!;
    const labels = pod.metadata.labels!;
    assert.equal(labels.component, "stingray-worker");
    assert.equal(labels[TAG.clusterName], "x_Label_5fCluster");
    assert.equal(labels[TAG.nodeKind], "head");
    assert.equal(labels[TAG.launchConfig], undefined, "a value too long for a label");
    assert.equal(pod.metadata.annotations![`tags.stingray.io/${TAG.launchConfig}`], long);
    assert.equal(pod.metadata.annotations![`tags.stingray.io/${TAG.clusterName}`], "Label_Cluster");

    const list = stub.requests.filter((r) => r.method === "GET" && r.path === "/api/v1/namespaces/stingray-test/pods");
    await p.nonTerminatedNodes({ [TAG.launchConfig]: long, [TAG.nodeKind]: "head" });
    const sel = stub.requests.filter((r) => r.method === "GET" && r.path === "/api/v1/namespaces/stingray-test/pods").slice(list.length)[0]!;
    assert.equal(sel.query.get("labelSelector"), `${TAG.nodeKind}=head,${TAG.clusterName}=x_Label_5fCluster`);
    assert.match(sel.query.get("fieldSelector") ?? "", /status\.phase!=Failed/);
    const [listed] = await p.nonTerminatedNodes({ [TAG.launchConfig]: long });
    assert.equal(listed?.id, n.id);
    assert.equal(listed?.tags.component, "stingray-worker");

    await p.setNodeTags(n.id, { [TAG.launchConfig]: "short", [TAG.nodeStatus]: "up-to-date" });
    const patch = stub.requests.filter((r) => r.method === "PATCH").at(-1)!;
    assert.equal(patch.contentType, "application/merge-patch+json");
    const after = stub.objects.get(`pods/stingray-test/${n.id}`)!;
    assert.equal(after.metadata.labels![TAG.launchConfig], "short");
    assert.equal(after.metadata.labels!.component, "stingray-worker");
    await p.terminateNodes([n.id]);
    assert.deepEqual(await p.nonTerminatedNodes({}), [], "a pod being deleted is not listed");
  });
});

test("bootstrapConfig creates the namespace, the autoscaler's RBAC and the services", async () => {
  const provider = providerConfig({
    namespace: "boot-ns",
    autoscaler_service_account: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "autoscaler" } },
    autoscaler_role: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "autoscaler" },
      rules: [{ apiGroups: [""], resources: ["pods", "pods/status", "pods/exec"], verbs: ["get", "watch", "list", "create", "delete", "patch"] }] },
    autoscaler_role_binding: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "autoscaler" },
      subjects: [{ kind: "ServiceAccount", name: "autoscaler" }], roleRef: { kind: "Role", name: "autoscaler", apiGroup: "rbac.authorization.k8s.io" } },
    services: [{ apiVersion: "v1", kind: "Service", metadata: { name: "stingray-head" },
      spec: { selector: { component: "stingray-head" }, ports: [{ protocol: "TCP", port: 6379, targetPort: 6379 }] } }],
  });
  const mark = stub.requests.length;
  const dry = await kubernetes.bootstrapConfig!(clusterConfig(provider), { dryRun: true });
  assert.equal(stub.requests.length, mark, "a dry run calls no API");
  assert.equal(dry.provider.use_internal_ips, true);

  const cfg = await kubernetes.bootstrapConfig!(clusterConfig(provider), { dryRun: false });
  assert.equal(cfg.provider.namespace, "boot-ns");
  assert.ok(stub.objects.has("namespaces/-/boot-ns"));
  assert.ok(stub.objects.has("serviceaccounts/boot-ns/autoscaler"));
  assert.ok(stub.objects.has("roles/boot-ns/autoscaler"));
  const binding = stub.objects.get("rolebindings/boot-ns/autoscaler")!;
  assert.equal((binding.subjects as Array<{ namespace?: string }>)[0]!.namespace, "boot-ns");
  const svc = stub.objects.get("services/boot-ns/stingray-head")!;
  assert.deepEqual((svc.spec as { selector: unknown }).selector, { component: "stingray-head" });

  // Again: nothing is created twice, and a changed service is updated.
  (provider.services as Array<{ spec: { ports: Array<{ port: number }> } }>)[0]!.spec.ports[0]!.port = 8000;
  await kubernetes.bootstrapConfig!(clusterConfig(provider), { dryRun: false });
  assert.equal((stub.objects.get("services/boot-ns/stingray-head")!.spec as { ports: Array<{ port: number }> }).ports[0]!.port, 8000);

  // The default namespace.
  const def = await kubernetes.bootstrapConfig!(clusterConfig(providerConfig({ namespace: undefined })), { dryRun: false });
  assert.equal(def.provider.namespace, "stingray");
  assert.ok(stub.objects.has("namespaces/-/stingray"));
});

test("validate names the key", () => {
  assert.throws(() => kubernetes.validate!(providerConfig({ namespace: "Bad_NS" }), clusterConfig(providerConfig())),
    (e: Error) => e instanceof ConfigError && /provider\.namespace/.test(e.message));
  assert.throws(() => kubernetes.validate!(providerConfig(), clusterConfig(providerConfig(), { metadata: {} })),
    (e: Error) => e instanceof ConfigError && /available_node_types\.head\.node_config\.spec\.containers/.test(e.message));
  assert.throws(() => kubernetes.validate!(providerConfig({ services: [{ spec: {} }] }), clusterConfig(providerConfig())), /provider\.services\[0\]\.metadata\.name/);
  kubernetes.validate!(providerConfig(), clusterConfig(providerConfig()));
});

test("an unreachable API server is a ProviderError naming the operation", async () => {
  const dead = path.join(tmp, "dead.json");
  fs.writeFileSync(dead, fs.readFileSync(kubeconfig, "utf8").replace(stub.url, "http://127.0.0.1:1"));
  const p = await kubernetes.createProvider(providerConfig({ kubeconfig: dead }), ctx("dead"));
  await assert.rejects(p.nonTerminatedNodes({}), (e: Error) => e instanceof ProviderError && /listing pods in namespace stingray-test/.test(e.message));
});

// --- the kubectl runner, with a fake kubectl ---------------------------------------------------

const fakeDir = path.join(tmp, "fake-kubectl");
fs.mkdirSync(path.join(fakeDir, "log"), { recursive: true });
const fakeKubectl = path.join(fakeDir, "kubectl");
// Records argv (NUL-separated) and stdin, then runs what follows `--` here, as if this were the pod.
fs.writeFileSync(fakeKubectl, `#!/bin/bash
log=${JSON.stringify(path.join(fakeDir, "log"))}
n=$(ls "$log" | grep -c argv)
printf '%s\\0' "$@" > "$log/$n.argv"
cmd=(); seen=0
for a in "$@"; do if [ $seen = 1 ]; then cmd+=("$a"); elif [ "$a" = "--" ]; then seen=1; fi; done
if [ "\${cmd[0]}" = bash ] && [ "\${cmd[1]}" = --login ]; then cmd=(bash "\${cmd[@]:2}"); fi
tee "$log/$n.stdin" | "\${cmd[@]}"
`, { mode: 0o755 });

function calls(): Array<{ argv: string[]; stdin: string }> {
  const dir = path.join(fakeDir, "log");
  const n = fs.readdirSync(dir).filter((f) => f.endsWith(".argv")).length;
  return Array.from({ length: n }, (_, k) => ({
    argv: fs.readFileSync(path.join(dir, `${k}.argv`), "utf8").split("\0").slice(0, -1),
    stdin: fs.existsSync(path.join(dir, `${k}.stdin`)) ? fs.readFileSync(path.join(dir, `${k}.stdin`), "utf8") : "",
  }));
}

const runnerCtx: RunnerContext = { auth: { ssh_user: "root" }, clusterName: "kube", log: () => {}, useInternalIp: true };
const runner = kubectlRunner({ namespace: "ns1", pod: "pod-a", kubeconfig: "/etc/kc.yaml", context: "prod", kubectl: fakeKubectl, ctx: runnerCtx });

test("kubectl runner: the command and its environment go on stdin, never in argv", async () => {
  const r = await runner.run("echo \"token=$STINGRAY_TOKEN\"; exit 3", { env: { STINGRAY_TOKEN: "s3cr3t-value" }, captureOutput: true });
  assert.equal(r.code, 3, "the exit code comes back");
  assert.equal(r.stdout.trim(), "token=s3cr3t-value");
  const last = calls().at(-1)!;
  assert.deepEqual(last.argv, ["--kubeconfig", "/etc/kc.yaml", "--context", "prod", "-n", "ns1", "exec", "-i", "pod-a", "--", "bash", "--login", "-s"]);
  assert.ok(!last.argv.join(" ").includes("s3cr3t-value"), "the secret is not on the command line");
  assert.match(last.stdin, /export STINGRAY_TOKEN=s3cr3t-value/);
  assert.equal(runner.description, "ns1/pod-a");
});

test("kubectl runner: port forwarding is refused with a clear error", async () => {
  await assert.rejects(runner.run("true", { portForward: [[8265, 8265]] }),
    (e: Error) => e instanceof ProviderError && /port forwarding is not supported for Kubernetes/.test(e.message) && /port-forward pod-a 8265:8265/.test(e.message));
});

test("kubectl runner: rsyncUp and rsyncDown copy files and directories through tar over exec", async () => {
  const src = path.join(tmp, "src");
  fs.mkdirSync(path.join(src, "sub"), { recursive: true });
  fs.mkdirSync(path.join(src, ".git"), { recursive: true });
  fs.writeFileSync(path.join(src, "a.txt"), "A");
  fs.writeFileSync(path.join(src, "sub", "b.txt"), "B");
  fs.writeFileSync(path.join(src, ".git", "HEAD"), "ref");
  fs.writeFileSync(path.join(src, "ignored.log"), "x");
  fs.writeFileSync(path.join(src, ".gitignore"), "*.log\n");
  fs.writeFileSync(path.join(src, "run.sh"), "#!/bin/sh\n", { mode: 0o755 });
  const pod = path.join(tmp, "pod-fs"); // where the fake "pod" keeps files

  await runner.rsyncUp(`${src}/`, `${pod}/app/`, { exclude: [".git"], filter: [".gitignore"] });
  assert.equal(fs.readFileSync(path.join(pod, "app", "a.txt"), "utf8"), "A");
  assert.equal(fs.readFileSync(path.join(pod, "app", "sub", "b.txt"), "utf8"), "B");
  assert.ok(!fs.existsSync(path.join(pod, "app", ".git")), "excluded");
  assert.ok(!fs.existsSync(path.join(pod, "app", "ignored.log")), "filtered by .gitignore");

  await runner.rsyncUp(src, `${pod}/nested`);
  assert.ok(fs.existsSync(path.join(pod, "nested", "src", "a.txt")), "a directory without / is copied into the target");

  await runner.rsyncUp(path.join(src, "run.sh"), `${pod}/bin/start.sh`);
  assert.equal(fs.statSync(path.join(pod, "bin", "start.sh")).mode & 0o777, 0o755, "a file keeps its mode");
  for (const c of calls().slice(-3)) assert.ok(c.argv.includes("-i") && c.argv.includes("pod-a"));

  const down = path.join(tmp, "down");
  await runner.rsyncDown(`${pod}/app/`, `${down}/app/`);
  assert.equal(fs.readFileSync(path.join(down, "app", "sub", "b.txt"), "utf8"), "B");
  await runner.rsyncDown(`${pod}/bin/start.sh`, path.join(down, "start-copy.sh"));
  assert.equal(fs.readFileSync(path.join(down, "start-copy.sh"), "utf8"), "#!/bin/sh\n");
  await assert.rejects(runner.rsyncDown(`${pod}/missing`, down), /failed/);
});
