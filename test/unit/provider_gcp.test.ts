// The GCP provider against a stub of the Compute Engine REST API (test/helpers/stub_clouds/gce.ts),
// with the real @google-cloud/compute client: the provider conformance suite, then the label
// encoding, zone operation waits and the node_config translation.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import os from "node:os";
import gcp, { decodeLabelValue, encodeLabelValue, instanceName, labelsToTags, tagsToLabels } from "../../src/launcher/providers/gcp.ts";
import { ConfigError, ProviderError } from "../../src/common/errors.ts";
import type { NodeProvider, ProviderContext } from "../../src/launcher/provider.ts";
import { TAG, type ClusterConfig, type ProviderConfig } from "../../src/launcher/types.ts";
import { startGceStub } from "../helpers/stub_clouds/gce.ts";
import { providerConformance } from "../helpers/provider_conformance.ts";

const stub = await startGceStub();
after(() => stub.close());

const ctx = (clusterName: string): ProviderContext => ({ clusterName, onHead: false, stateDir: os.tmpdir(), log: () => {} });
const providerConfig = (extra: Partial<ProviderConfig> = {}): ProviderConfig =>
  ({ type: "gcp", project_id: "stub-project", availability_zone: "us-west1-a", endpoint_url: stub.url, ...extra });
const nodeConfig = {
  machineType: "n1-standard-2",
  disks: [{ boot: true, autoDelete: true, type: "PERSISTENT", initializeParams: { diskSizeGb: 50, sourceImage: "projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64" } }],
  networkInterfaces: [{ network: "global/networks/default", accessConfigs: [{ name: "External NAT", type: "ONE_TO_ONE_NAT" }] }],
};

providerConformance("gcp (GCE stub)", async ({ clusterName }) => ({
  provider: await gcp.createProvider(providerConfig(), ctx(clusterName)),
  nodeConfig,
  teardown: async () => {},
}), { supportsExternalIp: true, waitMs: 5000 });

async function withProvider(cluster: string, fn: (p: NodeProvider) => Promise<void>): Promise<void> {
  const p = await gcp.createProvider(providerConfig(), ctx(cluster));
  try { await fn(p); } finally { await p.close?.(); }
}

test("label values round-trip through the encoding and always fit GCP's label syntax", () => {
  const samples = ["", "up-to-date", "ray.head.default", "Worker.Small_1", "_", "__5f", "a b/c:d", "ünïcødé ✓", "x".repeat(200), "A.".repeat(100)];
  for (const s of samples) {
    const enc = encodeLabelValue(s);
    assert.match(enc, /^[a-z0-9_-]*$/, `encoding of ${JSON.stringify(s)}`);
    assert.equal(decodeLabelValue(enc), s);
    const labels = tagsToLabels({ [TAG.userNodeType]: s, [TAG.clusterName]: "c" });
    for (const [k, v] of Object.entries(labels)) {
      assert.match(k, /^[a-z][a-z0-9_-]{0,62}$/);
      assert.ok(v.length <= 63, `label ${k} is ${v.length} characters`);
    }
    assert.deepEqual(labelsToTags(labels), { [TAG.userNodeType]: s, [TAG.clusterName]: "c" });
  }
  assert.equal(encodeLabelValue("ray.head.default"), "ray_2ehead_2edefault", "readable in the console");
  assert.equal(encodeLabelValue("plain-value-1"), "plain-value-1", "valid values are kept as is");
  assert.deepEqual(labelsToTags({ team: "ml", env: "prod_us" }), { team: "ml", env: "prod_us" }, "hand-set labels read back as they are");
  assert.throws(() => tagsToLabels({ "Bad_Key": "x" }), ProviderError);
});

