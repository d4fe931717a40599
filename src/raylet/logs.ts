/**
 * @module raylet/logs
 * Reading the node's log files for the dashboard (`raylet.ReadLog`): a byte range, or the last N
 * lines. Only plain file names inside the logs directory are served; a name with a path
 * separator, a leading dot or `..` is refused, so a caller holding the token still cannot read
 * other files on the host.
 */
import fs from "node:fs";
import path from "node:path";
import { ProtocolError, ValueError } from "../common/errors.ts";

/** Most bytes returned by one read. */
export const MAX_LOG_READ = 4 << 20;

export function checkLogName(name: string): void {
  if (!name || name.length > 255 || name.startsWith(".") || /[/\\\0]/.test(name)) {
    throw new ProtocolError(`invalid log file name ${JSON.stringify(name.slice(0, 80))}: give a file name from the node's log listing`);
  }
}

/**
 * `offset` ≥ 0 reads from there; negative reads the last |offset| bytes. With `tailLines`, the
 * slice starts after the newline that precedes the last `tailLines` lines (within MAX_LOG_READ).
 */
export function readLogSlice(dir: string, name: string, offset: number, length: number, tailLines?: number):
  { data: Uint8Array; offset: number; size: number } {
  checkLogName(name);
  const file = path.join(dir, name);
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new ValueError(`no log file ${name} on this node`);
    throw e;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const want = Math.min(Math.max(0, length), MAX_LOG_READ);
    if (tailLines !== undefined) {
      const start = Math.max(0, size - MAX_LOG_READ);
      const buf = Buffer.alloc(size - start);
      const n = fs.readSync(fd, buf, 0, buf.length, start);
      let end = n;
      if (end > 0 && buf[end - 1] === 0x0a) end--; // a final newline ends the last line, it does not start one
      let from = end, lines = 0;
      while (from > 0 && lines < tailLines) {
        from--;
        if (buf[from] === 0x0a) { lines++; if (lines === tailLines) { from++; break; } }
      }
      if (tailLines <= 0) from = n;
      return { data: buf.subarray(from, n), offset: start + from, size };
    }
    const from = offset < 0 ? Math.max(0, size + offset) : Math.min(offset, size);
    const buf = Buffer.alloc(Math.min(want, size - from));
    const n = buf.length ? fs.readSync(fd, buf, 0, buf.length, from) : 0;
    return { data: buf.subarray(0, n), offset: from, size };
  } finally {
    fs.closeSync(fd);
  }
}
