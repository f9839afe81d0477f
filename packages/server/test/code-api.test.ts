import { beforeAll, describe, expect, it } from "vitest";
import { CODE_LIFETIME_MS } from "../src/domain/constants.js";
import type { RunningServer } from "../src/index.js";
import { dialects } from "./support/databases.js";
import { callApi, type ManagedAccount, managedAccount } from "./support/management.js";
import {
  exchange,
  keyInfo,
  newVerifier,
  s256,
  type TestClock,
  useServer,
} from "./support/server.js";

describe.each(dialects)("POST /api/v1/auth/keys/code ($name)", (dialect) => {
  const running = useServer(dialect);
  let server: RunningServer;
  let clock: TestClock;
  let alice: ManagedAccount;

  beforeAll(async () => {
    ({ server, clock } = running);
    alice = await managedAccount(server, clock());
  });

  const createCode = (body: unknown, key = alice.managementKey) =>
    callApi(server, key, "POST", "/api/v1/auth/keys/code", body);

  async function codeFor(body: Record<string, unknown>): Promise<string> {
    const response = await createCode(body);
    expect(response.status).toBe(200);
    const { data } = await response.json();
    expect(data).toEqual({
      id: expect.any(String),
      app_id: 0,
      created_at: clock().toISOString(),
    });
    return data.id;
  }

  it("the code exchanges with its verifier for a key of the management key's user", async () => {
    const verifier = newVerifier();
    const code = await codeFor({
      callback_url: "https://app.example/cb",
      code_challenge: s256(verifier),
      code_challenge_method: "S256",
      key_label: "Server-side app",
      limit: 1.5,
      expires_at: "2026-02-01T00:00:00Z",
    });
    const response = await exchange(server.url, {
      code,
      code_verifier: verifier,
      code_challenge_method: "S256",
    });
    expect(response.status).toBe(200);
    const { key, user_id } = await response.json();
    expect(user_id).toBe(alice.userId);
    const { data } = await (await keyInfo(server.url, key)).json();
    expect(data).toMatchObject({
      label: "Server-side app",
      limit: 1.5,
      is_management_key: false,
      expires_at: "2026-02-01T00:00:00.000Z",
    });
  });

  it("without its verifier: 403, and the code is burnt", async () => {
    const verifier = newVerifier();
    const code = await codeFor({ code_challenge: s256(verifier), code_challenge_method: "S256" });
    const without = await exchange(server.url, { code });
    expect(without.status).toBe(403);
    expect(await without.json()).toEqual({
      error: { code: 403, message: "Invalid code or code_verifier" },
    });
    const late = await exchange(server.url, { code, code_verifier: verifier });
    expect(late.status).toBe(403);
  });

  it("a wrong verifier: 403", async () => {
    const code = await codeFor({
      code_challenge: s256(newVerifier()),
      code_challenge_method: "S256",
    });
    expect((await exchange(server.url, { code, code_verifier: newVerifier() })).status).toBe(403);
  });

  it("a code with a callback and no challenge exchanges alone, once", async () => {
    const code = await codeFor({ callback_url: "http://localhost:3000/cb" });
    expect((await exchange(server.url, { code })).status).toBe(200);
    expect((await exchange(server.url, { code })).status).toBe(403);
  });

  it("lives 10 minutes, like a consent-page code", async () => {
    const code = await codeFor({ callback_url: "https://app.example/cb" });
    clock.advance(CODE_LIFETIME_MS);
    const response = await exchange(server.url, { code });
    expect(response.status).toBe(403);
    expect((await response.json()).error.message).toBe("Authorization code expired");
  });

  it.each([
    ["a javascript: callback", { callback_url: "javascript:alert(1)" }],
    ["an http callback off loopback", { callback_url: "http://app.example/cb" }],
    [
      "an unknown method",
      {
        callback_url: "https://a.example/cb",
        code_challenge: "a".repeat(43),
        code_challenge_method: "S512",
      },
    ],
    ["a short challenge", { callback_url: "https://a.example/cb", code_challenge: "a".repeat(42) }],
    ["no callback and no S256 challenge", {}],
    ["a negative limit", { callback_url: "https://a.example/cb", limit: -1 }],
    ["a limit as a string", { callback_url: "https://a.example/cb", limit: "5" }],
    [
      "expires_at in the past",
      { callback_url: "https://a.example/cb", expires_at: "2020-01-01T00:00:00Z" },
    ],
    [
      "a label over 100 characters",
      { callback_url: "https://a.example/cb", key_label: "x".repeat(101) },
    ],
    ["malformed JSON", "{"],
  ])("%s: 400 in the error shape", async (_, body) => {
    const response = await createCode(body);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 400, message: expect.any(String) } });
  });
});
