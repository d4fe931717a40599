/**
 * @module raylet/node_stats
 * The host's live figures for the dashboard: CPU utilisation (from /proc/stat deltas between
 * samples), load average, memory in use (total − MemAvailable, as `free` counts it) and the disk
 * holding the session directory. Falls back to `os` figures where /proc is missing.
 */
import fs from "node:fs";
import os from "node:os";

export interface SysStats {
  cpuCount: number;
  cpuUtilization: number;
  loadAvg: number[];
  memTotal: number;
  memUsed: number;
  diskTotal: number;
  diskUsed: number;
  /** Bytes through the host's network interfaces since boot (loopback excluded). */
  netSent: number;
  netReceived: number;
}

function netBytes(): { sent: number; received: number } {
  let sent = 0, received = 0;
  try {
    for (const line of fs.readFileSync("/proc/net/dev", "utf8").split("\n").slice(2)) {
      const [name, rest] = line.split(":");
      if (!rest || name!.trim() === "lo") continue;
      const f = rest.trim().split(/\s+/).map(Number);
      received += f[0] ?? 0;
      sent += f[8] ?? 0;
    }
  } catch { /* not Linux */ }
  return { sent, received };
}

interface CpuSample { busy: number; total: number }

function readCpu(): CpuSample | undefined {
  try {
    const line = fs.readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

function memAvailable(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync("/proc/meminfo", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch { /* not Linux */ }
  return os.freemem();
}

export class NodeStatsSampler {
  private last: CpuSample | undefined = readCpu();
  private lastUtil = 0;
  private dir: string;

  constructor(dir: string) { this.dir = dir; }

  /** Figures now; CPU utilisation is over the time since the previous call (if any time passed). */
  sample(): SysStats {
    const cur = readCpu();
    if (cur && this.last && cur.total > this.last.total) {
      this.lastUtil = Math.min(1, Math.max(0, (cur.busy - this.last.busy) / (cur.total - this.last.total)));
      this.last = cur;
    } else if (cur && !this.last) {
      this.last = cur;
    }
    let diskTotal = 0, diskUsed = 0;
    try {
      const s = fs.statfsSync(this.dir);
      diskTotal = s.blocks * s.bsize;
      diskUsed = (s.blocks - s.bfree) * s.bsize;
    } catch { /* directory gone */ }
    const memTotal = os.totalmem();
    const net = netBytes();
    return {
      cpuCount: os.availableParallelism(), cpuUtilization: this.lastUtil, loadAvg: os.loadavg(),
      memTotal, memUsed: memTotal - memAvailable(), diskTotal, diskUsed, netSent: net.sent, netReceived: net.received,
    };
  }
}
