/**
 * Test helpers: find Stingray daemon and worker processes (to assert none is left behind) and
 * capture what the driver prints.
 */
import fs from "node:fs";

function netns(pid: string): string | undefined {
  try { return fs.readlinkSync(`/proc/${pid}/ns/net`); } catch { return undefined; }
}

/** Stingray processes on this host (this network namespace: test hosts in other namespaces are other machines). */
export function stingrayPids(): number[] {
  const out: number[] = [];
  const mine = netns("self");
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    if (mine && netns(d) !== mine) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, "utf8");
      if (/src\/(gcs|raylet|worker|dashboard)\/main\.ts|src\/client\/(server|proxy)_main\.ts/.test(cmd)) out.push(Number(d));
    } catch { /* exited */ }
  }
  return out;
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Collect what is written to stderr while `f` runs. */
export async function captureStderr<T>(f: () => Promise<T>): Promise<{ value: T; text: string }> {
  const orig = process.stderr.write.bind(process.stderr);
  let text = "";
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return (orig as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    return { value: await f(), text };
  } finally {
    process.stderr.write = orig;
  }
}

/**
 * The processes of a cluster started with `--temp-dir=tempDir`: its daemons and workers and the
 * jobs' entrypoints, found by their command line, environment or working directory naming it
 * (`stingray stop` would also stop other clusters on the host).
 */
export function clusterPids(tempDir: string): number[] {
  const candidates = new Set([...stingrayPids(), ...fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number)]);
  candidates.delete(process.pid);
  return [...candidates].filter((pid) => {
    try { if (fs.readlinkSync(`/proc/${pid}/cwd`).startsWith(tempDir)) return true; } catch { /* exited or not ours */ }
    for (const f of ["cmdline", "environ"]) {
      try { if (fs.readFileSync(`/proc/${pid}/${f}`, "utf8").includes(tempDir)) return true; } catch { /* exited or not ours */ }
    }
    return false;
  });
}
