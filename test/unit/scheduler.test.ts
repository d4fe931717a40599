import { test } from "node:test";
import assert from "node:assert/strict";
import { LocalScheduler, type ClusterNodeView } from "../../src/raylet/scheduler.ts";

test("grants in order while resources last, then as they are released", () => {
  const s = new LocalScheduler({ CPU: 2 });
  const granted: number[] = [];
  for (let i = 1; i <= 4; i++) s.enqueue({ id: i, resources: { CPU: 1 }, grant: () => granted.push(i) });
  assert.deepEqual(granted, [1, 2]);
  assert.equal(s.queued, 2);
  s.release({ CPU: 1 });
  assert.deepEqual(granted, [1, 2, 3]);
  assert.equal(s.available.CPU, 0);
});

test("a big request does not block smaller ones behind it", () => {
  const s = new LocalScheduler({ CPU: 2 });
  const granted: string[] = [];
  s.enqueue({ id: 1, resources: { CPU: 1 }, grant: () => granted.push("a") });
  s.enqueue({ id: 2, resources: { CPU: 2 }, grant: () => granted.push("big") });
  s.enqueue({ id: 3, resources: { CPU: 1 }, grant: () => granted.push("c") });
  assert.deepEqual(granted, ["a", "c"]);
});

test("fractional resources add up exactly", () => {
  const s = new LocalScheduler({ CPU: 1 });
  let n = 0;
  for (let i = 0; i < 10; i++) s.enqueue({ id: i, resources: { CPU: 0.1 }, grant: () => n++ });
  assert.equal(n, 10);
  assert.equal(s.available.CPU, 0);
});

test("GPU instances are assigned and returned", () => {
  const s = new LocalScheduler({ CPU: 4, GPU: 2 });
  const ids: number[][] = [];
  s.enqueue({ id: 1, resources: { GPU: 1 }, grant: (g) => ids.push(g) });
  s.enqueue({ id: 2, resources: { GPU: 1 }, grant: (g) => ids.push(g) });
  assert.deepEqual(ids, [[0], [1]]);
  s.release({ GPU: 1 }, [0]);
  s.enqueue({ id: 3, resources: { GPU: 1 }, grant: (g) => ids.push(g) });
  assert.deepEqual(ids[2], [0]);
});

test("placement: local, spillback, infeasible", () => {
  const s = new LocalScheduler({ CPU: 2 });
  const cluster: ClusterNodeView[] = [
    { nodeId: "self", total: { CPU: 2 }, available: { CPU: 2 }, alive: true },
    { nodeId: "gpu", total: { CPU: 2, GPU: 1 }, available: { CPU: 2, GPU: 1 }, alive: true },
  ];
  assert.deepEqual(s.place({ CPU: 1 }, "self", cluster), { kind: "local" });
  assert.deepEqual(s.place({ GPU: 1 }, "self", cluster), { kind: "spill", nodeId: "gpu" });
  assert.equal(s.place({ CPU: 64 }, "self", cluster).kind, "infeasible");
  s.enqueue({ id: 1, resources: { CPU: 2 }, grant: () => {} });
  assert.deepEqual(s.place({ CPU: 1 }, "self", cluster), { kind: "spill", nodeId: "gpu" });
});

test("label selectors pick nodes by label, with ! to exclude", () => {
  const s = new LocalScheduler({ CPU: 2 });
  const cluster: ClusterNodeView[] = [
    { nodeId: "self", total: { CPU: 2 }, available: { CPU: 2 }, alive: true, labels: { zone: "a" } },
    { nodeId: "b1", total: { CPU: 2 }, available: { CPU: 2 }, alive: true, labels: { zone: "b" } },
  ];
  assert.deepEqual(s.place({ CPU: 1 }, "self", cluster, false, { zone: "a" }, { zone: "a" }), { kind: "local" });
  assert.deepEqual(s.place({ CPU: 1 }, "self", cluster, false, { zone: "b" }, { zone: "a" }), { kind: "spill", nodeId: "b1" });
  assert.deepEqual(s.place({ CPU: 1 }, "self", cluster, false, { zone: "!a" }, { zone: "a" }), { kind: "spill", nodeId: "b1" });
  const none = s.place({ CPU: 1 }, "self", cluster, false, { zone: "c" }, { zone: "a" });
  assert.equal(none.kind, "infeasible");
  assert.match((none as { reason: string }).reason, /labels \{"zone":"c"\}/);
});

