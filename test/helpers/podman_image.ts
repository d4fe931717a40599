/**
 * Test helpers for running the cluster launcher's `docker:` section with podman on test hosts,
 * with no image registry: a base image assembled from this machine's own binaries (bash,
 * coreutils, rsync, an ssh client and the shared libraries they and the Node binary need, found
 * with ldd) and `podman import`ed into each host's own storage. Stingray and Node are not in the
 * image: the test bind-mounts the repository (which holds node_modules/node) with run_options.
 *
 * Each test host shares this machine's filesystem except /tmp, /root and /dev/shm, so a host's
 * podman keeps everything (storage, run root, tmpdir, its containers.conf) under its private
 * /tmp/containers, and runs without systemd (cgroupfs, file events log) and with runc.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { TestHosts, Host } from "./hosts.ts";

/** The image's name in each host's storage. */
export const BASE_IMAGE = "localhost/stingray-test-base:latest";
/** A file only the image has (not the hosts): proves a command ran in the container. */
export const IMAGE_MARKER = "/etc/stingray-test-image";
/** Where a host's podman keeps its state (inside the host's private /tmp). */
export const PODMAN_DIR = "/tmp/containers";

const tool = (t: string): boolean => { try { execFileSync("sh", ["-c", `command -v ${t}`], { stdio: "ignore" }); return true; } catch { return false; } };

/** Why podman tests cannot run here, or undefined. */
export function podmanUnsupported(): string | undefined {
  for (const t of ["podman", "runc", "conmon"]) {
    if (!tool(t)) return `needs ${t} (Debian packages podman and runc; installed by .ci/run)`;
  }
  for (const t of ["ldd", "tar"]) if (!tool(t)) return `needs ${t} to build the base image`;
  return undefined;
}

/**
 * The `docker.engine` of a cluster config that uses a host's own podman: the configuration file
 * comes from the environment (CONTAINERS_CONF), the storage locations from global flags.
 */
export function podmanEngine(dir = PODMAN_DIR): string {
  return `env CONTAINERS_CONF=${dir}/containers.conf podman --root ${dir}/storage --runroot ${dir}/run --tmpdir ${dir}/tmp`;
}

/**
 * containers.conf for the hosts: no default ulimits (the engine's defaults exceed this machine's
 * hard limits, so runc cannot set them), runc (Debian's default runtime crun is not installed),
 * and no systemd (cgroupfs; events to a file under the host's /tmp).
 */
export function containersConf(dir = PODMAN_DIR): string {
  return [
    "[containers]", "default_ulimits = []", "",
    "[engine]", 'runtime = "runc"', 'cgroup_manager = "cgroupfs"', 'events_logger = "file"',
    `events_logfile_path = "${dir}/events.log"`, "",
  ].join("\n");
}

/**
 * A shell snippet that mounts this machine's cgroup hierarchies again under /sys/fs/cgroup. A test
 * host's commands run under `ip netns exec`, which mounts a fresh sysfs on /sys, so /sys/fs/cgroup
 * is empty there and runc refuses to start containers ("no cgroup mount found in mountinfo"). The
 * hierarchies are those of PID 1, mounted with the same options (the same cgroups, not new ones).
 */
export function cgroupMountScript(): string {
  return [
    "if ! grep -q ' /sys/fs/cgroup' /proc/self/mountinfo; then",
    "  awk '{for(i=7;i<=NF;i++) if($i==\"-\"){print $5, $(i+1), $(i+3); break}}' /proc/1/mountinfo | {",
    "    first=1",
    "    while read -r mp fs opts; do",
    "      case \"$fs\" in cgroup|cgroup2) ;; *) continue;; esac",
    "      if [ \"$mp\" = /sys/fs/cgroup ]; then mount -t \"$fs\" -o \"$opts\" \"$fs\" /sys/fs/cgroup; continue; fi",
    "      case \"$mp\" in /sys/fs/cgroup/*) ;; *) continue;; esac",
    "      if [ $first = 1 ]; then mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup; first=0; fi",
    "      mkdir -p \"$mp\" && mount -t \"$fs\" -o \"$opts\" \"$fs\" \"$mp\"",
    "    done",
    "  }",
    "fi",
  ].join("\n");
}

/** What goes in the image: commands the launcher, Stingray and the test run in the container. */
const BINARIES = [
  "bash", "dash", "env", "cat", "ls", "mkdir", "ln", "rm", "cp", "mv", "chmod", "dirname", "basename", "printenv",
  "sleep", "tail", "head", "grep", "sed", "id", "uname", "hostname", "true", "false", "ps", "kill", "rsync", "ssh",
  "tar", "gzip", "mktemp", "touch", "wc", "sort", "tr", "cut", "readlink", "stat", "date", "nproc", "tee", "uniq",
  "xargs", "find",
];

const built = new Map<string, { tar: string; ms: number }>();

/**
 * Build the base image's root filesystem tar in `dir` (once per directory: a second call returns
 * the same file). `nodeBinary`'s libraries go in too, so the bind-mounted Node runs. Returns the
 * tar's path and how long building it took.
 */
