import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/index.js";
import { approve, Browser } from "./support/browser.js";
import { dialects, type TestDatabase } from "./support/databases.js";
import { answer, authParams, type Method } from "./support/pkce-params.js";
import { exchange, keyInfo, newVerifier, startTestServer } from "./support/server.js";

const INVALID_CODE = { error: { code: 403, message: "Invalid code or code_verifier" } };

describe.each(dialects)("DESIGN invariant 3: replays that prove possession ($name)", (dialect) => {
  let database: TestDatabase;
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    database = await dialect.fresh();
    server = await startTestServer(database);
    browser = new Browser(server.url);
    await browser.signUp();
  });

  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  /** The rightful user's exchange: the code (as leaked after it), its verifier, a working key. */
  async function redeemed(method: Method) {
    const verifier = newVerifier();
    const code = await approve(browser, authParams(method, verifier));
    const body =
      method === "none"
        ? { code }
        : { code, code_verifier: verifier, code_challenge_method: method };
    const first = await answer(await exchange(server.url, body));
    expect(first.status).toBe(200);
    return { code, verifier, body, key: first.body.key as string };
  }

  it("a leaked S256 code replayed with a wrong verifier: 403, and the key still works", async () => {
    const { code, key } = await redeemed("S256");
    const replay = { code, code_verifier: newVerifier(), code_challenge_method: "S256" };
    expect(await answer(await exchange(server.url, replay))).toEqual({
      status: 403,
      body: INVALID_CODE,
    });
    expect((await keyInfo(server.url, key)).status).toBe(200);
  });

  it("a leaked S256 code replayed without a verifier: 403, and the key still works", async () => {
    const { code, key } = await redeemed("S256");
    for (const replay of [{ code }, { code, code_verifier: "" }, { code, code_verifier: null }]) {
      expect(await answer(await exchange(server.url, replay))).toEqual({
        status: 403,
        body: INVALID_CODE,
      });
    }
    expect((await keyInfo(server.url, key)).status).toBe(200);
  });

  it("a leaked plain code replayed with a wrong verifier: the key still works", async () => {
    const { code, key } = await redeemed("plain");
    const replay = { code, code_verifier: newVerifier(), code_challenge_method: "plain" };
    expect((await exchange(server.url, replay)).status).toBe(403);
    expect((await keyInfo(server.url, key)).status).toBe(200);
  });

  it("RFC 6749 §4.1.2: a replay with the right verifier revokes the key", async () => {
    const { body, key } = await redeemed("S256");
    expect(await answer(await exchange(server.url, body))).toEqual({
      status: 403,
      body: INVALID_CODE,
    });
    expect((await keyInfo(server.url, key)).status).toBe(401);
  });

  it("a replay with the right verifier after wrong ones still revokes the key", async () => {
    const { code, body, key } = await redeemed("S256");
    await exchange(server.url, { code, code_verifier: newVerifier() });
    expect((await keyInfo(server.url, key)).status).toBe(200);
    await exchange(server.url, body);
    expect((await keyInfo(server.url, key)).status).toBe(401);
  });

  it("a code issued without a challenge: holding it is possession, so its replay revokes", async () => {
    const { body, key } = await redeemed("none");
    expect((await exchange(server.url, body)).status).toBe(403);
    expect((await keyInfo(server.url, key)).status).toBe(401);
  });
});
