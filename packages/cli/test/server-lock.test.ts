import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Child, freePort, spawnCli, waitForOk } from "./support/run-cli.js";
import { exchangeCode, openStream, prepareCode, reservedMicros } from "./support/seed.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "keyport-lock-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function serve(database: string, env: Record<string, string> = {}) {
  const port = await freePort();
  const child = spawnCli(["serve", "--port", String(port), "--database", database], { env });
  return { child, base: `http://127.0.0.1:${port}` };
}

describe("DESIGN invariant 9: one `keyport serve` per SQLite file, through an OS lock", () => {
  it("a second serve exits non-zero with a clear message and frees nothing; the lock dies with a SIGKILLed server", async () => {
    const database = join(dir, "keyport.sqlite");
    const prepared = await prepareCode(database);
    // Two seconds a word: the stream outlives every step below, however slow the machine.
    const first = await serve(database, { KEYPORT_ECHO_DELAY_MS: "2000" });
    const children: Child[] = [first.child];
    try {
      await waitForOk(`${first.base}/healthz`, first.child);
      const key = await exchangeCode(first.base, prepared);
      // Held to the end: a response body dropped unread may be cancelled, which ends the stream.
      const stream = await openStream(first.base, key);
      const reserved = reservedMicros(database);
      expect(reserved).toBeGreaterThan(0);

      const second = await serve(database);
      children.push(second.child);
      // Whichever comes first; without the lock the second server would start listening.
      const listening = waitForOk(`${second.base}/healthz`, second.child).then(
        () => "listening" as const,
        () => "exited" as const,
      );
      expect(await Promise.race([listening, second.child.exited.then(() => "exited")])).toBe(
        "exited",
      );
      const refused = await second.child.exited;
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(`Another Keyport server is already using ${database}`);
      expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace
      // Its start-up release never ran: the first server's live stream still holds its budget.
      expect(reservedMicros(database)).toBe(reserved);
      expect((await fetch(`${first.base}/healthz`)).status).toBe(200);

      // Admin commands open the database beside the running server.
      const created = await spawnCli(
        ["users", "create", "--email", "admin@example.com", "--password-stdin"],
        { env: { KEYPORT_DATABASE: database }, stdin: "a long enough password\n" },
      ).exited;
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      expect(reservedMicros(database)).toBe(reserved);
      await stream.cancel();
    } finally {
      for (const child of children) child.process.kill("SIGKILL");
      await Promise.all(children.map((child) => child.exited));
    }

    const third = await serve(database);
    try {
      await waitForOk(`${third.base}/healthz`, third.child);
    } finally {
      third.child.process.kill("SIGTERM");
    }
    expect((await third.child.exited).code).toBe(0);
  }, 120_000); // four start-ups of the real executable: slow on a loaded machine
});
