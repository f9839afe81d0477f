import { type Logger, pino } from "pino";
import type { LogLevel } from "../config/config.js";

/**
 * The request log `keyport serve` writes: JSON lines on stdout (pino), one per request, for a
 * log shipper or `journalctl -o cat` to read. Lines below `level` are dropped.
 * @example
 * const server = await startServer(config, systemClock, { logger: stdoutLogger(config.logLevel) });
 */
export function stdoutLogger(level: LogLevel): Logger {
  return pino({ level, base: { service: "keyport" } });
}
