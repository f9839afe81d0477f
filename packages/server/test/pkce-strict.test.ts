import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/index.js";
import { approve, authPath, type Browser } from "./support/browser.js";
import { dialects, type TestDatabase } from "./support/databases.js";
import { callApi, managedAccount } from "./support/management.js";
import { answer, authParams, CALLBACK } from "./support/pkce-params.js";
import { exchange, newVerifier, sha256Hex, startTestServer, testClock } from "./support/server.js";

describe.each(dialects)("--require-s256: S256 or nothing ($name)", (dialect) => {
  let database: TestDatabase;
  let server: RunningServer;
  let browser: Browser;
  let managementKey: string;
  let userId: string;
  const clock = testClock();

  beforeAll(async () => {
    database = await dialect.fresh();
    server = await startTestServer(database, { requireS256: true }, clock);
    const account = await managedAccount(server, clock());
    browser = account.browser;
    managementKey = account.managementKey;
    userId = account.userId;
  });

  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it.each(["plain", "none"] as const)("GET /auth with %s: refused, no consent form", async (m) => {
    const page = await browser.get(authPath(authParams(m, newVerifier())));
    expect(page.status).toBe(400);
    expect(page.html).toMatch(/S256/);
    expect(page.html).not.toMatch(/name="csrf_token"/);
  });

  it("GET /auth with S256: the consent page, and the code exchanges", async () => {
    const verifier = newVerifier();
    const code = await approve(browser, authParams("S256", verifier));
    const body = { code, code_verifier: verifier, code_challenge_method: "S256" };
    expect((await exchange(server.url, body)).status).toBe(200);
  });

  it.each(["plain", "none"] as const)("POST /api/v1/auth/keys/code with %s: 400", async (m) => {
    const params = authParams(m, newVerifier());
    const response = await callApi(server, managementKey, "POST", "/api/v1/auth/keys/code", params);
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toMatch(/S256/);
  });

  it("POST /api/v1/auth/keys/code with S256: a code that exchanges", async () => {
    const verifier = newVerifier();
    const params = authParams("S256", verifier);
    const response = await callApi(server, managementKey, "POST", "/api/v1/auth/keys/code", params);
    expect(response.status).toBe(200);
    const code = (await response.json()).data.id;
    const body = { code, code_verifier: verifier, code_challenge_method: "S256" };
    expect((await exchange(server.url, body)).status).toBe(200);
  });

  it("at exchange: a plain verifier is refused before the code is touched", async () => {
    const verifier = newVerifier();
    const code = await approve(browser, authParams("S256", verifier));
    expect(
      await answer(
        await exchange(server.url, {
          code,
          code_verifier: verifier,
          code_challenge_method: "plain",
        }),
      ),
    ).toEqual({
      status: 400,
      body: { error: { code: 400, message: "Invalid code_challenge_method" } },
    });
    const body = { code, code_verifier: verifier, code_challenge_method: "S256" };
    expect((await exchange(server.url, body)).status).toBe(200);
  });

  it.each(["plain", "none"] as const)(
    "at exchange: a %s code issued before the switch was turned on mints no key",
    async (m) => {
      const verifier = newVerifier();
      const code = newVerifier();
      await server.store.createCode({
        codeHash: sha256Hex(code),
        userId,
        codeChallenge: m === "none" ? null : verifier,
        codeChallengeMethod: m === "none" ? null : m,
        callbackUrl: CALLBACK,
        keyLabel: "Before the switch",
        limitMicros: null,
        limitReset: null,
        keyExpiresAt: null,
        createdAt: clock(),
        expiresAt: new Date(clock().getTime() + 60_000),
      });
      const body =
        m === "none" ? { code } : { code, code_verifier: verifier, code_challenge_method: m };
      const refused = await answer(await exchange(server.url, body));
      expect(refused.status).toBe(m === "none" ? 403 : 400);
      expect(refused.body).not.toHaveProperty("key");
    },
  );
});
