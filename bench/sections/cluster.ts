/**
 * Benchmark section "cluster": Stingray started with its CLI, on hosts built like the multi-host
 * tests build them (test/helpers/hosts.ts: each host a network namespace with its own IP on a
 * private bridge and a private /tmp and /dev/shm; test/integration/multihost.test.ts).
 *
 * - `start_head_ready_ms`: `stingray start --head` from spawn until the CLI exits 0, timed on the
 *   host itself (drivers/time_command.ts), in a fresh host per run. The CLI returns only after the
 *   GCS listens, the head's raylet has registered with it and the client server listens
 *   (startHead in src/node/launcher.ts), so the head accepts work when it exits; each run checks
 *   that with `stingray status` (untimed), then `stingray stop`s the head and checks that no
 *   process and nothing in /dev/shm is left. Without root (no namespaces) a run uses its own
 *   --temp-dir and free ports on 127.0.0.1 instead, and is stopped by signalling its own
 *   processes: `stingray stop` would stop every Stingray process on the machine.
 * - `broadcast_1gb_3_hosts_s`: a head and two worker hosts (one CPU each). A driver on the head
 *   (drivers/broadcast.ts) puts a fresh 1 GB Uint8Array (50 MB with --quick), untimed, then times
 *   one task per node, each pinned to its node by hard node affinity, taking the object as its
 *   argument and returning its length: from submit to the last result. Each sample is its own
 *   driver process, so each moves a new object; the driver's exit frees its objects on every node
 *   (the worker nodes' stores keep the freed file for reuse, so samples after the first write
 *   into existing shared-memory pages, as a long-running cluster would).
 * Each measurement starts with one untimed warm-up run. Everything started runs inside test hosts
 * that are destroyed afterwards, also on an error, SIGINT or SIGTERM.
 *   node bench/sections/cluster.ts --out FILE [--quick] [--runs N]
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { repeat, sectionOptions, writeResults, type Measurement } from "../lib.ts";
import { TestHosts, type Host } from "../../test/helpers/hosts.ts";
import { waitFor } from "../../test/helpers/procs.ts";

const { runs, quick, out } = sectionOptions();
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const CLI = path.join(repo, "bin/stingray.js");
const TIME_COMMAND = path.join(here, "drivers/time_command.ts");
const BROADCAST = path.join(here, "drivers/broadcast.ts");
const node = process.execPath;
const execFileP = promisify(execFile);
/** The environment of every command run here, without the caller's Stingray settings. */
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("STINGRAY_")));
const noHosts = TestHosts.supported();
const results: Measurement[] = [];

// ---- cleanup: what is running now, undone on exit paths and on SIGINT / SIGTERM ----
const running = new Set<() => Promise<void>>();

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`cluster: ${signal}: stopping everything this section started\n`);
    void Promise.allSettled([...running].map((undo) => undo())).finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}

/** Run `fn` with `undo` registered for signals, and call `undo` when `fn` ends either way. */
async function guarded<T>(undo: () => Promise<void>, fn: () => Promise<T>): Promise<T> {
  running.add(undo);
  try {
    return await fn();
  } finally {
    await undo();
    running.delete(undo);
  }
}

async function withHosts<T>(n: number, fn: (hosts: TestHosts) => Promise<T>): Promise<T> {
  const hosts = await TestHosts.create(n);
  return guarded(() => hosts.destroy(), () => fn(hosts));
}

/** Run a command on a host and parse the JSON its last output line holds. */
async function execJson<T>(hosts: TestHosts, h: Host, argv: string[], timeoutMs: number): Promise<T> {
  const { stdout } = await hosts.exec(h, argv, { cwd: repo, env, timeoutMs });
  return JSON.parse(stdout.trim().split("\n").pop() ?? "") as T;
}

/** `stingray stop` on a host, then check that it left no process and no shared-memory file. */
async function stopHost(hosts: TestHosts, h: Host): Promise<void> {
  await hosts.exec(h, [node, CLI, "stop"], { env });
  await waitFor(() => hosts.pids(h).length === 0, 5000, `the processes on ${h.name} to exit after stingray stop`);
  const shm = (await hosts.exec(h, ["ls", "-A", "/dev/shm"])).stdout.trim();
  if (shm) throw new Error(`stingray stop left /dev/shm entries on ${h.name}: ${shm.split("\n").join(", ")}`);
}

// ---- start_head_ready_ms ----

