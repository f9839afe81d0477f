import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { systemClock } from "../../src/clock.js";
import { codeChallengeOf } from "../../src/domain/pkce.js";
import { randomToken, sha256Hex } from "../../src/domain/secrets.js";
import { parseConfig } from "../../src/index.js";
import { createAccount } from "../../src/services/accounts.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/store.js";

// The gateway reads and writes Node's request and response directly when served by
// @hono/node-server; `app.request()` (and other runtimes) have neither and take the web path.
describe("gateway through app.request() (no Node request or response)", () => {
  let store: Store;
  let app: ReturnType<typeof createApp>;
  let key: string;

  beforeAll(async () => {
    store = await openStore(":memory:");
    const config = parseConfig({ database: ":memory:", echoDelayMs: 0, gatewayMaxBodyBytes: 4096 });
    app = createApp({ config, store, clock: systemClock, secret: "test secret" });
    const user = await createAccount(
      { store, clock: systemClock },
      "app-request@example.com",
      "correct horse battery staple",
    );
    if (!user) throw new Error("account not created");
    const code = randomToken();
    const verifier = randomToken();
    const now = new Date();
    await store.createCode({
      codeHash: sha256Hex(code),
      userId: user.id,
      codeChallenge: codeChallengeOf(verifier, "S256"),
      codeChallengeMethod: "S256",
      callbackUrl: "http://localhost:3000/callback",
      keyLabel: "app.request",
      limitMicros: 1_000_000,
      limitReset: null,
      keyExpiresAt: null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + 60_000),
    });
    const response = await app.request("/api/v1/auth/keys", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code, code_verifier: verifier, code_challenge_method: "S256" }),
    });
    ({ key } = (await response.json()) as { key: string });
  });
  afterAll(() => store.close());

  const chat = (body: unknown) =>
    app.request("/api/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  it("answers JSON and SSE, with usage, and meters both", async () => {
    const messages = [{ role: "user", content: "one two three" }];
    const json = await chat({ model: "keyport/echo", messages });
    expect(json.status).toBe(200);
    expect(json.headers.get("access-control-allow-origin")).toBe("*");
    const completion = (await json.json()) as {
      choices: { message: { content: string } }[];
      usage: { completion_tokens: number; cost: number };
    };
    expect(completion.choices[0]?.message.content).toBe("one two three");
    expect(completion.usage.completion_tokens).toBe(3);

    const stream = await chat({ model: "keyport/echo", messages, stream: true });
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const text = await stream.text();
    expect(text).toMatch(/"usage":\{[^}]*"completion_tokens":3/);
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);

    const records = await store.listRequests(sha256Hex(key), 10);
    expect(records.map((record) => [record.streamed, record.status])).toEqual([
      [true, 200],
      [false, 200],
    ]);
  });

  it("applies the body limit (413) and reports malformed bodies (400)", async () => {
    const big = JSON.stringify({
      model: "keyport/echo",
      messages: [{ role: "user", content: "x".repeat(5000) }],
    });
    expect((await chat(big)).status).toBe(413);
    expect((await chat("{not json")).status).toBe(400);
  });
});
