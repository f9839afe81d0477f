import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, spawnCli, waitForOk } from "./support/run-cli.js";
import { exchangeCode, openStream, prepareCode, reservedMicros } from "./support/seed.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "keyport-crash-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("nothing lost on crash: a killed server's reservations are released at the next start", () => {
  it("SIGKILL mid-stream, restart on the same SQLite file: the budget is whole again", async () => {
    const database = join(dir, "keyport.sqlite");
    const prepared = await prepareCode(database);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = { KEYPORT_ECHO_DELAY_MS: "500" };
    const first = spawnCli(["serve", "--port", String(port), "--database", database], { env });
    let key: string;
    try {
      await waitForOk(`${base}/healthz`, first);
      key = await exchangeCode(base, prepared);
      await openStream(base, key);
      expect(reservedMicros(database)).toBeGreaterThan(0);
    } finally {
      first.process.kill("SIGKILL");
    }
    await first.exited;
    expect(reservedMicros(database)).toBeGreaterThan(0);

    const second = spawnCli(["serve", "--port", String(port), "--database", database], { env });
    try {
      await waitForOk(`${base}/healthz`, second);
      expect(reservedMicros(database)).toBe(0);
      expect(second.stderr()).toContain("Released the reservations of 1 key(s)");
      const info = await fetch(`${base}/api/v1/key`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(info.status).toBe(200);
    } finally {
      second.process.kill("SIGTERM");
    }
    expect((await second.exited).code).toBe(0);
  }, 60_000); // two server start-ups of the real executable: slow on a loaded machine
});
