import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/index.js";
import { type AuthParams, approve, Browser } from "./support/browser.js";
import { dialects, type TestDatabase } from "./support/databases.js";
import { rawQuery } from "./support/raw-sql.js";
import {
  exchange,
  keyInfo,
  newVerifier,
  s256,
  sha256Hex,
  type TestClock,
  useServer,
} from "./support/server.js";

describe.each(dialects)("GET /api/v1/key ($name)", (dialect) => {
  const running = useServer(dialect);
  let database: TestDatabase;
  let server: RunningServer;
  let clock: TestClock;
  let browser: Browser;

  beforeAll(async () => {
    ({ server, clock, database } = running);
    browser = new Browser(server.url);
    await browser.signUp();
  });

  async function mint(extra: AuthParams = {}) {
    const verifier = newVerifier();
    const code = await approve(browser, {
      callback_url: "http://127.0.0.1:9999/cb",
      code_challenge: s256(verifier),
      code_challenge_method: "S256",
      ...extra,
    });
    const body = { code, code_verifier: verifier, code_challenge_method: "S256" };
    const response = await exchange(server.url, body);
    expect(response.status).toBe(200);
    return { key: (await response.json()).key as string, body };
  }

  async function refused(response: Response) {
    expect(response.status).toBe(401);
    const body = await response.json();
    expect(body).toEqual({ error: { code: 401, message: expect.any(String) } });
  }

  it("answers every field OpenRouter documents", async () => {
    const { key } = await mint({
      key_label: "CLI on laptop",
      limit: "2.5",
      usage_limit_type: "weekly",
      expires_at: "2026-03-01T00:00:00Z",
    });
    const response = await keyInfo(server.url, key);
    expect(response.status).toBe(200);
    const { data } = await response.json();
    expect(data).toMatchObject({
      label: "CLI on laptop",
      limit: 2.5,
      limit_remaining: 2.5,
      limit_reset: "weekly",
      usage: 0,
      usage_daily: 0,
      usage_weekly: 0,
      usage_monthly: 0,
      is_free_tier: false,
      is_management_key: false,
      expires_at: "2026-03-01T00:00:00.000Z",
    });
  });

  it("a key without a limit: limit and limit_remaining are null", async () => {
    const { key } = await mint();
    const { data } = await (await keyInfo(server.url, key)).json();
    expect(data).toMatchObject({ limit: null, limit_remaining: null, limit_reset: null });
    expect(data.label).toBe("http://127.0.0.1:9999");
    expect(data.expires_at).toBeNull();
  });

  it("limit_remaining is the limit less the usage, never below 0", async () => {
    const { key } = await mint({ limit: "3" });
    await rawQuery(database, "UPDATE keys SET usage_micros = ? WHERE hash = ?", [
      1_250_000,
      sha256Hex(key),
    ]);
    let data = (await (await keyInfo(server.url, key)).json()).data;
    expect(data).toMatchObject({ limit: 3, usage: 1.25, limit_remaining: 1.75 });

    await rawQuery(database, "UPDATE keys SET usage_micros = ? WHERE hash = ?", [
      4_000_000,
      sha256Hex(key),
    ]);
    data = (await (await keyInfo(server.url, key)).json()).data;
    expect(data).toMatchObject({ limit: 3, usage: 4, limit_remaining: 0 });
  });

  it("no Authorization header: 401", async () => {
    await refused(await fetch(`${server.url}/api/v1/key`));
  });

  it.each([
    ["garbage", "Bearer garbage"],
    ["empty bearer", "Bearer "],
    ["another scheme", `Basic ${Buffer.from("a:b").toString("base64")}`],
    ["an unknown well-formed key", `Bearer sk-kp-v1-${randomBytes(32).toString("hex")}`],
    ["an upper-case hex key", `Bearer sk-kp-v1-${"A".repeat(64)}`],
  ])("%s: 401", async (_, authorization) => {
    await refused(await fetch(`${server.url}/api/v1/key`, { headers: { authorization } }));
  });

  it("a key differing in one character: 401", async () => {
    const { key } = await mint();
    const last = key.at(-1) === "0" ? "1" : "0";
    await refused(await keyInfo(server.url, `${key.slice(0, -1)}${last}`));
  });

  it("a revoked key (its code was replayed): 401", async () => {
    const { key, body } = await mint();
    expect((await exchange(server.url, body)).status).toBe(403);
    await refused(await keyInfo(server.url, key));
  });

  it("an expired key (injected clock past expires_at): 401", async () => {
    const expiresAt = new Date(clock().getTime() + 60 * 60_000);
    const { key } = await mint({ expires_at: expiresAt.toISOString() });
    clock.advance(60 * 60_000 - 1);
    expect((await keyInfo(server.url, key)).status).toBe(200);
    clock.advance(1);
    await refused(await keyInfo(server.url, key));
  });

  it("is open to browser apps (CORS)", async () => {
    const { key } = await mint();
    const response = await fetch(`${server.url}/api/v1/key`, {
      headers: { authorization: `Bearer ${key}`, origin: "https://app.example" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
  });

  describe("DELETE /api/v1/key (self-revocation)", () => {
    const revoke = (key: string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/api/v1/key`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${key}`, ...headers },
      });
    const chat = (key: string) =>
      fetch(`${server.url}/api/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: "keyport/echo",
          messages: [{ role: "user", content: "hi" }],
        }),
      });

    it("revokes the calling key at once: GET /api/v1/key and the gateway refuse it", async () => {
      const { key } = await mint();
      expect((await chat(key)).status).toBe(200);
      const response = await revoke(key);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ data: { revoked: true } });
      await refused(await keyInfo(server.url, key));
      await refused(await chat(key));
      const [row] = await rawQuery(database, "SELECT revoked_at FROM keys WHERE hash = ?", [
        sha256Hex(key),
      ]);
      expect(row?.revoked_at).not.toBeNull();
    });

    it("revokes that key only: the user's other keys keep working", async () => {
      const { key: gone } = await mint();
      const { key: kept } = await mint();
      expect((await revoke(gone)).status).toBe(200);
      expect((await keyInfo(server.url, kept)).status).toBe(200);
      expect((await chat(kept)).status).toBe(200);
    });

    it("a second DELETE, an unknown key or no key at all: 401, nothing revoked", async () => {
      const { key } = await mint();
      expect((await revoke(key)).status).toBe(200);
      await refused(await revoke(key));
      await refused(await revoke(`sk-kp-v1-${randomBytes(32).toString("hex")}`));
      await refused(await fetch(`${server.url}/api/v1/key`, { method: "DELETE" }));
    });

    it("concurrent DELETEs of one key: one 200, the rest 401", async () => {
      const { key } = await mint();
      const statuses = (await Promise.all(Array.from({ length: 8 }, () => revoke(key)))).map(
        (response) => response.status,
      );
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      expect(statuses.filter((status) => status === 401)).toHaveLength(7);
    });

    it("browser apps may call it: the CORS preflight allows DELETE with Authorization", async () => {
      const preflight = await fetch(`${server.url}/api/v1/key`, {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example",
          "access-control-request-method": "DELETE",
          "access-control-request-headers": "authorization",
        },
      });
      expect(preflight.status).toBeLessThan(300);
      expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
      expect(preflight.headers.get("access-control-allow-methods")).toContain("DELETE");
      expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
        "authorization",
      );
      const { key } = await mint();
      const response = await revoke(key, { origin: "https://app.example" });
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
    });
  });
});
