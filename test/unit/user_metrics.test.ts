/**
 * Application metrics: validation where they are recorded, and the node's aggregation over its
 * processes (counters and histograms summed, kept after a process exits; gauges last-written).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { UserMetricsRecorder } from "../../src/worker/user_metrics.ts";
import { UserMetricsTable } from "../../src/raylet/metrics.ts";

test("definitions and values are checked where they are recorded", () => {
  const r = new UserMetricsRecorder();
  assert.throws(() => r.define({ name: "1bad", kind: "counter", description: "", tagKeys: [] }), /not valid/);
  assert.throws(() => r.define({ name: "h", kind: "histogram", description: "", tagKeys: [], boundaries: [10, 5] }), /increasing/);
  r.define({ name: "c", kind: "counter", description: "", tagKeys: ["route"] });
  assert.throws(() => r.define({ name: "c", kind: "gauge", description: "", tagKeys: ["route"] }), /already defined .* as a counter/);
  assert.throws(() => r.inc("c", -1, {}), /non-negative/);
  assert.throws(() => r.inc("c", 1, { colour: "red" }), /has no tag "colour"/);
  assert.equal(r.snapshot(), undefined, "nothing recorded yet");
  r.inc("c", 2, { route: "/a" });
  r.inc("c", 3, { route: "/a" });
  const snap = r.snapshot()!;
  assert.deepEqual(snap[0]!.series.map((s) => [s.tags, s.value]), [[{ route: "/a" }, 5]]);
  assert.equal(r.snapshot(), undefined, "unchanged since the last snapshot");
});

test("the node sums counters and histograms over processes, keeps them after exits, and takes the newest gauge", () => {
  const a = new UserMetricsRecorder(), b = new UserMetricsRecorder();
  for (const r of [a, b]) {
    r.define({ name: "req", kind: "counter", description: "", tagKeys: ["route"] });
    r.define({ name: "lat", kind: "histogram", description: "", tagKeys: [], boundaries: [1, 10] });
    r.define({ name: "depth", kind: "gauge", description: "", tagKeys: [] });
  }
  a.inc("req", 2, { route: "/x" }); b.inc("req", 3, { route: "/x" }); b.inc("req", 1, { route: "/y" });
  a.observe("lat", 0.5, {}); b.observe("lat", 5, {}); b.observe("lat", 50, {});
  a.set("depth", 4, {});
  const t = new UserMetricsTable();
  t.report("wa", a.snapshot()!);
  b.set("depth", 9, {});
  t.report("wb", b.snapshot()!);
  const agg = (): ReturnType<UserMetricsTable["aggregate"]> => t.aggregate();
  const req = [...agg().get("req")!.series.values()].map((s) => [s.tags.route, s.value]).sort();
  assert.deepEqual(req, [["/x", 5], ["/y", 1]]);
  const lat = [...agg().get("lat")!.series.values()][0]!;
  assert.deepEqual({ buckets: lat.buckets, count: lat.count, sum: lat.sum }, { buckets: [1, 1, 1], count: 3, sum: 55.5 });
  assert.equal([...agg().get("depth")!.series.values()][0]!.value, 9, "the newest gauge value");
  t.workerExited("wb");
  assert.deepEqual([...agg().get("req")!.series.values()].map((s) => [s.tags.route, s.value]).sort(), [["/x", 5], ["/y", 1]], "counts stay after an exit");
  assert.equal([...agg().get("depth")!.series.values()][0]!.value, 4, "the exited process's gauge is gone");
});