async function headStartInHost(): Promise<number> {
  return withHosts(1, async (hosts) => {
    const h = hosts.hosts[0]!;
    const { ms } = await execJson<{ ms: number }>(hosts, h,
      [node, TIME_COMMAND, node, CLI, "start", "--head", "--port=6379", `--node-ip-address=${h.ip}`], 120_000);
    const status = (await hosts.exec(h, [node, CLI, "status"], { env })).stdout;
    if (!status.includes(`(${h.ip}, head)`)) throw new Error(`stingray status does not list the head:\n${status}`);
    await stopHost(hosts, h);
    return ms;
  });
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Pids of the processes of a head started with STINGRAY_TEMP_DIR=dir (daemons and workers inherit it). */
function processesOf(dir: string): number[] {
  const pids: number[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/environ`, "utf8").split("\0").includes(`STINGRAY_TEMP_DIR=${dir}`)) pids.push(Number(d));
    } catch { /* exited, or not ours */ }
  }
  return pids;
}

/** Object store directories (/dev/shm/stingray-<node>) whose raylet is one of `pids`. */
function storesOf(pids: number[]): string[] {
  let names: string[];
  try { names = fs.readdirSync("/dev/shm").filter((n) => n.startsWith("stingray-")); } catch { return []; }
  return names.map((n) => path.join("/dev/shm", n)).filter((dir) => {
    try { return pids.includes(Number(fs.readFileSync(path.join(dir, ".owner-pid"), "utf8"))); } catch { return false; }
  });
}

/** Stop the head whose temp dir is `dir` (SIGTERM, SIGKILL after 16 s, as `stingray stop`); throw if it left anything. */
async function stopLocalHead(dir: string): Promise<void> {
  const pids = processesOf(dir);
  const stores = storesOf(pids);
  const alive = (p: number): boolean => { try { process.kill(p, 0); return true; } catch { return false; } };
  for (const p of pids) { try { process.kill(p, "SIGTERM"); } catch { /* gone */ } }
  const end = Date.now() + 16_000;
  while (pids.some(alive) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  const killed = pids.filter(alive);
  for (const p of killed) { try { process.kill(p, "SIGKILL"); } catch { /* gone */ } }
  const leftStores = stores.filter((s) => fs.existsSync(s));
  for (const s of leftStores) fs.rmSync(s, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  if (killed.length || leftStores.length) {
    throw new Error(`the head in ${dir} left ${killed.length} process(es) running after SIGTERM and ${leftStores.length} object store dir(s)`);
  }
}

async function headStartLocal(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-bench-"));
  return guarded(() => stopLocalHead(dir), async () => {
    const [port, clientPort] = await freePorts(2);
    const local = { ...env, STINGRAY_TEMP_DIR: dir };
    const { stdout } = await execFileP(node, [TIME_COMMAND, node, CLI, "start", "--head", `--port=${port}`,
      `--client-server-port=${clientPort}`, `--temp-dir=${dir}`, "--node-ip-address=127.0.0.1"], { env: local, timeout: 120_000 });
    const { ms } = JSON.parse(stdout.trim().split("\n").pop() ?? "") as { ms: number };
    const status = (await execFileP(node, [CLI, "status", `--temp-dir=${dir}`], { env: local })).stdout;
    if (!status.includes("(127.0.0.1, head)")) throw new Error(`stingray status does not list the head:\n${status}`);
    return ms;
  });
}

// ---- broadcast_1gb_3_hosts_s ----

const bytes = quick ? 50e6 : 1e9;
const size = quick ? "50 MB" : "1 GB";
/** Per host: the object, a pooled file of the previous one and some room. */
const storeBytes = 2 * bytes + 512 * 2 ** 20;

async function broadcast(): Promise<number[]> {
  return withHosts(3, async (hosts) => {
    const [head, ...workers] = hosts.hosts as [Host, Host, Host];
    const flags = ["--num-cpus=1", `--object-store-memory=${storeBytes}`];
    await hosts.exec(head, [node, CLI, "start", "--head", "--port=6379", `--node-ip-address=${head.ip}`, ...flags], { env });
    const token = (await hosts.exec(head, [node, CLI, "get-auth-token"], { env })).stdout.trim();
    for (const w of workers) {
      await hosts.exec(w, [node, CLI, "start", `--address=${head.ip}:6379`, `--node-ip-address=${w.ip}`, ...flags],
        { env: { ...env, STINGRAY_AUTH_TOKEN: token } });
    }
    const ips = hosts.hosts.map((h) => h.ip).sort().join(", ");
    const samples = await repeat(runs, async () => {
      const r = await execJson<{ seconds: number; nodes: string[] }>(hosts, head, [node, BROADCAST, String(bytes)], 600_000);
      const ran = [...r.nodes].sort().join(", ");
      if (ran !== ips) throw new Error(`the tasks ran on ${ran}, not on every host (${ips})`);
      return r.seconds;
    });
    for (const h of [...workers, head]) await stopHost(hosts, h);
    return samples;
  });
}

// ---- run ----

async function measure(name: string, unit: string, description: string, skip: string | undefined,
  collect: () => Promise<number[]>): Promise<void> {
  const base = { group: "stingray", name, unit, better: "lower", description } as const;
  if (skip) {
    results.push({ ...base, samples: [], skipped: skip });
    return;
  }
  try {
    results.push({ ...base, samples: await collect() });
  } catch (e) {
    process.exitCode = 1;
    process.stderr.write(`cluster: ${name} failed: ${(e as Error).stack ?? String(e)}\n`);
    results.push({ ...base, samples: [], skipped: `failed: ${(e as Error).message.split("\n")[0]}` });
  }
}

await measure("start_head_ready_ms", "ms",
  noHosts
    ? "`stingray start --head` from spawn to exit 0 (GCS listening, head raylet registered), own temp dir and ports per run."
    : "`stingray start --head` from spawn to exit 0 (GCS listening, head raylet registered), in a fresh namespace host per run.",
  undefined, () => repeat(runs, noHosts ? headStartLocal : headStartInHost));
await measure("broadcast_1gb_3_hosts_s", "s",
  `A fresh ${size} put on the head, then one task pinned to each of 3 hosts takes it as argument: submit to the last result.`,
  noHosts && `cannot build 3 test hosts (${noHosts}): run as root on Linux with ip, nsenter, unshare and mount`,
  broadcast);
writeResults(out, results);
