/**
 * @module web_ui/lib/log_buffer
 * The lines of a growing log, capped (pure; unit-tested in test/unit/web_ui_logic.test.ts).
 */

export const MAX_LOG_LINES = 50_000;

/** Lines of a growing log; the oldest are dropped past `max`. */
export class LogBuffer {
  lines: string[] = [];
  /** The last line while it has no newline yet. */
  partial = "";
  dropped = 0;
  private readonly max: number;
  constructor(max = MAX_LOG_LINES) { this.max = max; }

  append(text: string): void {
    if (!text) return;
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop()!;
    for (const l of parts) this.lines.push(l.endsWith("\r") ? l.slice(0, -1) : l);
    const over = this.lines.length - this.max;
    if (over > 0) { this.lines.splice(0, over); this.dropped += over; }
  }

  reset(): void { this.lines = []; this.partial = ""; this.dropped = 0; }

  get length(): number { return this.lines.length + (this.partial ? 1 : 0); }
  line(i: number): string { return i < this.lines.length ? this.lines[i]! : this.partial; }
}
