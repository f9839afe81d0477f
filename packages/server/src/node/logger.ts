import { type Logger, pino } from "pino";
import type { LogLevel } from "../config/config.js";

/** Where the request log goes and how much it may hold back. */
export interface LogDestination {
  /** The file descriptor written to (default: 1, stdout). */
  readonly fd?: number;
  /** What may wait for a reader that stopped reading before lines are dropped (default 16 MiB). */
  readonly maxPendingBytes?: number;
  /** How often, at most, dropped lines are reported (default every 10 s). */
  readonly dropReportMs?: number;
  /** Where dropped lines are reported (default: stderr). */
  readonly reportDrops?: (count: number) => void;
}

/** Lines wait for this many bytes to go out in one write… */
const BATCH_BYTES = 4096;
/** …or for this long at most. */
const BATCH_MS = 250;

/**
 * The request log `keyport serve` writes: JSON lines on stdout (pino), one per request, for a
 * log shipper or `journalctl -o cat` to read. Lines below `level` are dropped.
 *
 * Written asynchronously and in batches: lines go out once 4 KiB are pending or within 250 ms,
 * whichever comes first. Under load that is one `write` (a round trip through libuv's thread
 * pool) for about twenty requests instead of one each; when idle, a line waits a quarter of a
 * second at most. pino writes what is pending when the process exits (a SIGKILL loses it). A
 * reader that stops reading does not stop the server: past `maxPendingBytes` pending, lines are
 * dropped and counted on stderr.
 * @example
 * const server = await startServer(config, systemClock, { logger: stdoutLogger(config.logLevel) });
 */
export function stdoutLogger(level: LogLevel, to: LogDestination = {}): Logger {
  const destination = pino.destination({
    dest: to.fd ?? 1,
    sync: false,
    minLength: BATCH_BYTES,
    periodicFlush: BATCH_MS,
    maxLength: to.maxPendingBytes ?? 16 * 1024 * 1024,
  });
  const report =
    to.reportDrops ??
    ((count: number) =>
      process.stderr.write(`keyport: ${count} request log line(s) dropped: stdout is not read\n`));
  let dropped = 0;
  destination.on("drop", () => {
    dropped += 1;
    if (dropped > 1) return;
    setTimeout(() => {
      report(dropped);
      dropped = 0;
    }, to.dropReportMs ?? 10_000).unref();
  });
  return pino({ level, base: { service: "keyport" } }, destination);
}
