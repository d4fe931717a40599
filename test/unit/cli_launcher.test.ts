import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";

// The launcher commands' answers to bad input, through the real CLI: the file, line and key
// path of a config error, and what to do instead; --dry-run never touches a host.
const CLI = path.resolve(import.meta.dirname, "../../bin/stingray.js");
let dir: string;
const run = (...args: string[]): { code: number | null; out: string; err: string } => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, HOME: dir } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const write = (name: string, text: string): string => { const f = path.join(dir, name); fs.writeFileSync(f, text); return f; };
const LOCAL = "cluster_name: t\nprovider:\n  type: local\n  head_ip: 192.0.2.1\n  worker_ips: [192.0.2.2]\nauth:\n  ssh_user: u\n";

before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "cli-launcher-")); });
after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

test("an unknown key names the file, the line and the likely key", () => {
  const f = write("typo.yaml", `${LOCAL}setup_command: [echo hi]\n`);
  const r = run("up", f, "-y");
  assert.equal(r.code, 2);
  assert.match(r.err, new RegExp(`${f.replace(/[.]/g, "\\.")}:8: setup_command: unknown key; did you mean "setup_commands"\\?`));
});

test("a wrong type gives the key path and the value", () => {
  const f = write("type.yaml", `${LOCAL}available_node_types:\n  local.cluster.node:\n    resources: {CPU: two}\n    node_config: {}\n`);
  const r = run("up", f, "--dry-run");
  assert.equal(r.code, 2);
  assert.match(r.err, /:10: available_node_types\["local\.cluster\.node"\]\.resources\.CPU: must be a number \(got "two"\)/);
});

test("an unknown provider type lists the known ones; a missing file says so", () => {
  const r = run("up", write("p.yaml", "provider: {type: nope}\n"), "-y");
  assert.equal(r.code, 2);
  assert.match(r.err, /provider\.type: must be one of local, fake_multinode, aws, gcp, kubernetes, external \(got "nope"\)/);
  const m = run("down", path.join(dir, "missing.yaml"), "-y");
  assert.equal(m.code, 2);
  assert.match(m.err, /missing\.yaml does not exist/);
});

test("flags: conflicting, missing or unquoted commands are usage errors with the fix", () => {
  const f = write("ok.yaml", LOCAL);
  assert.match(run("up", f, "--no-restart", "--restart-only").err, /--no-restart or --restart-only, not both/);
  assert.match(run("exec", f).err, /give the command to run, quoted/);
  assert.match(run("exec", f, "echo", "hi").err, /quote the command as one argument/);
  assert.match(run("rsync-up", f, "/a").err, /give SOURCE and TARGET/);
  assert.match(run("up").err, /give the cluster config file/);
  assert.match(run("up", f, "--bogus").err, /Unknown option '--bogus'[\s\S]*Valid flags:/);
});

test("--dry-run validates and prints the plan without contacting any host", () => {
  const f = write("dry.yaml", `${LOCAL}setup_commands: [npm install -g stingray]\n`);
  const r = run("up", f, "--dry-run");
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /is valid/);
  assert.match(r.out, /npm install -g stingray/);
  assert.match(r.out, /stingray start --head --port=6379 --autoscaling-config=~\/stingray_bootstrap_config\.yaml/);
  assert.ok(!fs.existsSync(path.join(dir, "stingray_bootstrap_config.yaml")));
});