test("instance names follow GCE's syntax and carry cluster and kind", () => {
  const n = instanceName("stingray-My_Cluster.prod-worker");
  assert.match(n, /^stingray-my-cluster-prod-worker-[0-9a-f]{8}$/);
  const long = instanceName(`stingray-${"c".repeat(80)}-head`);
  assert.ok(long.length <= 63);
  assert.match(long, /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
});

test("tags that need encoding are stored as valid labels, filtered and merged", async () => {
  await withProvider("Enc.Cluster_1", async (p) => {
    const longHash = "Launch.Config_".repeat(8);
    const [n] = await p.createNodes(nodeConfig, {
      [TAG.nodeKind]: "worker", [TAG.userNodeType]: "ray.worker.GPU", [TAG.launchConfig]: longHash,
    }, 1);
    assert.ok(n);
    assert.match(n.id, /^stingray-enc-cluster-1-worker-[0-9a-f]{8}$/);
    const stored = stub.instances.get(`stub-project/us-west1-a/${n.id}`)!;
    assert.equal(stored.labels[TAG.clusterName], "_45nc_2e_43luster_5f1");
    assert.equal(stored.labels[TAG.userNodeType], "ray_2eworker_2e_47_50_55");
    assert.ok(stored.labels[`${TAG.launchConfig}_2`], "a long value continues in a second label");
    const listed = await p.nonTerminatedNodes({ [TAG.launchConfig]: longHash, [TAG.userNodeType]: "ray.worker.GPU" });
    assert.deepEqual(listed.map((x) => x.id), [n.id]);
    assert.equal(listed[0]!.tags[TAG.clusterName], "Enc.Cluster_1");
    assert.equal(listed[0]!.tags[TAG.nodeName], n.id);

    await p.setNodeTags(n.id, { [TAG.launchConfig]: "short" });
    assert.equal(stub.instances.get(`stub-project/us-west1-a/${n.id}`)!.labels[`${TAG.launchConfig}_2`], undefined, "old continuations are dropped");
    const [after] = await p.nonTerminatedNodes({ [TAG.launchConfig]: "short" });
    assert.equal(after?.tags[TAG.userNodeType], "ray.worker.GPU");
    const setLabels = stub.requests.filter((r) => r.path.endsWith(`/instances/${n.id}/setLabels`));
    assert.equal(setLabels.length, 1);
    assert.ok((setLabels[0]!.body as { labelFingerprint?: string }).labelFingerprint, "setLabels sends the fingerprint");
    await p.terminateNodes([n.id]);
  });
});

test("the list filter names the cluster and the non-terminated states", async () => {
  await withProvider("filter-cluster", async (p) => {
    await p.nonTerminatedNodes({ [TAG.nodeKind]: "head" });
    const list = stub.requests.filter((r) => r.method === "GET" && r.path.endsWith("/instances")).at(-1)!;
    const filter = list.query.get("filter") ?? "";
    assert.match(filter, /labels\.stingray-cluster-name = "filter-cluster"/);
    assert.match(filter, /labels\.stingray-node-kind = "head"/);
    assert.match(filter, /status = PROVISIONING\) OR \(status = STAGING\) OR \(status = RUNNING/);
  });
});

test("mutations wait for their zone operation, and an operation error is a ProviderError", async () => {
  await withProvider("ops-cluster", async (p) => {
    const mark = stub.requests.length;
    const [n] = await p.createNodes({ ...nodeConfig, machineType: "e2-small", scheduling: [{ preemptible: true }], guestAccelerators: [{ acceleratorType: "nvidia-tesla-t4", acceleratorCount: 1 }] },
      { [TAG.nodeKind]: "worker" }, 1);
    assert.ok(n);
    const reqs = stub.requests.slice(mark);
    const insert = reqs.find((r) => r.method === "POST" && r.path.endsWith("/instances"))!;
    const body = insert.body as Record<string, unknown>;
    assert.equal(body.machineType, "zones/us-west1-a/machineTypes/e2-small");
    assert.deepEqual(body.scheduling, { preemptible: true });
    assert.equal((body.guestAccelerators as Array<{ acceleratorType: string }>)[0]!.acceleratorType,
      "projects/stub-project/zones/us-west1-a/acceleratorTypes/nvidia-tesla-t4");
    const waits = reqs.filter((r) => r.path.includes("/operations/") && r.path.endsWith("/wait"));
    assert.ok(waits.length >= 1, "createNodes waited on the insert operation");
    const opName = waits[0]!.path.split("/").at(-2)!;
    assert.equal(stub.operations.get(opName)?.status, "DONE", "and returned only once it was done");

    stub.failInserts.push("QUOTA_EXCEEDED");
    await assert.rejects(p.createNodes(nodeConfig, { [TAG.nodeKind]: "worker" }, 1),
      (e: Error) => e instanceof ProviderError && /QUOTA_EXCEEDED/.test(e.message));

    const del = stub.requests.length;
    await p.terminateNodes([n.id]);
    assert.ok(stub.requests.slice(del).some((r) => r.path.endsWith("/wait")), "terminate waited on the delete operation");
    assert.equal(stub.instances.has(`stub-project/us-west1-a/${n.id}`), false);
  });
});

test("setNodeTags retries when the label fingerprint is stale", async () => {
  await withProvider("fp-cluster", async (p) => {
    const [n] = await p.createNodes(nodeConfig, { [TAG.nodeKind]: "worker" }, 1);
    assert.ok(n);
    stub.concurrentLabelChanges = 2;
    const mark = stub.requests.length;
    await p.setNodeTags(n.id, { [TAG.nodeStatus]: "up-to-date" });
    assert.equal(stub.requests.slice(mark).filter((r) => r.path.endsWith("/setLabels")).length, 3, "two stale writes, then one that lands");
    const [got] = await p.nonTerminatedNodes({ [TAG.nodeStatus]: "up-to-date" });
    assert.equal(got?.id, n.id);
    assert.equal(got?.tags.other, "changed-1", "the other writer's labels are kept");
    await p.terminateNodes([n.id]);
  });
});

function clusterConfig(provider: ProviderConfig): ClusterConfig {
  return {
    cluster_name: "boot", max_workers: 2, upscaling_speed: 1, idle_timeout_minutes: 5, provider,
    auth: { ssh_user: "ubuntu" },
    available_node_types: {
      head: { node_config: { machineType: "n1-standard-2", disks: [] }, resources: {}, labels: {}, min_workers: 0, max_workers: 0 },
    },
    head_node_type: "head", file_mounts: {}, cluster_synced_files: [], file_mounts_sync_continuously: false,
    rsync_exclude: [], rsync_filter: [], initialization_commands: [], setup_commands: [], head_setup_commands: [],
    worker_setup_commands: [], head_start_ray_commands: [], worker_start_ray_commands: [],
  };
}

test("validate names project_id and availability_zone; bootstrap fills region and a network interface", async () => {
  assert.throws(() => gcp.validate!({ type: "gcp", availability_zone: "us-west1-a" }, clusterConfig({ type: "gcp" })),
    (e: Error) => e instanceof ConfigError && /provider\.project_id/.test(e.message));
  assert.throws(() => gcp.validate!({ type: "gcp", project_id: "p" }, clusterConfig({ type: "gcp" })),
    (e: Error) => e instanceof ConfigError && /provider\.availability_zone/.test(e.message));
  const noMachine = clusterConfig(providerConfig());
  delete noMachine.available_node_types.head!.node_config.machineType;
  assert.throws(() => gcp.validate!(noMachine.provider, noMachine), /available_node_types\.head\.node_config\.machineType/);
  const cfg = await gcp.bootstrapConfig!(clusterConfig(providerConfig()), { dryRun: true });
  assert.equal(cfg.provider.region, "us-west1");
  assert.deepEqual(cfg.available_node_types.head!.node_config.networkInterfaces,
    [{ network: "global/networks/default", accessConfigs: [{ name: "External NAT", type: "ONE_TO_ONE_NAT" }] }]);
  const internal = await gcp.bootstrapConfig!(clusterConfig(providerConfig({ use_internal_ips: true })), { dryRun: true });
  assert.deepEqual(internal.available_node_types.head!.node_config.networkInterfaces, [{ network: "global/networks/default" }]);
});
