/**
 * `stingray dashboard HEAD` (seed 001's `ray dashboard`): a head whose dashboard listens on its
 * loopback only, a real sshd on it, and a second host that forwards the dashboard over SSH and
 * reaches it at 127.0.0.1 with the token, while the head's address itself refuses connections.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { TestHosts, type Host } from "../helpers/hosts.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const node = process.execPath;
const CLI = path.join(ROOT, "bin/stingray.js");
const PROBE = path.join(ROOT, "test/fixtures/drivers/http_probe.ts");
const tool = (t: string): boolean => { try { execFileSync("sh", ["-c", `command -v ${t}`], { stdio: "ignore" }); return true; } catch { return false; } };
const skip = TestHosts.supported() ?? (!tool("/usr/sbin/sshd") || !tool("ssh-keygen") ? "needs openssh-server and openssh-client (installed by .ci/run)" : undefined);
let hosts: TestHosts | undefined;
let token = "";

interface Result { status?: number; body?: string; error?: string }
async function probe(from: Host, url: string): Promise<Result> {
  const { stdout } = await hosts!.exec(from, [node, PROBE, JSON.stringify([{ method: "GET", url, headers: { authorization: `Bearer ${token}` } }])], { cwd: ROOT });
  return (JSON.parse(stdout.trim().split("\n").pop()!) as Result[])[0]!;
}

before(async () => {
  if (skip) return;
  hosts = await TestHosts.create(2);
  const [head, laptop] = hosts.hosts as [Host, Host];
  // The laptop's key, authorised on the head's sshd (files in the hosts' private /tmp).
  await hosts.exec(laptop, ["sh", "-c", "mkdir -p /tmp/ssh && ssh-keygen -q -t ed25519 -N '' -f /tmp/ssh/id"]);
  const pub = (await hosts.exec(laptop, ["cat", "/tmp/ssh/id.pub"])).stdout.trim();
  fs.mkdirSync("/run/sshd", { recursive: true });
  await hosts.exec(head, ["sh", "-c", [
    "mkdir -p /tmp/ssh", "ssh-keygen -q -t ed25519 -N '' -f /tmp/ssh/host", `echo '${pub}' > /tmp/ssh/authorized_keys`,
    "printf 'Port 22\\nHostKey /tmp/ssh/host\\nAuthorizedKeysFile /tmp/ssh/authorized_keys\\nPermitRootLogin prohibit-password\\n" +
      "PasswordAuthentication no\\nStrictModes no\\nUsePAM no\\nAllowTcpForwarding yes\\nPidFile /tmp/ssh/sshd.pid\\n' > /tmp/ssh/sshd_config",
  ].join(" && ")]);
  hosts.spawn(head, ["/usr/sbin/sshd", "-D", "-e", "-f", "/tmp/ssh/sshd_config"]);
  await hosts.exec(head, [node, CLI, "start", "--head", `--node-ip-address=${head.ip}`, "--num-cpus=1"]);
  token = (await hosts.exec(head, [node, CLI, "get-auth-token"])).stdout.trim();
});
after(async () => { await hosts?.destroy(); });

test("stingray dashboard forwards a head's loopback-only dashboard over SSH", { skip, timeout: 90_000 }, async () => {
  const [head, laptop] = hosts!.hosts as [Host, Host];
  const direct = await probe(laptop, `http://${head.ip}:8265/api/version`);
  assert.equal(direct.status, undefined, "the dashboard is not reachable from other hosts by default");
  assert.match(direct.error ?? "", /ECONNREFUSED|fetch failed/);

  const fwd = hosts!.spawn(laptop, [node, CLI, "dashboard", head.ip, "-p", "18265", "--ssh-user", "root", "--ssh-key", "/tmp/ssh/id",
    "-o", "StrictHostKeyChecking=accept-new", "-o", "UserKnownHostsFile=/tmp/ssh/known_hosts", "-o", "BatchMode=yes"]);
  let out = "";
  fwd.stdout?.on("data", (c: Buffer) => { out += c.toString(); });
  fwd.stderr?.on("data", (c: Buffer) => { out += c.toString(); });
  let r: Result = {};
  for (let i = 0; i < 100 && r.status === undefined; i++) {
    r = await probe(laptop, "http://127.0.0.1:18265/api/version");
    if (r.status === undefined) await new Promise((res) => setTimeout(res, 200));
  }
  assert.equal(r.status, 200, `forwarded request failed: ${JSON.stringify(r)}; stingray dashboard said:\n${out}`);
  assert.match(JSON.parse(r.body!).stingray_version, /^\d+\.\d+\.\d+/);
  assert.match(out, /Dashboard: http:\/\/127\.0\.0\.1:18265/);
  fwd.kill("SIGTERM");
  await new Promise<void>((res) => { if (fwd.exitCode !== null) res(); else fwd.once("exit", () => res()); });
});
