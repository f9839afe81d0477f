import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, openStore, systemClock } from "@keyport/server";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, spawnCli, waitForOk } from "./support/run-cli.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "keyport-crash-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A code for an account with a credit limit, stored as the consent page would store it. */
async function prepareCode(database: string) {
  const store = await openStore(database);
  const user = await createAccount(
    { store, clock: systemClock },
    "crash@example.com",
    "a password",
  );
  const code = randomBytes(32).toString("base64url");
  const verifier = randomBytes(32).toString("base64url");
  const now = systemClock();
  await store.createCode({
    codeHash: createHash("sha256").update(code).digest("hex"),
    userId: user?.id ?? "",
    codeChallenge: createHash("sha256").update(verifier).digest("base64url"),
    codeChallengeMethod: "S256",
    callbackUrl: "http://localhost:3000/cb",
    keyLabel: "crash test",
    limitMicros: 1_000_000,
    limitReset: null,
    keyExpiresAt: null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 600_000),
  });
  await store.close();
  return { code, verifier };
}

function reservedMicros(database: string): number {
  const db = new Database(database, { readonly: true });
  try {
    const row = db.prepare("SELECT sum(reserved_micros) AS n FROM keys").get() as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

describe("nothing lost on crash: a killed server's reservations are released at the next start", () => {
  it("SIGKILL mid-stream, restart on the same SQLite file: the budget is whole again", async () => {
    const database = join(dir, "keyport.sqlite");
    const { code, verifier } = await prepareCode(database);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = { KEYPORT_ECHO_DELAY_MS: "500" };
    const first = spawnCli(["serve", "--port", String(port), "--database", database], { env });
    let key: string;
    try {
      await waitForOk(`${base}/healthz`, first);
      const exchanged = await fetch(`${base}/api/v1/auth/keys`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ code, code_verifier: verifier, code_challenge_method: "S256" }),
      });
      key = ((await exchanged.json()) as { key: string }).key;
      const stream = await fetch(`${base}/api/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({
          model: "keyport/echo",
          stream: true,
          max_tokens: 50,
          messages: [{ role: "user", content: "one two three four five six" }],
        }),
      });
      await (stream.body as ReadableStream<Uint8Array>).getReader().read();
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
  });
});
