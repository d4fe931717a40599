/**
 * @module raylet/worker_pool
 * The node's worker processes: one OS process per worker, so a crashing task cannot take others
 * down. Workers are started ahead of demand (prestarted, not yet bound to a job), bound to a job
 * and environment on their first lease and reused only for that job and environment, stopped
 * when their job ends or when they have idled past the limit. Process creation sits behind
 * `WorkerSpawner` so the pool's policy can be tested with a fake.
 */
import type { Connection } from "../protocol/connection.ts";
import type { Address } from "../protocol/messages.ts";
import { uniqueId } from "../common/ids.ts";
import { config } from "../common/config.ts";
import { WorkerCrashedError } from "../common/errors.ts";

export interface SpawnedProcess {
  pid: number;
  kill(signal: NodeJS.Signals): void;
  onExit(cb: (code: number | null, signal: NodeJS.Signals | null) => void): void;
}

export interface WorkerSpawner {
  spawn(workerId: string, envVars: Record<string, string> | undefined): SpawnedProcess;
}

export type WorkerState = "starting" | "idle" | "leased" | "dead";

export interface WorkerHandle {
  workerId: string;
  proc: SpawnedProcess;
  pid: number;
  state: WorkerState;
  jobId: string;  // "" while unbound
  envHash: string;
  conn?: Connection;
  address?: Address;
  idleSince: number;
  startTime: number;
  leaseId?: string;
  actorId?: string;
  /** Set when we asked it to stop, so its exit is not reported as a crash. */
  stopping?: string;
}

interface Waiter { jobId: string; envHash: string; envVars?: Record<string, string> | undefined;
  resolve(w: WorkerHandle): void; reject(e: Error): void }

export class WorkerPool {
  readonly workers = new Map<string, WorkerHandle>();
  private waiters: Waiter[] = [];
  private starting = 0;
  private spawner: WorkerSpawner;
  private prestart: number;
  private maxStarting: number;
  onWorkerExit: (w: WorkerHandle, reason: string) => void = () => {};

  constructor(spawner: WorkerSpawner, opts: { prestart: number; maxStarting: number }) {
    this.spawner = spawner;
    this.prestart = opts.prestart;
    this.maxStarting = opts.maxStarting;
  }

  prestartWorkers(): void {
    const unbound = [...this.workers.values()].filter((w) => w.jobId === "" && w.envHash === "" && w.state !== "dead").length;
    for (let i = unbound; i < this.prestart; i++) this.start("", "", undefined);
  }

  private start(jobId: string, envHash: string, envVars: Record<string, string> | undefined): WorkerHandle {
    const workerId = uniqueId();
    const proc = this.spawner.spawn(workerId, envVars);
    const w: WorkerHandle = { workerId, proc, pid: proc.pid, state: "starting", jobId, envHash, idleSince: Date.now(), startTime: Date.now() };
    this.workers.set(workerId, w);
    this.starting++;
    const timer = setTimeout(() => {
      if (w.state === "starting") {
        w.stopping = "it did not register in time";
        proc.kill("SIGKILL");
      }
    }, config("worker_register_timeout_ms"));
    timer.unref();
    proc.onExit((code, signal) => {
      clearTimeout(timer);
      if (w.state === "starting") this.starting--;
      const was = w.state;
      w.state = "dead";
      this.workers.delete(workerId);
      const reason = w.stopping ?? (signal ? `killed by ${signal}` : `exited with code ${code}`);
      if (was === "starting" && !w.stopping) {
        // A worker that cannot start would fail every lease: fail the oldest waiter instead of looping.
        const i = this.waiters.findIndex((x) => x.jobId === jobId || jobId === "");
        if (i >= 0) this.waiters.splice(i, 1)[0]!.reject(new WorkerCrashedError(`a worker process failed to start (${reason}); see the raylet and worker logs in the session's logs/ directory`));
      }
      this.onWorkerExit(w, reason);
      this.serveWaiters();
    });
    return w;
  }

  /** A worker process connected and told us its port. */
  registered(workerId: string, conn: Connection, address: Address): WorkerHandle | undefined {
    const w = this.workers.get(workerId);
    if (!w || w.state !== "starting") return undefined;
    this.starting--;
    w.conn = conn;
    w.address = address;
    w.state = "idle";
    w.idleSince = Date.now();
    this.serveWaiters();
    return w;
  }

  /** Get a worker for (job, env): an idle one, an unbound prestarted one, or a new one. */
  pop(jobId: string, envHash: string, envVars: Record<string, string> | undefined): Promise<WorkerHandle> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ jobId, envHash, envVars, resolve, reject });
      this.serveWaiters();
    });
  }

  private findIdle(jobId: string, envHash: string): WorkerHandle | undefined {
    let unbound: WorkerHandle | undefined;
    for (const w of this.workers.values()) {
      if (w.state !== "idle") continue;
      if (w.jobId === jobId && w.envHash === envHash) return w;
      if (!unbound && w.jobId === "" && w.envHash === envHash) unbound = w;
    }
    return unbound;
  }

  private serveWaiters(): void {
    const remaining: Waiter[] = [];
    let startingFor = [...this.workers.values()].filter((w) => w.state === "starting");
    for (const x of this.waiters) {
      const w = this.findIdle(x.jobId, x.envHash);
      if (w) {
        w.jobId = x.jobId;
        w.state = "leased";
        x.resolve(w);
        continue;
      }
      remaining.push(x);
      // Is a worker already starting that this waiter can take? Otherwise start one.
      const i = startingFor.findIndex((s) => (s.jobId === x.jobId || s.jobId === "") && s.envHash === x.envHash);
      if (i >= 0) {
        startingFor = startingFor.filter((_, k) => k !== i);
      } else if (this.starting < this.maxStarting) {
        this.start(x.jobId, x.envHash, x.envVars);
      }
    }
    this.waiters = remaining;
    if (remaining.length === 0) this.prestartWorkers();
  }

  /** Return a leased worker to the idle pool. */
  push(w: WorkerHandle): void {
    if (w.state === "dead") return;
    w.state = "idle";
    w.leaseId = undefined;
    w.actorId = undefined;
    w.idleSince = Date.now();
    this.serveWaiters();
  }

  kill(w: WorkerHandle, reason: string, force = true): void {
    if (w.state === "dead") return;
    w.stopping ??= reason;
    if (!force && w.conn) {
      w.conn.request("worker.Exit", { reason }).catch(() => {});
      const t = setTimeout(() => w.proc.kill("SIGKILL"), config("kill_grace_ms"));
      t.unref();
    } else {
      w.proc.kill("SIGKILL");
    }
  }

  /** Stop idle workers bound to finished jobs, and idle extras beyond the prestart count. */
  reap(jobAlive: (jobId: string) => boolean): void {
    const now = Date.now();
    let idleUnbound = 0;
    for (const w of this.workers.values()) {
      if (w.state !== "idle") continue;
      if (w.jobId !== "" && !jobAlive(w.jobId)) { this.kill(w, "its job finished", false); continue; }
      if (w.jobId === "") { idleUnbound++; if (idleUnbound <= this.prestart) continue; }
      if (now - w.idleSince > config("idle_worker_kill_ms")) this.kill(w, "idle too long", false);
    }
  }

  cancelWaiters(e: Error): void {
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.reject(e);
  }

  killAll(): void {
    for (const w of this.workers.values()) { w.stopping = "node shutting down"; w.proc.kill("SIGKILL"); }
  }
}
