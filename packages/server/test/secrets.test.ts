import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/index.js";
import { approve, Browser } from "./support/browser.js";
import { dialects, type TestDatabase } from "./support/databases.js";
import { rawQuery } from "./support/raw-sql.js";
import { exchange, newVerifier, s256, useServer } from "./support/server.js";

const BASE64URL_256_BITS = /^[A-Za-z0-9_-]{43}$/;

describe.each(dialects)("DESIGN invariant 6: secrets ($name)", (dialect) => {
  const running = useServer(dialect);
  let database: TestDatabase;
  let server: RunningServer;

  beforeAll(async () => {
    ({ server, database } = running);
  });

  it("passwords are stored as argon2id with at least OWASP's parameters (19 MiB, t=2, p=1)", async () => {
    const browser = new Browser(server.url);
    const { email, password } = await browser.signUp();
    const [row] = await rawQuery(database, "SELECT password_hash FROM users WHERE email = ?", [
      email,
    ]);
    const hash = String(row?.password_hash);
    const match =
      /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.exec(hash);
    expect(match, hash).not.toBeNull();
    const [, memory, time, lanes] = (match ?? []).map(Number);
    expect(memory).toBeGreaterThanOrEqual(19_456);
    expect(time).toBeGreaterThanOrEqual(2);
    expect(lanes).toBeGreaterThanOrEqual(1);
    expect(hash).not.toContain(password);
  });

  it("session ids, codes and keys carry 256 bits from the CSPRNG, all distinct", async () => {
    const sessions = new Set<string>();
    const codes = new Set<string>();
    const keys = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const browser = new Browser(server.url);
      await browser.signUp();
      const session = browser.cookies.get("keyport_session") ?? "";
      expect(session).toMatch(BASE64URL_256_BITS);
      sessions.add(session);
      const verifier = newVerifier();
      const code = await approve(browser, {
        callback_url: "https://app.example/cb",
        code_challenge: s256(verifier),
        code_challenge_method: "S256",
      });
      expect(code).toMatch(BASE64URL_256_BITS);
      codes.add(code);
      const answer = await exchange(server.url, {
        code,
        code_verifier: verifier,
        code_challenge_method: "S256",
      });
      const { key } = (await answer.json()) as { key: string };
      expect(key).toMatch(/^sk-kp-v1-[0-9a-f]{64}$/);
      keys.add(key);
    }
    expect([sessions.size, codes.size, keys.size]).toEqual([3, 3, 3]);
  });
});
