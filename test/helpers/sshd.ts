/**
 * Test helpers: a real OpenSSH server on a test host, and a key pair on another host that it
 * accepts. Keys and sshd's files live in the hosts' private /tmp; sshd is a child of the test
 * (killed by TestHosts.destroy()).
 */
import fs from "node:fs";
import { execFileSync } from "node:child_process";
import type { TestHosts, Host } from "./hosts.ts";

const tool = (t: string): boolean => { try { execFileSync("sh", ["-c", `command -v ${t}`], { stdio: "ignore" }); return true; } catch { return false; } };

/** Why SSH tests cannot run here, or undefined. */
export function sshUnsupported(extra: string[] = []): string | undefined {
  for (const t of ["/usr/sbin/sshd", "ssh", "ssh-keygen", ...extra]) {
    if (!tool(t)) return `needs ${t} (openssh-server, openssh-client${extra.length ? `, ${extra.join(", ")}` : ""}; installed by .ci/run)`;
  }
  return undefined;
}

/** Make an ed25519 key pair at `file` on `host`; returns the public key. */
export async function makeKey(hosts: TestHosts, host: Host, file: string): Promise<string> {
  await hosts.exec(host, ["sh", "-c", `mkdir -p "$(dirname ${file})" && chmod 700 "$(dirname ${file})" && rm -f ${file} ${file}.pub && ssh-keygen -q -t ed25519 -N '' -f ${file}`]);
  return (await hosts.exec(host, ["cat", `${file}.pub`])).stdout.trim();
}

/**
 * Start sshd on `host` accepting `authorizedKeys` for root. `prelude`: shell commands run first in
 * sshd's mount namespace, which every login shares (e.g. mounting cgroups for podman).
 */
export async function startSshd(hosts: TestHosts, host: Host, authorizedKeys: string[], o: { prelude?: string } = {}): Promise<void> {
  fs.mkdirSync("/run/sshd", { recursive: true });
  await hosts.exec(host, ["sh", "-c", [
    "mkdir -p /tmp/ssh", "rm -f /tmp/ssh/host /tmp/ssh/host.pub", "ssh-keygen -q -t ed25519 -N '' -f /tmp/ssh/host",
    `printf '%s\\n' ${authorizedKeys.map((k) => `'${k}'`).join(" ")} > /tmp/ssh/authorized_keys`,
    "printf 'Port 22\\nListenAddress " + host.ip + "\\nHostKey /tmp/ssh/host\\nAuthorizedKeysFile /tmp/ssh/authorized_keys\\n" +
      "PermitRootLogin prohibit-password\\nPasswordAuthentication no\\nStrictModes no\\nUsePAM no\\nAllowTcpForwarding yes\\n" +
      "MaxSessions 50\\nMaxStartups 50\\nPidFile /tmp/ssh/sshd.pid\\n' > /tmp/ssh/sshd_config",
  ].join(" && ")]);
  const sshd = ["/usr/sbin/sshd", "-D", "-e", "-f", "/tmp/ssh/sshd_config"];
  hosts.spawn(host, o.prelude ? ["sh", "-c", `${o.prelude}\nexec ${sshd.join(" ")}`] : sshd);
}

/** Wait until `from` can log in to every `to` with `key`. */
export async function waitForSsh(hosts: TestHosts, from: Host, to: Host[], key: string): Promise<void> {
  for (const h of to) {
    for (let i = 0; ; i++) {
      try {
        await hosts.exec(from, ["ssh", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
          "-o", "LogLevel=ERROR", `root@${h.ip}`, "true"], { timeoutMs: 10_000 });
        break;
      } catch (e) { if (i > 100) throw e; }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
