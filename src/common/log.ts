/**
 * @module common/log
 * Minimal leveled logging for daemons: one line per event, ISO time, component and level, to
 * stderr (which the launcher points at the component's file in `<session>/logs/`).
 */
export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const threshold = ORDER[(process.env.STINGRAY_LOG_LEVEL as Level | undefined) ?? "info"] ?? 1;

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function logger(component: string): Logger {
  const emit = (level: Level, msg: string): void => {
    if (ORDER[level] < threshold) return;
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} [${component}] ${msg}\n`);
  };
  return {
    debug: (m) => emit("debug", m),
    info: (m) => emit("info", m),
    warn: (m) => emit("warn", m),
    error: (m) => emit("error", m),
  };
}