test("SPREAD rotates over the nodes with room", () => {
  const s = new LocalScheduler({ CPU: 2 });
  const cluster: ClusterNodeView[] = ["a", "b", "self"].map((nodeId) => ({ nodeId, total: { CPU: 2 }, available: { CPU: 2 }, alive: true }));
  const picks = Array.from({ length: 6 }, () => {
    const p = s.place({ CPU: 1 }, "self", cluster, true);
    return p.kind === "local" ? "self" : p.kind === "spill" ? p.nodeId : "none";
  });
  assert.deepEqual(picks, ["a", "b", "self", "a", "b", "self"]);
});

test("queued requests move to nodes that have room now, no more than each holds; pinned ones stay", () => {
  const s = new LocalScheduler({ CPU: 1 });
  const granted: number[] = [];
  const spilled: Array<[number, string]> = [];
  s.enqueue({ id: 0, resources: { CPU: 1 }, grant: () => granted.push(0), spill: (n) => spilled.push([0, n]) });
  for (let i = 1; i <= 4; i++) s.enqueue({ id: i, resources: { CPU: 1 }, grant: () => granted.push(i), spill: (n) => spilled.push([i, n]) });
  s.enqueue({ id: 5, resources: { CPU: 1 }, grant: () => granted.push(5) }); // pinned to this node
  s.enqueue({ id: 6, resources: { CPU: 1 }, selector: { zone: "b" }, grant: () => granted.push(6), spill: (n) => spilled.push([6, n]) });
  assert.deepEqual(granted, [0]);
  const cluster: ClusterNodeView[] = [
    { nodeId: "self", total: { CPU: 1 }, available: { CPU: 0 }, alive: true },
    { nodeId: "w1", total: { CPU: 2 }, available: { CPU: 2 }, alive: true, labels: { zone: "a" } },
    { nodeId: "dead", total: { CPU: 8 }, available: { CPU: 8 }, alive: false },
  ];
  assert.equal(s.rebalance("self", cluster), 2);
  assert.deepEqual(spilled, [[1, "w1"], [2, "w1"]]);
  assert.equal(s.queued, 4, "requests 3, 4, the pinned 5 and the zone-b 6 stay queued");
  s.release({ CPU: 1 });
  assert.deepEqual(granted, [0, 3]);
});

test("requests spilled on one view are counted against their targets, so a burst spreads out", () => {
  const s = new LocalScheduler({ CPU: 2 });
  s.random = () => 0; // always the first node with room: without the count, every spill would go to "a"
  s.enqueue({ id: 1, resources: { CPU: 2 }, grant: () => {} });
  const cluster: ClusterNodeView[] = [
    { nodeId: "self", total: { CPU: 2 }, available: { CPU: 0 }, alive: true },
    { nodeId: "a", total: { CPU: 2 }, available: { CPU: 2 }, alive: true },
    { nodeId: "b", total: { CPU: 2 }, available: { CPU: 2 }, alive: true },
  ];
  const picks = Array.from({ length: 5 }, () => {
    const p = s.place({ CPU: 1 }, "self", cluster);
    return p.kind === "spill" ? p.nodeId : p.kind;
  });
  assert.deepEqual(picks, ["a", "a", "b", "b", "local"], "the fifth waits here: no node has room left");
  // A request queued here moves only once the view shows room again (the next refresh), and
  // what it takes is counted too.
  const moved: string[] = [];
  s.enqueue({ id: 2, resources: { CPU: 1 }, grant: () => {}, spill: (n) => moved.push(n) });
  s.enqueue({ id: 3, resources: { CPU: 1 }, grant: () => {}, spill: (n) => moved.push(n) });
  assert.equal(s.rebalance("self", cluster), 0);
  cluster[2]!.available = { CPU: 1 };
  assert.equal(s.rebalance("self", cluster), 1);
  assert.deepEqual(moved, ["b"]);
  assert.deepEqual(cluster[2]!.available, { CPU: 0 });
  assert.equal(s.queued, 1);
});
