import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { TestHosts, type Host } from "../helpers/hosts.ts";

// Seed 000's "many hosts" flow: start the workers in parallel over SSH with pssh, using the
// scripts documented in docs/deploy.md, against real sshd servers on the test hosts.
const ROOT = path.resolve(import.meta.dirname, "../..");
const node = process.execPath;
const CLI = path.join(ROOT, "bin/stingray.js");
const tool = (t: string): boolean => { try { execFileSync("sh", ["-c", `command -v ${t}`], { stdio: "ignore" }); return true; } catch { return false; } };
const skip = TestHosts.supported() ?? (!tool("/usr/sbin/sshd") || !tool("parallel-ssh") || !tool("ssh-keygen")
  ? "needs openssh-server, openssh-client and pssh (installed by .ci/run)" : undefined);
let hosts: TestHosts | undefined;
const SSH_OPTS = "-i /tmp/ssh/id -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -l root";

function isStingray(pid: number): boolean {
  try { return /src\/(gcs|raylet|worker)\/main\.ts/.test(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")); } catch { return false; }
}

before(async () => {
  if (skip) return;
  hosts = await TestHosts.create(3);
  const [h0, ...workers] = hosts.hosts as [Host, Host, Host];
  await hosts.exec(h0, ["sh", "-c", "mkdir -p /tmp/ssh && ssh-keygen -q -t ed25519 -N '' -f /tmp/ssh/id"]);
  const pub = (await hosts.exec(h0, ["cat", "/tmp/ssh/id.pub"])).stdout.trim();
  fs.mkdirSync("/run/sshd", { recursive: true });
  for (const w of workers) {
    await hosts.exec(w, ["sh", "-c", [
      "mkdir -p /tmp/ssh", "ssh-keygen -q -t ed25519 -N '' -f /tmp/ssh/host",
      `echo '${pub}' > /tmp/ssh/authorized_keys`,
      "printf 'Port 22\\nHostKey /tmp/ssh/host\\nAuthorizedKeysFile /tmp/ssh/authorized_keys\\nPermitRootLogin prohibit-password\\n" +
        "PasswordAuthentication no\\nStrictModes no\\nUsePAM no\\nPidFile /tmp/ssh/sshd.pid\\n' > /tmp/ssh/sshd_config",
    ].join(" && ")]);
    hosts.spawn(w, ["/usr/sbin/sshd", "-D", "-e", "-f", "/tmp/ssh/sshd_config"]);
  }
  // Wait until every sshd answers.
  for (const w of workers) {
    for (let i = 0; ; i++) {
      try { await hosts.exec(h0, ["sh", "-c", `ssh ${SSH_OPTS} ${w.ip} true`]); break; } catch (e) { if (i > 50) throw e; }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});
after(async () => { await hosts?.destroy(); });

test("pssh starts and stops the worker nodes over SSH, as in seed 000", { skip }, async () => {
  const [h0, h1, h2] = hosts!.hosts as [Host, Host, Host];
  await hosts!.exec(h0, [node, CLI, "start", "--head", "--port=6379", `--node-ip-address=${h0.ip}`, "--num-cpus=2"]);
  const startScript = [
    `export PATH=${path.dirname(node)}:$PATH`,
    "export STINGRAY_AUTH_TOKEN=__TOKEN__",
    `node ${CLI} start --address=${h0.ip}:6379 --num-cpus=2`,
  ].join("\n");
  await hosts!.exec(h0, ["sh", "-c", `printf '%s\\n' '${h1.ip}' '${h2.ip}' > /tmp/workers.txt && cat > /tmp/start_worker.sh <<'EOS'\n${startScript}\nEOS\n` +
    `printf 'export PATH=${path.dirname(node)}:$PATH\\nnode ${CLI} stop\\n' > /tmp/stop_worker.sh`]);
  const started = await hosts!.exec(h0, ["sh", "-c",
    `TOKEN=$(node ${CLI} get-auth-token) && sed "s/__TOKEN__/$TOKEN/" /tmp/start_worker.sh | ` +
    `parallel-ssh -h /tmp/workers.txt -P -I -t 120 -x "${SSH_OPTS}"`], { env: { ...process.env, PATH: `${path.dirname(node)}:${process.env.PATH}` } });
  assert.match(started.stdout, /\[1\] .* \[SUCCESS\]/);
  assert.match(started.stdout, /\[2\] .* \[SUCCESS\]/);
  const { stdout } = await hosts!.exec(h0, [node, path.join(ROOT, "test/fixtures/drivers/node_ips.ts")], { cwd: ROOT });
  assert.deepEqual(JSON.parse(stdout.trim().split("\n").pop()!).ips, [h0.ip, h1.ip, h2.ip].sort());
  const stopped = await hosts!.exec(h0, ["sh", "-c", `parallel-ssh -h /tmp/workers.txt -P -I -x "${SSH_OPTS}" < /tmp/stop_worker.sh`]);
  assert.match(stopped.stdout, /Stopped all \d+ Stingray processes/);
  await hosts!.exec(h0, [node, CLI, "stop"]);
  for (const h of hosts!.hosts) assert.deepEqual(hosts!.pids(h).filter(isStingray), [], `no Stingray process left on ${h.name}`);
});
