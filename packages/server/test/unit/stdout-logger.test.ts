import { execFileSync } from "node:child_process";
import { constants, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, symbols } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stdoutLogger } from "../../src/node/logger.js";
import { eventually } from "../gateway/support.js";

/**
 * The request log's destination: batched, never holding a line back for long, and bounded when
 * its reader stops reading (`keyport serve`'s own stdout is covered by the CLI's request-log test).
 */
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "keyport-logger-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Stops the logger's destination, its retries included; it closes the descriptor. */
const stop = (logger: Logger) =>
  (logger as unknown as Record<symbol, { destroy(): void }>)[symbols.streamSym]?.destroy();

describe("stdoutLogger", () => {
  it("a lone line goes out within its batch window, without waiting for 4 KiB more", async () => {
    const file = join(dir, "log");
    const logger = stdoutLogger("info", { fd: openSync(file, "w") });
    try {
      logger.info({ request_id: "lone" }, "request");
      await eventually(() => readFileSync(file, "utf8").includes('"lone"') || undefined, 5_000);
    } finally {
      stop(logger);
    }
  });

  it("a reader that stops reading: the pending lines are bounded, the rest dropped and counted", async () => {
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    // Opened for reading too, so no reader is needed to open it: nothing ever reads.
    const reports: number[] = [];
    const logger = stdoutLogger("info", {
      fd: openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK),
      maxPendingBytes: 256 * 1024,
      dropReportMs: 50,
      reportDrops: (count) => reports.push(count),
    });
    try {
      const padding = "x".repeat(1000);
      // 2 MB of lines: the pipe holds 64 KiB, the logger 256 KiB; the rest cannot be kept.
      for (let i = 0; i < 2000; i++) logger.info({ i, padding }, "request");
      await eventually(() => reports[0], 5_000);
      const dropped = reports.reduce((sum, count) => sum + count, 0);
      expect(dropped).toBeGreaterThan(1500);
      expect(dropped).toBeLessThan(2000);
    } finally {
      stop(logger);
    }
  });
});
