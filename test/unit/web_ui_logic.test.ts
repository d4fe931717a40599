/**
 * The web UI's pure logic (src/web_ui/app/lib and format.ts), run in Node: table sorting and
 * filtering at the 10,000-row scale the UI lists, the log line buffer, chart ticks, hash routes,
 * request paths from the contract's route table, and the unwrapping of Ray's envelopes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { filterRows, sortRows, compare } from "../../src/web_ui/app/lib/table.ts";
import { LogBuffer } from "../../src/web_ui/app/lib/log_buffer.ts";
import { byteTicks, niceTicks } from "../../src/web_ui/app/lib/ticks.ts";
import { href, parseHash } from "../../src/web_ui/app/lib/route.ts";
import { matchingCount, routePath, summaryPayload, unwrap, url } from "../../src/web_ui/app/lib/paths.ts";
import { bytes, duration, formatResources, percent, resourceOrder } from "../../src/web_ui/app/format.ts";
import type { ListResult, TaskSummary } from "../../src/dashboard/api_types.ts";

interface Row { id: string; n: number | null; name: string }
const cols = [{ id: "n", sort: (r: Row) => r.n }, { id: "name", sort: (r: Row) => r.name }, { id: "none" }];

test("sorting: numbers numerically, names naturally, empty values last both ways, stable, input untouched", () => {
  const rows: Row[] = [{ id: "a", n: 10, name: "w10" }, { id: "b", n: null, name: "w2" }, { id: "c", n: 2, name: "W1" }, { id: "d", n: 10, name: "w3" }];
  const copy = [...rows];
  assert.deepEqual(sortRows(rows, cols, { id: "n", desc: false }).map((r) => r.id), ["c", "a", "d", "b"]);
  assert.deepEqual(sortRows(rows, cols, { id: "n", desc: true }).map((r) => r.id), ["a", "d", "c", "b"]);
  assert.deepEqual(sortRows(rows, cols, { id: "name", desc: false }).map((r) => r.name), ["W1", "w2", "w3", "w10"]);
  assert.equal(sortRows(rows, cols, { id: "none", desc: false }), rows, "an unsortable column keeps the order");
  assert.equal(sortRows(rows, cols, undefined), rows);
  assert.deepEqual(rows, copy);
  assert.ok(compare("", "x") > 0 && compare(undefined, 0) > 0 && compare(true, false) > 0);
});

test("filtering: every term must match, case-insensitive; 10,000 rows sort and filter in well under a frame budget", () => {
  const rows = Array.from({ length: 10_000 }, (_, i) => ({ id: `task${i}`, n: (i * 7919) % 10_000, name: i % 97 === 0 ? "FAILED train_step" : "FINISHED preprocess" }));
  const texts = rows.map((r) => `${r.id} ${r.name}`.toLowerCase());
  assert.equal(filterRows(rows, texts, "").length, 10_000);
  assert.equal(filterRows(rows, texts, "  failed   TRAIN ").length, Math.ceil(10_000 / 97));
  assert.equal(filterRows(rows, texts, "failed preprocess").length, 0);
  const t0 = performance.now();
  for (let k = 0; k < 5; k++) {
    sortRows(rows, [{ id: "n", sort: (r: { n: number }) => r.n }], { id: "n", desc: k % 2 === 0 });
    filterRows(rows, texts, "train");
  }
  assert.ok((performance.now() - t0) / 5 < 100, "sort + filter of 10k rows stays interactive");
});

test("log buffer: lines split across chunks, CRLF, a partial last line, and the cap drops the oldest", () => {
  const b = new LogBuffer(5);
  b.append("one\r\ntw");
  assert.deepEqual([b.length, b.line(0), b.line(1)], [2, "one", "tw"]);
  b.append("o\nthree\n");
  assert.deepEqual(b.lines, ["one", "two", "three"]);
  assert.equal(b.partial, "");
  b.append("4\n5\n6\n7");
  assert.deepEqual(b.lines, ["two", "three", "4", "5", "6"], "capped at 5 lines");
  assert.equal(b.dropped, 1);
  assert.equal(b.line(b.length - 1), "7");
  b.reset();
  assert.deepEqual([b.length, b.dropped], [0, 0]);
});

test("chart ticks: round steps that reach the maximum; byte ticks in whole binary units", () => {
  assert.deepEqual(niceTicks(40), [0, 10, 20, 30, 40]);
  assert.deepEqual(niceTicks(37), [0, 10, 20, 30, 40]);
  assert.deepEqual(niceTicks(0.9), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(niceTicks(0), [0, 1]);
  const g = 2 ** 30;
  assert.deepEqual(byteTicks(160 * g), [0, 50, 100, 150, 200].map((v) => v * g));
  assert.deepEqual(byteTicks(5 * g), [0, 2, 4, 6].map((v) => v * g));
  assert.deepEqual(byteTicks(800 * 2 ** 20), [0, 200, 400, 600, 800].map((v) => v * 2 ** 20));
});

test("hash routes: parts decoded, query parsed; href encodes parts and drops empty query values", () => {
  const r = parseHash("#/jobs/stingraysubmit_a%2Fb?state=FAILED&x=");
  assert.deepEqual(r.parts, ["jobs", "stingraysubmit_a/b"]);
  assert.equal(r.query.get("state"), "FAILED");
  assert.deepEqual(parseHash("").parts, []);
  assert.deepEqual(parseHash("#/%E0%A4%A").parts, ["%E0%A4%A"], "a malformed escape stays as typed");
  assert.equal(href(["logs"], { node: "n1", file: "a b.log", follow: "" }), "#/logs?node=n1&file=a+b.log");
  assert.equal(href(["jobs", "a/b"]), "#/jobs/a%2Fb");
});

test("request paths come from the contract's route table; filters repeat in step as Ray takes them", () => {
  assert.equal(routePath("stopJob", { id: "raysubmit 1" }), "/api/jobs/raysubmit%201/stop");
  assert.throws(() => routePath("getJob"), /needs :id/);
  assert.equal(url("listTasks", {}, { limit: 10_000, detail: true, timeout: undefined, all: false }, [
    { key: "state", predicate: "=", value: "FAILED" }, { key: "job_id", predicate: "!=", value: "01" },
  ]), "/api/v0/tasks?limit=10000&detail=1&filter_keys=state&filter_predicates=%3D&filter_values=FAILED&filter_keys=job_id&filter_predicates=%21%3D&filter_values=01");
  assert.equal(url("clusterStatus"), "/api/cluster_status");
});

test("Ray's envelopes are unwrapped; summaries from node_id_to_summary.cluster; counts from num_filtered", () => {
  const list: ListResult<number> = { total: 100_000, num_after_truncation: 3, num_filtered: 1031, result: [1, 2, 3], partial_failure_warning: null, warnings: null };
  assert.deepEqual(unwrap({ result: true, msg: "", data: { result: list } }), list);
  assert.deepEqual(unwrap([1, 2]), [1, 2], "plain JSON passes through");
  assert.equal(matchingCount(list), 1031);
  const s = { total_tasks: 5 } as TaskSummary;
  assert.equal(summaryPayload<TaskSummary>({ result: true, msg: "", data: { result: { node_id_to_summary: { cluster: s } } } }), s);
  assert.equal(summaryPayload<TaskSummary>({ result: true, msg: "", data: { result: s } }), s);
});

test("formatting: sizes, durations, fractions, resources in Ray's order without node markers", () => {
  assert.equal(bytes(0), "0 B");
  assert.equal(bytes(1536), "1.50 KiB");
  assert.equal(bytes(5 * 2 ** 30), "5.00 GiB");
  assert.equal(bytes(null), "–");
  assert.equal(duration(850), "850 ms");
  assert.equal(duration(65_000), "1m 05s");
  assert.equal(duration(3 * 86_400_000 + 4 * 3_600_000), "3d 4h");
  assert.equal(percent(0.756), "76%");
  assert.equal(percent(0.012), "1.2%");
  assert.equal(formatResources({ memory: 2 ** 30, "node:10.0.0.1": 1, GPU: 1, CPU: 4, custom: 2 }), "CPU: 4, GPU: 1, memory: 1.00 GiB, custom: 2");
  assert.ok(resourceOrder("CPU", "object_store_memory") < 0);
});
