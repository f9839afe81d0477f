import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/index.js";
import { type AuthParams, approve, Browser } from "./support/browser.js";
import { dialects, type TestDatabase } from "./support/databases.js";
import { everyStoredValue } from "./support/raw-sql.js";
import {
  exchange,
  keyInfo,
  newVerifier,
  s256,
  sha256Hex,
  type TestClock,
  testClock,
  useServer,
} from "./support/server.js";

const KEY_SHAPE = /^sk-kp-v1-[0-9a-f]{64}$/;
const CALLBACK = "https://app.example/cb";
const INVALID_CODE = { error: { code: 403, message: "Invalid code or code_verifier" } };
const INVALID_METHOD = { error: { code: 400, message: "Invalid code_challenge_method" } };
const TEN_MINUTES = 10 * 60_000;

describe.each(dialects)("POST /api/v1/auth/keys ($name)", (dialect) => {
  const running = useServer(dialect);
  let database: TestDatabase;
  let server: RunningServer;
  let clock: TestClock;
  let browser: Browser;
  let userId: string;

  beforeAll(async () => {
    ({ server, clock, database } = running);
    browser = new Browser(server.url);
    await browser.signUp();
    const first = await issue("S256");
    userId = (await (await exchange(server.url, first.body)).json()).user_id;
  });

  /** A code approved in the signed-in browser, with the verifier and body that redeem it. */
  async function issue(method: "S256" | "plain" | "none", extra: AuthParams = {}) {
    const verifier = newVerifier();
    const params: AuthParams =
      method === "none"
        ? { callback_url: CALLBACK, ...extra }
        : {
            callback_url: CALLBACK,
            code_challenge: method === "S256" ? s256(verifier) : verifier,
            code_challenge_method: method,
            ...extra,
          };
    const code = await approve(browser, params);
    const body =
      method === "none"
        ? { code }
        : { code, code_verifier: verifier, code_challenge_method: method };
    return { code, verifier, body };
  }

  async function json(response: Response) {
    return { status: response.status, body: await response.json() };
  }

  describe("RFC 7636 §4.6: the code for a key", () => {
    it("S256: 200 with a key and the user id, and the key works", async () => {
      const { body } = await issue("S256", {
        key_label: "My app",
        limit: "5",
        usage_limit_type: "monthly",
      });
      const answer = await json(await exchange(server.url, body));
      expect(answer.status).toBe(200);
      expect(answer.body.key).toMatch(KEY_SHAPE);
      expect(answer.body.user_id).toBe(userId);
      expect(userId).toMatch(/^user_/);

      const info = await json(await keyInfo(server.url, answer.body.key));
      expect(info.status).toBe(200);
      expect(info.body.data).toMatchObject({
        label: "My app",
        limit: 5,
        limit_remaining: 5,
        limit_reset: "monthly",
        usage: 0,
        expires_at: null,
        is_management_key: false,
      });
    });

    it("plain: 200 with a key", async () => {
      const { body } = await issue("plain");
      const answer = await json(await exchange(server.url, body));
      expect(answer.status).toBe(200);
      expect(answer.body.key).toMatch(KEY_SHAPE);
    });

    it("S256 with code_challenge_method left out of the exchange: 200", async () => {
      const { code, verifier } = await issue("S256");
      const answer = await exchange(server.url, { code, code_verifier: verifier });
      expect(answer.status).toBe(200);
    });

    it("a code issued without a challenge redeems without a verifier (PKCE optional, as OpenRouter)", async () => {
      const { body } = await issue("none");
      expect((await exchange(server.url, body)).status).toBe(200);
    });

    it("every exchange mints a different key", async () => {
      const keys = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const { body } = await issue("S256");
        keys.add((await (await exchange(server.url, body)).json()).key);
      }
      expect(keys.size).toBe(3);
    });
  });

  describe("DESIGN invariant 2: method and downgrade (RFC 9700 §4.8)", () => {
    it("S256 code redeemed with code_challenge_method=plain: 400 Invalid code_challenge_method", async () => {
      const { code, verifier } = await issue("S256");
      const answer = await json(
        await exchange(server.url, {
          code,
          code_verifier: verifier,
          code_challenge_method: "plain",
        }),
      );
      expect(answer).toEqual({ status: 400, body: INVALID_METHOD });
    });

    it("plain code redeemed as S256 (challenge sent as verifier): 400", async () => {
      const { code, verifier } = await issue("plain");
      const answer = await json(
        await exchange(server.url, {
          code,
          code_verifier: verifier,
          code_challenge_method: "S256",
        }),
      );
      expect(answer).toEqual({ status: 400, body: INVALID_METHOD });
    });

    it.each(["S512", "s256", "none"])("unknown code_challenge_method %j: 400", async (method) => {
      const { code, verifier } = await issue("S256");
      const answer = await json(
        await exchange(server.url, {
          code,
          code_verifier: verifier,
          code_challenge_method: method,
        }),
      );
      expect(answer).toEqual({ status: 400, body: INVALID_METHOD });
    });

    it("empty code_verifier and code_challenge_method count as absent", async () => {
      const plain = await issue("none");
      const empty = { code_verifier: "", code_challenge_method: "" };
      expect((await exchange(server.url, { code: plain.code, ...empty })).status).toBe(200);
      const challenged = await issue("S256");
      const refused = await json(await exchange(server.url, { code: challenged.code, ...empty }));
      expect(refused).toEqual({ status: 403, body: INVALID_CODE });
    });

    it("a verifier sent for a code issued without a challenge: 403 (downgrade)", async () => {
      const { code } = await issue("none");
      const verifier = newVerifier();
      const answer = await json(
        await exchange(server.url, {
          code,
          code_verifier: verifier,
          code_challenge_method: "S256",
        }),
      );
      expect(answer).toEqual({ status: 403, body: INVALID_CODE });
      const plainOnly = await issue("none");
      const again = await json(
        await exchange(server.url, { code: plainOnly.code, code_verifier: verifier }),
      );
      expect(again).toEqual({ status: 403, body: INVALID_CODE });
    });

    it("a code issued with a challenge, redeemed without a verifier: 403", async () => {
      const { code } = await issue("S256");
      expect(await json(await exchange(server.url, { code }))).toEqual({
        status: 403,
        body: INVALID_CODE,
      });
    });
  });

  describe("DESIGN invariant 3: single use, consumed before the verifier is checked", () => {
    it("a wrong verifier: 403, and the code is burnt for the right one", async () => {
      const { code, body } = await issue("S256");
      const wrong = await json(
        await exchange(server.url, { ...body, code, code_verifier: newVerifier() }),
      );
      expect(wrong).toEqual({ status: 403, body: INVALID_CODE });
      expect(await json(await exchange(server.url, body))).toEqual({
        status: 403,
        body: INVALID_CODE,
      });
    });

    it("a malformed verifier (42 chars) is refused and burns the code", async () => {
      const { body } = await issue("plain");
      const short = await exchange(server.url, { ...body, code_verifier: "a".repeat(42) });
      expect(short.status).toBe(403);
      expect((await exchange(server.url, body)).status).toBe(403);
    });

    it("an unknown code: 403", async () => {
      expect(
        await json(
          await exchange(server.url, { code: "no-such-code", code_verifier: newVerifier() }),
        ),
      ).toEqual({ status: 403, body: INVALID_CODE });
    });

    it("50 concurrent exchanges of one code: exactly one 200, 49 × 403", async () => {
      const { body } = await issue("S256");
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => exchange(server.url, body).then(json)),
      );
      const ok = answers.filter((answer) => answer.status === 200);
      const refused = answers.filter((answer) => answer.status === 403);
      expect(ok).toHaveLength(1);
      expect(refused).toHaveLength(49);
      for (const answer of refused) expect(answer.body).toEqual(INVALID_CODE);
    });

    it("RFC 6749 §4.1.2: a replayed code is refused and revokes the key it minted", async () => {
      const { body } = await issue("S256");
      const first = await json(await exchange(server.url, body));
      expect(first.status).toBe(200);
      expect((await keyInfo(server.url, first.body.key)).status).toBe(200);

      expect(await json(await exchange(server.url, body))).toEqual({
        status: 403,
        body: INVALID_CODE,
      });
      const after = await json(await keyInfo(server.url, first.body.key));
      expect(after.status).toBe(401);
      expect(after.body.error.code).toBe(401);
    });

    it("a replay revokes only that code's key, not the user's others", async () => {
      const a = await issue("S256");
      const b = await issue("S256");
      const keyA = (await (await exchange(server.url, a.body)).json()).key;
      const keyB = (await (await exchange(server.url, b.body)).json()).key;
      await exchange(server.url, a.body);
      expect((await keyInfo(server.url, keyA)).status).toBe(401);
      expect((await keyInfo(server.url, keyB)).status).toBe(200);
    });
  });

  describe("codes live 10 minutes (injected clock)", () => {
    it("10 min − 1 ms after approval: still redeemable", async () => {
      const { body } = await issue("S256");
      clock.advance(TEN_MINUTES - 1);
      expect((await exchange(server.url, body)).status).toBe(200);
    });

    it("10 min + 1 ms after approval: 403 Authorization code expired", async () => {
      const { body } = await issue("S256");
      clock.advance(TEN_MINUTES + 1);
      expect(await json(await exchange(server.url, body))).toEqual({
        status: 403,
        body: { error: { code: 403, message: "Authorization code expired" } },
      });
    });
  });

  describe("HTTP surface", () => {
    it.each(["GET", "PUT", "DELETE", "PATCH"])("%s: 405 in the error shape", async (method) => {
      const response = await fetch(`${server.url}/api/v1/auth/keys`, {
        method,
        ...(method === "GET"
          ? {}
          : { body: "{}", headers: { "content-type": "application/json" } }),
      });
      expect(response.status).toBe(405);
      expect(await response.json()).toEqual({
        error: { code: 405, message: "Method Not Allowed" },
      });
    });

    it("CORS preflight from any origin is answered", async () => {
      const response = await fetch(`${server.url}/api/v1/auth/keys`, {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example",
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
      expect(response.status).toBeLessThan(300);
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      expect(response.headers.get("access-control-allow-methods")).toMatch(/POST/);
      expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toMatch(
        /content-type/,
      );
    });

    it("CORS headers on success and on errors, so a browser app can read both", async () => {
      const { body } = await issue("S256");
      const origin = { origin: "https://app.example" };
      const ok = await exchange(server.url, body, { headers: origin });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("access-control-allow-origin")).toBe("*");
      const refused = await exchange(server.url, body, { headers: origin });
      expect(refused.status).toBe(403);
      expect(refused.headers.get("access-control-allow-origin")).toBe("*");
    });

    it.each([
      ["malformed JSON", "{"],
      ["empty body", ""],
      ["null", "null"],
      ["a string", '"code"'],
      ["an array", '[{"code":"abc"}]'],
      ["missing code", "{}"],
      ["code as a number", '{"code":123}'],
      ["code as an array", '{"code":["abc"]}'],
      ["code as an object", '{"code":{"$ne":null}}'],
      ["empty code", '{"code":""}'],
      ["code_verifier as a number", '{"code":"abc","code_verifier":42}'],
      ["code_challenge_method as an array", '{"code":"abc","code_challenge_method":["S256"]}'],
    ])("%s: 400 in the error shape, never 500", async (_, raw) => {
      const response = await exchange(server.url, undefined, { raw });
      expect(response.status).toBe(400);
      const body = await response.json();
      expect(body).toEqual({ error: { code: 400, message: expect.any(String) } });
    });

    it("a body over 16 KiB: 413", async () => {
      const response = await exchange(server.url, { code: "x".repeat(17 * 1024) });
      expect(response.status).toBe(413);
      expect((await response.json()).error.code).toBe(413);
    });

    it("a code still works after all that bad input (nothing lost)", async () => {
      const { body } = await issue("S256");
      await exchange(server.url, undefined, { raw: "{" });
      expect((await exchange(server.url, body)).status).toBe(200);
    });
  });

  describe("DESIGN invariant 7: rate limited per client address", () => {
    it("the 4th exchange in a minute with exchangeRateLimit 3: 429 + Retry-After", async () => {
      const limitedClock = testClock();
      const limited = await running.another({ exchangeRateLimit: 3 }, limitedClock);
      for (let i = 0; i < 3; i++) {
        expect((await exchange(limited.url, { code: `nope-${i}` })).status).toBe(403);
      }
      const refused = await exchange(limited.url, { code: "nope" });
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect((await refused.json()).error.code).toBe(429);

      // X-Forwarded-For is not trusted unless the operator says a proxy sits in front.
      const spoofed = await exchange(
        limited.url,
        { code: "nope" },
        {
          headers: { "x-forwarded-for": "203.0.113.9" },
        },
      );
      expect(spoofed.status).toBe(429);

      limitedClock.advance(60_000);
      expect((await exchange(limited.url, { code: "nope" })).status).toBe(403);
    });

    it("behind a trusted proxy (trustProxy), the address the proxy appended has its own budget; spoofed entries before it count for nothing", async () => {
      const proxied = await running.another({ exchangeRateLimit: 2, trustProxy: true });
      const from = (forwardedFor: string) =>
        exchange(proxied.url, { code: "nope" }, { headers: { "x-forwarded-for": forwardedFor } });
      expect((await from("203.0.113.1")).status).toBe(403);
      // A client that writes its own X-Forwarded-For: the proxy appends the real address.
      expect((await from("198.51.100.7, 203.0.113.1")).status).toBe(403);
      expect((await from("198.51.100.8, 203.0.113.1")).status).toBe(429);
      expect((await from("203.0.113.2")).status).toBe(403);
      // IPv6 clients count per /64: another address in the same block shares the budget.
      expect((await from("2001:db8:0:1::1")).status).toBe(403);
      expect((await from("2001:db8:0:1:ffff::2")).status).toBe(403);
      expect((await from("2001:db8:0:1::3")).status).toBe(429);
      expect((await from("2001:db8:0:2::1")).status).toBe(403);
    });
  });

  describe("DESIGN invariant 6: only SHA-256 of keys, codes and session ids at rest", () => {
    it("no plaintext secret appears in any table; their SHA-256 hex does", async () => {
      const own = new Browser(server.url);
      const { password } = await own.signUp();
      const session = [...own.cookies.values()][0] as string;
      const verifier = newVerifier();
      const code = await approve(own, {
        callback_url: CALLBACK,
        code_challenge: s256(verifier),
        code_challenge_method: "S256",
      });
      const { key } = await (
        await exchange(server.url, { code, code_verifier: verifier, code_challenge_method: "S256" })
      ).json();
      expect(key).toMatch(KEY_SHAPE);

      const stored = (await everyStoredValue(database)).join("\n");
      for (const secret of [key, key.slice("sk-kp-v1-".length), code, session, password]) {
        expect(stored).not.toContain(secret);
      }
      for (const secret of [key, code, session]) expect(stored).toContain(sha256Hex(secret));
    });
  });
});