export function buildBaseImage(dir: string, nodeBinary = process.execPath): { tar: string; ms: number } {
  const tar = path.join(dir, "stingray-test-base.tar");
  const done = built.get(tar);
  if (done && fs.existsSync(tar)) return done;
  const t0 = Date.now();
  const root = path.join(dir, "rootfs");
  fs.rmSync(root, { recursive: true, force: true });
  for (const d of ["usr/bin", "usr/lib/x86_64-linux-gnu", "usr/lib64", "etc", "root", "tmp", "var/tmp", "proc", "sys", "dev", "run", "home"]) {
    fs.mkdirSync(path.join(root, d), { recursive: true });
  }
  // Merged /usr, as Debian's: /bin/bash, /lib64/ld-linux-x86-64.so.2 and /usr/bin/env all resolve.
  for (const [link, to] of [["bin", "usr/bin"], ["sbin", "usr/bin"], ["lib", "usr/lib"], ["lib64", "usr/lib64"], ["usr/sbin", "bin"]] as const) {
    fs.symlinkSync(to, path.join(root, link));
  }
  fs.chmodSync(path.join(root, "tmp"), 0o1777);
  fs.chmodSync(path.join(root, "var/tmp"), 0o1777);
  fs.chmodSync(path.join(root, "root"), 0o700);
  const libs = new Set<string>();
  const addLibs = (bin: string): void => {
    const out = execFileSync("ldd", [bin], { encoding: "utf8" });
    for (const m of out.matchAll(/(\/\S+\.so\S*)/g)) libs.add(m[1]!);
  };
  for (const b of BINARIES) {
    const src = fs.realpathSync(fs.existsSync(`/usr/bin/${b}`) ? `/usr/bin/${b}` : `/bin/${b}`);
    fs.copyFileSync(src, path.join(root, "usr/bin", b));
    fs.chmodSync(path.join(root, "usr/bin", b), 0o755);
    addLibs(src);
  }
  fs.symlinkSync("dash", path.join(root, "usr/bin/sh"));
  addLibs(fs.realpathSync(nodeBinary));
  for (const l of libs) {
    // The loader keeps its /lib64 path; every other library goes where ld.so looks on Debian.
    const dst = l.startsWith("/lib64/") ? path.join(root, "usr/lib64", path.basename(l)) : path.join(root, "usr/lib/x86_64-linux-gnu", path.basename(l));
    fs.copyFileSync(fs.realpathSync(l), dst);
  }
  // The C.UTF-8 locale the engine's run command sets (LC_ALL), so bash does not warn about it.
  if (fs.existsSync("/usr/lib/locale/C.utf8")) fs.cpSync("/usr/lib/locale/C.utf8", path.join(root, "usr/lib/locale/C.utf8"), { recursive: true });
  fs.writeFileSync(path.join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
  fs.writeFileSync(path.join(root, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  fs.writeFileSync(path.join(root, "etc/nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n");
  fs.writeFileSync(path.join(root, IMAGE_MARKER.slice(1)), "stingray-test-base\n");
  execFileSync("tar", ["-C", root, "--numeric-owner", "--owner=0", "--group=0", "-cf", tar, "."]);
  fs.rmSync(root, { recursive: true, force: true });
  const result = { tar, ms: Date.now() - t0 };
  built.set(tar, result);
  return result;
}

/**
 * Give `host` its own podman: containers.conf under its /tmp, and the base image (from `tar`,
 * which must lie outside the hosts' private directories) imported into its storage.
 */
export async function loadImage(hosts: TestHosts, host: Host, tar: string, dir = PODMAN_DIR): Promise<void> {
  const conf = containersConf(dir).replace(/'/g, "'\\''");
  await hosts.exec(host, ["sh", "-c", `mkdir -p ${dir}/tmp && printf '%s' '${conf}' > ${dir}/containers.conf && ` +
    `${podmanEngine(dir)} import -q ${tar} ${BASE_IMAGE} >/dev/null`], { timeoutMs: 120_000 });
}

/** Run a podman command on `host` (with its cgroups mounted); resolves with stdout. */
export async function podman(hosts: TestHosts, host: Host, args: string, dir = PODMAN_DIR): Promise<string> {
  return (await hosts.exec(host, ["sh", "-c", `${cgroupMountScript()}\n${podmanEngine(dir)} ${args}`], { timeoutMs: 120_000 })).stdout;
}

/**
 * Remove a cgroup parent (`--cgroup-parent=/NAME` in run_options: the hosts' containers and their
 * conmon processes go under it, in this machine's cgroup hierarchies) once it is empty.
 */
export function removeCgroupParent(name: string): void {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`not a cgroup name: ${name}`);
  const rm = (dir: string): void => {
    let entries: fs.Dirent[];
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) if (e.isDirectory()) rm(path.join(dir, e.name));
    try { fs.rmdirSync(dir); } catch { /* still in use, or gone */ }
  };
  let hierarchies: string[] = [];
  try { hierarchies = fs.readdirSync("/sys/fs/cgroup").map((h) => path.join("/sys/fs/cgroup", h)); } catch { /* no cgroups */ }
  for (const h of ["/sys/fs/cgroup", ...hierarchies]) rm(path.join(h, name));
}

/**
 * Remove every container on `host` (best effort, for cleanup after a failed test too): podman
 * removes their cgroups, which are the machine's, not the host's. Processes, mounts and storage
 * go with the host (TestHosts.destroy()).
 */
export async function removeAllContainers(hosts: TestHosts, host: Host, dir = PODMAN_DIR): Promise<void> {
  await podman(hosts, host, "rm -a -f -t 0 >/dev/null 2>&1 || true", dir).catch(() => undefined);
}
