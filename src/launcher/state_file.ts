/**
 * @module launcher/state_file
 * A JSON state file guarded by a lock file, for providers whose "cloud" is a list of machines
 * (local, fake_multinode): Ray keeps the same in `/tmp/ray/cluster-<name>.state`. The launcher on
 * a laptop and the autoscaler on the head each hold their own; a read-modify-write happens under
 * the lock, and writes replace the file atomically, so readers never see half a file.
 */
import fs from "node:fs";
import path from "node:path";
import { ProviderError } from "../common/errors.ts";

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === "EPERM"; }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class StateFile<T> {
  readonly file: string;
  private readonly lock: string;
  private readonly empty: () => T;

  constructor(file: string, empty: () => T) {
    this.file = file;
    this.lock = `${file}.lock`;
    this.empty = empty;
    fs.mkdirSync(path.dirname(file), { recursive: true });
  }

  read(): T {
    try {
      return JSON.parse(fs.readFileSync(this.file, "utf8")) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return this.empty();
      throw new ProviderError(`state file ${this.file} is unreadable (${(e as Error).message}); remove it if no cluster uses it`);
    }
  }

  /** Run `fn` on the current state under the lock and store what it returns (or the mutated state). */
  async update<R>(fn: (state: T) => R | Promise<R>): Promise<R> {
    await this.acquire();
    try {
      const state = this.read();
      const r = await fn(state);
      const tmp = `${this.file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(state, null, 2));
      fs.renameSync(tmp, this.file);
      return r;
    } finally {
      try { fs.unlinkSync(this.lock); } catch { /* gone */ }
    }
  }

  private async acquire(): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        fs.writeFileSync(this.lock, String(process.pid), { flag: "wx" });
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      // A lock whose holder died (crash, SIGKILL) is stale: take it over.
      let holder = NaN;
      try { holder = Number(fs.readFileSync(this.lock, "utf8")); } catch { continue; }
      if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
        try { fs.unlinkSync(this.lock); } catch { /* someone else took it over */ }
        continue;
      }
      if (Date.now() > deadline) throw new ProviderError(`state file ${this.file} stayed locked by pid ${holder} for 30 s`);
      await sleep(20);
    }
  }
}
