import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/domain/secrets.js";
import type { RunningServer } from "../../src/index.js";
import { issueKey } from "../../src/services/issue-key.js";
import { dialects, type TestDatabase } from "../support/databases.js";
import { callApi } from "../support/management.js";
import { openRouterSdk } from "../support/openrouter-sdk.js";
import {
  COMPLETION_PRICE,
  type FakeUpstream,
  mintKeyFor,
  PROMPT_PRICE,
  startKeyport,
  startUpstream,
} from "./support.js";

const chat = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: "user", content: "hi" }],
  ...extra,
});

/** Over real HTTP: `GET /api/v1/credits`, `/generation` and `/activity` read what calls recorded. */
describe.each(dialects)("usage API ($name)", (dialect) => {
  let database: TestDatabase;
  let upstream: FakeUpstream;
  let server: RunningServer;

  beforeAll(async () => {
    database = await dialect.fresh();
    upstream = await startUpstream();
    server = await startKeyport(database, upstream, {
      extraUpstreams: [
        {
          name: "router",
          baseUrl: upstream.url,
          kind: "openrouter",
          models: [
            {
              id: "router/chat",
              upstreamModel: "fake/chat",
              promptPrice: PROMPT_PRICE,
              completionPrice: COMPLETION_PRICE,
            },
          ],
        },
      ],
    });
  });

  afterAll(async () => {
    await server?.close();
    await upstream?.close();
    await database?.drop();
  });

  async function managementKeyOf(hash: string): Promise<string> {
    const owner = await server.store.findKey(hash);
    if (!owner) throw new Error("no such key");
    const { key } = await issueKey(server.store, new Date(), {
      userId: owner.userId,
      label: "ops",
      limitMicros: null,
      limitReset: null,
      expiresAt: null,
      isManagement: true,
    });
    return key;
  }

  it("records a call's id, tokens, cost, finish reason, latency and app, for its owner only", async () => {
    const { key } = await mintKeyFor(server);
    const stranger = await mintKeyFor(server);
    const response = await fetch(`${server.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        "http-referer": "https://app.example/page",
        "x-title": `My\u0085 App\t\t Title${"!".repeat(300)}`,
      },
      body: JSON.stringify(chat("fake/chat")),
    });
    expect(response.status).toBe(200);
    const completion = (await response.json()) as { id: string };
    expect(completion.id).toBe("gen-fake");
    // The default upstream is not OpenRouter: attribution stays with Keyport.
    expect(upstream.requests.at(-1)?.headers["x-title"]).toBeUndefined();

    const generation = await openRouterSdk(server, key).generations.getGeneration({
      id: completion.id,
    });
    expect(generation.data).toMatchObject({
      id: "gen-fake",
      model: "fake/chat",
      tokensPrompt: 10,
      tokensCompletion: 5,
      totalCost: (10 * 1 + 5 * 10) / 1_000_000,
      finishReason: "stop",
      streamed: false,
      httpReferer: "https://app.example/page",
      apiType: "completions",
    });
    expect(generation.data.latency).toBeGreaterThanOrEqual(0);
    const raw = (await (
      await callApi(server, key, "GET", `/api/v1/generation?id=${completion.id}`)
    ).json()) as { data: { app_title: string; request_id: string } };
    expect(raw.data.app_title).toBe(`My App Title${"!".repeat(128 - 12)}`);
    // The request id (X-Request-Id) finds it too.
    expect(response.headers.get("x-request-id")).toBe(raw.data.request_id);

    const theirs = await callApi(server, stranger.key, "GET", `/api/v1/generation?id=gen-fake`);
    expect(theirs.status).toBe(404);
    expect(await theirs.text()).not.toContain("fake/chat");
    expect((await callApi(server, key, "GET", "/api/v1/generation?id=gen-nope")).status).toBe(404);
    expect((await callApi(server, key, "GET", "/api/v1/generation")).status).toBe(400);
  });

  it("records a stream's finish reason and forwards attribution to an OpenRouter upstream", async () => {
    const { key } = await mintKeyFor(server);
    const response = await fetch(`${server.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        "x-openrouter-title": "Router App",
        "http-referer": "https://router.example/",
      },
      body: JSON.stringify(chat("router/chat", { stream: true })),
    });
    expect(response.status).toBe(200);
    await response.text();
    const seen = upstream.requests.at(-1);
    expect(seen?.headers["x-title"]).toBe("Router App");
    expect(seen?.headers["x-openrouter-title"]).toBe("Router App");
    expect(seen?.headers["http-referer"]).toBe("https://router.example/");
    const body = (await (
      await callApi(server, key, "GET", "/api/v1/generation?id=gen-fake")
    ).json()) as { data: Record<string, unknown> };
    expect(body.data).toMatchObject({
      model: "router/chat",
      streamed: true,
      finish_reason: "stop",
      app_title: "Router App",
      tokens_completion: 5,
    });
  });

  it("answers an account's credits: what its keys spent, and what they may still spend", async () => {
    const limited = await mintKeyFor(server, { limit: 1 });
    const fresh = await openRouterSdk(server, limited.key).credits.getCredits();
    expect(fresh.data).toEqual({ totalCredits: 1, totalUsage: 0 });
    const call = await callApi(
      server,
      limited.key,
      "POST",
      "/api/v1/chat/completions",
      chat("fake/chat"),
    );
    expect(call.status).toBe(200);
    const spent = await openRouterSdk(server, limited.key).credits.getCredits();
    expect(spent.data.totalUsage).toBeCloseTo(0.00006, 9);
    expect(spent.data.totalCredits).toBeCloseTo(1, 9);
    // Another account's credits are its own.
    const other = await mintKeyFor(server, { limit: 2 });
    const theirs = await openRouterSdk(server, other.key).credits.getCredits();
    expect(theirs.data).toEqual({ totalCredits: 2, totalUsage: 0 });
    expect((await callApi(server, undefined, "GET", "/api/v1/credits")).status).toBe(401);
  });

  it("answers activity per day and model to management keys only, per key on request", async () => {
    const first = await mintKeyFor(server);
    const management = await managementKeyOf(first.hash);
    const owner = (await server.store.findKey(first.hash))?.userId as string;
    const { key: second } = await issueKey(server.store, new Date(), {
      userId: owner,
      label: "second",
      limitMicros: null,
      limitReset: null,
      expiresAt: null,
      isManagement: false,
    });
    for (const key of [first.key, first.key, second]) {
      const call = await callApi(
        server,
        key,
        "POST",
        "/api/v1/chat/completions",
        chat("fake/chat"),
      );
      expect(call.status).toBe(200);
    }
    const refused = await callApi(server, first.key, "GET", "/api/v1/activity");
    expect(refused.status).toBe(403);

    const activity = await openRouterSdk(server, management).analytics.getUserActivity();
    const today = new Date().toISOString().slice(0, 10);
    expect(activity.data).toEqual([
      expect.objectContaining({
        date: today,
        model: "fake/chat",
        providerName: "fake",
        requests: 3,
        promptTokens: 30,
        completionTokens: 15,
        usage: 0.00018,
      }),
    ]);
    const perKey = await openRouterSdk(server, management).analytics.getUserActivity({
      apiKeyHash: sha256Hex(second),
    });
    expect(perKey.data.map((item) => item.requests)).toEqual([1]);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const none = await callApi(server, management, "GET", `/api/v1/activity?date=${yesterday}`);
    expect(((await none.json()) as { data: unknown[] }).data).toEqual([]);
    const tooOld = await callApi(server, management, "GET", "/api/v1/activity?date=2020-01-01");
    expect(tooOld.status).toBe(400);
    const malformed = await callApi(server, management, "GET", "/api/v1/activity?api_key_hash=x");
    expect(malformed.status).toBe(400);
  });
});
