/**
 * The dashboard commands' pure parts: output formats, filters, entrypoint quoting, runtime env
 * flags, truncation warnings, repeatable flags, the ssh command of `stingray dashboard`.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { table, bytes, duration, cell, resources, parseFormat, structured, boxed } from "../../src/cli/format.ts";
import { parse, help, UsageError } from "../../src/cli/args.ts";
import { parseFilter, listWarnings, fileGlob, renderMemory, timelineFileName } from "../../src/cli/commands/state.ts";
import { shellJoin, buildRuntimeEnv, jobTable } from "../../src/cli/commands/job.ts";
import { sshForwardArgs } from "../../src/cli/commands/dashboard.ts";
import type { JobDetails, NodeState, ObjectState } from "../../src/dashboard/api_types.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-cli-format-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("tables: columns aligned on the widest cell, no trailing spaces, newlines flattened", () => {
  assert.equal(table(["ID", "STATE"], [["a1", "ALIVE"], ["b22222", "DEAD\nreason"]]),
    "ID      STATE\na1      ALIVE\nb22222  DEAD reason\n");
  assert.equal(table(["A", "B"], []), "A  B\n");
});

test("human units and cells", () => {
  assert.equal(bytes(512), "512 B");
  assert.equal(bytes(1536), "1.50 KiB");
  assert.equal(bytes(3 * 2 ** 30), "3.00 GiB");
  assert.equal(bytes(null), "-");
  assert.deepEqual([duration(850), duration(12_340), duration(245_000), duration(7_380_000), duration(null)], ["850ms", "12.3s", "4m05s", "2h03m", "-"]);
  assert.equal(cell(null), "-");
  assert.equal(cell({ CPU: 1, zone: "a" }), "CPU: 1, zone: a");
  assert.equal(cell({}), "-");
  assert.equal(resources({ CPU: 2, memory: 2 ** 30 }), "CPU: 2, memory: 1.00 GiB");
  assert.match(boxed("Job 'x' succeeded"), /^-{55}\nJob 'x' succeeded\n-{55}\n$/);
});

test("--format: table, json, yaml (default = table); anything else names the choices", () => {
  assert.equal(parseFormat("list", undefined), "table");
  assert.equal(parseFormat("list", undefined, "yaml"), "yaml");
  assert.equal(parseFormat("list", "JSON"), "json");
  assert.equal(parseFormat("list", "default"), "table");
  assert.throws(() => parseFormat("list", "xml"), (e: Error) => e instanceof UsageError && /--format must be one of table, json, yaml, got "xml"/.test(e.message));
  const data = [{ a: 1, b: { c: "x" } }];
  assert.deepEqual(JSON.parse(structured("json", data)), data);
  assert.deepEqual(YAML.parse(structured("yaml", data)), data);
});

test("filters: key=value and key!=value, the first = splits, bad ones name the form", () => {
  assert.deepEqual(parseFilter("state=ALIVE"), { key: "state", predicate: "=", value: "ALIVE" });
  assert.deepEqual(parseFilter(" state != DEAD "), { key: "state", predicate: "!=", value: "DEAD" });
  assert.deepEqual(parseFilter("name=a=b"), { key: "name", predicate: "=", value: "a=b" });
  assert.deepEqual(parseFilter("name="), { key: "name", predicate: "=", value: "" });
  for (const bad of ["state", "=x", "!=x", ""]) assert.throws(() => parseFilter(bad), /KEY=VALUE or KEY!=VALUE/, bad);
});

test("repeatable flags keep every value; other flags behave as before", () => {
  const spec = { filter: { type: "string" as const, short: "f", multiple: true, help: "f" }, limit: { type: "string" as const, help: "l" },
    detail: { type: "boolean" as const, help: "d" } };
  const r = parse("list", ["nodes", "-f", "a=1", "--filter=b!=2", "--limit", "5", "--detail=false"], spec);
  assert.deepEqual(r.lists.filter, ["a=1", "b!=2"]);
  assert.equal(r.values.filter, "b!=2");
  assert.deepEqual([r.values.limit, r.values.detail, r.positionals], ["5", false, ["nodes"]]);
  assert.deepEqual(parse("list", [], spec).lists, {});
  assert.throws(() => parse("list", ["--nope"], spec), /Unknown option '--nope'[\s\S]*Valid flags: --filter, --limit, --detail/);
  assert.match(help("list", "x", spec), /-f, --filter=VALUE\s+f \(repeatable\)/);
});

test("the entrypoint is joined like shlex.join", () => {
  assert.equal(shellJoin(["node", "main.ts", "--n=3"]), "node main.ts --n=3");
  assert.equal(shellJoin(["node", "-e", "console.log('hi there')"]), `node -e 'console.log('"'"'hi there'"'"')'`);
  assert.equal(shellJoin(["echo", "", "a b", "$HOME", "x;y"]), "echo '' 'a b' '$HOME' 'x;y'");
});

test("runtime env: a YAML or JSON file, or inline JSON, then --working-dir; bad shapes refused", () => {
  const warnings: string[] = [];
  const warn = (s: string): void => { warnings.push(s); };
  const file = path.join(tmp, "env.yaml");
  fs.writeFileSync(file, "working_dir: ./app\nenv_vars:\n  A: '1'\nexcludes: ['*.log']\n");
  assert.deepEqual(buildRuntimeEnv({ "runtime-env": file }, warn), { env: { working_dir: "./app", env_vars: { A: "1" }, excludes: ["*.log"] }, excludes: ["*.log"] });
  assert.deepEqual(buildRuntimeEnv({ "runtime-env": file, "working-dir": "/other" }, warn).env.working_dir, "/other");
  assert.match(warnings.pop()!, /--working-dir \/other replaces the runtime env's working_dir \.\/app/);
  assert.deepEqual(buildRuntimeEnv({ "runtime-env-json": "{\"env_vars\":{\"B\":\"2\"}}" }, warn), { env: { env_vars: { B: "2" } }, excludes: [] });
  assert.deepEqual(buildRuntimeEnv({}, warn), { env: {}, excludes: [] });
  assert.throws(() => buildRuntimeEnv({ "runtime-env": file, "runtime-env-json": "{}" }, warn), /not both/);
  assert.throws(() => buildRuntimeEnv({ "runtime-env-json": "{\"env_vars\":{\"A\":1}}" }, warn), /env_vars must map names to strings/);
  assert.throws(() => buildRuntimeEnv({ "runtime-env-json": "{\"excludes\":\"x\"}" }, warn), /excludes must be a list/);
  assert.throws(() => buildRuntimeEnv({ "runtime-env-json": "[1]" }, warn), /must be a JSON object/);
  assert.throws(() => buildRuntimeEnv({ "runtime-env": path.join(tmp, "missing.yaml") }, warn), /cannot read --runtime-env/);
});

test("list warnings: truncated at the source, cut by --limit, partial failures", () => {
  const base = { total: 3, num_after_truncation: 3, num_filtered: 3, result: [1, 2, 3], partial_failure_warning: null, warnings: null };
  assert.deepEqual(listWarnings("tasks", base, 100), []);
  assert.match(listWarnings("tasks", { ...base, num_filtered: 250, result: [1, 2] }, 2)[0]!, /showing 2 of 250 tasks \(--limit 2\)/);
  // The server's own limit warning is not repeated.
  assert.deepEqual(listWarnings("tasks", { ...base, num_filtered: 250, result: [1, 2], warnings: ["250 records matched; showing the first 2 (raise --limit)"] }, 2),
    ["250 records matched; showing the first 2 (raise --limit)"]);
  assert.match(listWarnings("tasks", { ...base, total: 20_000, num_after_truncation: 10_000 }, 100)[0]!, /holds 20000 tasks, of which only 10000/);
  assert.deepEqual(listWarnings("nodes", { ...base, partial_failure_warning: "node x did not answer", warnings: ["w"] }, 100), ["node x did not answer", "w"]);
});

test("log globs match like fnmatch", () => {
  assert.ok(fileGlob("raylet*").test("raylet.out") && fileGlob("*.err").test("worker-1.err") && !fileGlob("gcs.out").test("gcs_out"));
  assert.ok(fileGlob("*").test("a/b") && fileGlob("worker-?.out").test("worker-1.out"));
});

test("stingray dashboard: the ssh command forwards to the head's loopback dashboard", () => {
  assert.deepEqual(sshForwardArgs({ host: "head", localPort: 8265, remotePort: 8265 }),
    ["-N", "-o", "ExitOnForwardFailure=yes", "-o", "ServerAliveInterval=30", "-L", "127.0.0.1:8265:127.0.0.1:8265", "head"]);
  assert.deepEqual(sshForwardArgs({ host: "h", localPort: 9000, remotePort: 8266, user: "ana", key: "/k", sshPort: 2222 }).slice(5),
    ["-L", "127.0.0.1:9000:127.0.0.1:8266", "-i", "/k", "-p", "2222", "ana@h"]);
  assert.deepEqual(sshForwardArgs({ host: "h", localPort: 1, remotePort: 2, options: ["StrictHostKeyChecking=accept-new"] }).slice(7, 9),
    ["-o", "StrictHostKeyChecking=accept-new"]);
  assert.throws(() => sshForwardArgs({ host: "h", localPort: 1, remotePort: 2, options: ["StrictHostKeyChecking"] }), /KEY=VALUE/);
});

test("memory and job tables", () => {
  const node = { node_id: "n1", node_ip: "10.0.0.1", is_head_node: true, state: "ALIVE",
    stats: { object_store_used_bytes: 3 * 2 ** 20, object_store_capacity_bytes: 100 * 2 ** 20, num_objects: 2 } } as unknown as NodeState;
  const obj = (id: string, size: number): ObjectState => ({ object_id: id, object_size: size, node_id: "n1", ip: "10.0.0.1", owner_worker_id: "w1",
    owner_ip: "10.0.0.1", copy_type: "PRIMARY", state: "SEALED", pinned: false });
  const out = renderMemory([node], [obj("small", 10), obj("large", 2 ** 20)], { objects: 2, bytes: 2 ** 20 + 10 }, false);
  assert.match(out, /Node n1 \(10\.0\.0\.1, head\): 3\.00 MiB of 100\.00 MiB used \(3\.0%\), 2 objects/);
  assert.ok(out.indexOf("large") < out.indexOf("small"), "largest first");
  assert.match(out, /Total: 2 objects, 1\.00 MiB in the object store of 1 node\n$/);
  assert.doesNotMatch(renderMemory([node], [obj("a", 1)], { objects: 1, bytes: 1 }, true), /OBJECT_ID/);
  const job = { submission_id: "s1", job_id: "01000000", type: "SUBMISSION", status: "RUNNING", entrypoint: "node main.ts", start_time: Date.now() - 5000, end_time: null } as JobDetails;
  assert.match(jobTable([job]), /^SUBMISSION_ID\s+JOB_ID\s+TYPE\s+STATUS\s+START_TIME\s+DURATION\s+ENTRYPOINT\ns1\s+01000000\s+SUBMISSION\s+RUNNING\s+\S+ \S+\s+5\.\ds\s+node main\.ts\n$/);
  assert.match(timelineFileName(new Date(2024, 0, 2, 3, 4, 5)), /^stingray-timeline-2024-01-02_03-04-05\.json$/);
});
