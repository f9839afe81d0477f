import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/index.js";
import { type Dialect, dialects, type TestDatabase } from "../support/databases.js";
import {
  COMPLETION_PRICE,
  chat,
  type FakeUpstream,
  mintKeyFor,
  PROMPT_PRICE,
  querySql,
  startKeyport,
  startUpstream,
} from "./support.js";

/**
 * Issue 8, item 2: every field that makes an upstream charge more than prompt + completion
 * tokens is priced into the reservation, or refused with a `400` naming it before anything is
 * reserved or forwarded.
 *
 * Models here (all on the fake upstream, 1 micro-credit per prompt token, 10 per completion
 * token unless said otherwise):
 * - `priced/plain` (upstream id `up/plain`): no web search, no request fee, maximum 100 tokens;
 * - `priced/big` (`up/big`): 100 micro-credits per completion token;
 * - `priced/search` (`up/search`): web search at 1000 micro-credits per result;
 * - `priced/fee` (`up/fee`): 500 micro-credits per request;
 * - `other/chat`: the same fake server, configured as another upstream.
 */

type ErrorBody = { error: { code: number; message: string; metadata?: Record<string, unknown> } };

const user = (content: string) => [{ role: "user", content }];
const WEB_SEARCH_MICROS = 1000;
const REQUEST_FEE_MICROS = 500;

const model = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  upstreamModel: id.replace(/^priced\//, "up/"),
  promptPrice: PROMPT_PRICE,
  completionPrice: COMPLETION_PRICE,
  maxTokens: 100,
  ...extra,
});

/** Upstreams every configuration here has (no new model fields). */
const basicUpstreams = (url: string) => [
  {
    name: "priced",
    baseUrl: url,
    apiKeyEnv: "FAKE_UPSTREAM_KEY",
    models: [model("priced/plain"), model("priced/big", { completionPrice: 0.0001 })],
  },
  { name: "other", baseUrl: url, models: [model("other/chat", { upstreamModel: "up/other" })] },
];

/** Plus the models whose prices for searches and requests come from the configuration. */
const pricedUpstreams = (url: string) => {
  const [priced, other] = basicUpstreams(url) as [
    { models: unknown[] } & Record<string, unknown>,
    unknown,
  ];
  return [
    {
      ...priced,
      models: [
        ...priced.models,
        model("priced/search", { webSearchPrice: WEB_SEARCH_MICROS / 1e6 }),
        model("priced/fee", { requestPrice: REQUEST_FEE_MICROS / 1e6 }),
      ],
    },
    other,
  ];
};

/** Prompt bytes at 1 micro-credit plus `completion` tokens at `perToken` micro-credits. */
const tokensWorstCase = (body: string, completion: number, perToken = 10) =>
  Buffer.byteLength(body) + completion * perToken;

describe.each(dialects)("issue 8.2: cost-raising fields ($name)", (dialect: Dialect) => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let server: RunningServer;
  let priced: RunningServer | undefined;
  /** The priced Keyport's own database (one server per SQLite file). */
  let pricedDb: TestDatabase | undefined;

  beforeAll(async () => {
    db = await dialect.fresh();
    upstream = await startUpstream();
    server = await startKeyport(db, upstream, { extraUpstreams: basicUpstreams(upstream.url) });
  });
  afterAll(async () => {
    await priced?.close();
    await pricedDb?.drop();
    await server.close();
    await upstream.close();
    await db.drop();
  });

  /** A Keyport whose models carry `webSearchPrice` and `requestPrice` (started once). */
  async function startPriced(): Promise<RunningServer> {
    if (!priced) {
      pricedDb = await dialect.fresh();
      priced = await startKeyport(pricedDb, upstream, {
        extraUpstreams: pricedUpstreams(upstream.url),
      });
    }
    return priced;
  }

  /** What Keyport reserves for `body`: the `requested` of the `402` a one-micro-credit key gets. */
  async function requested(on: RunningServer, body: string): Promise<number> {
    const { key } = await mintKeyFor(on, { limit: 0.000001 });
    const response = await chat(on, key, body);
    expect(response.status, await response.clone().text()).toBe(402);
    const error = ((await response.json()) as ErrorBody).error;
    return Math.round((error.metadata?.requested as number) * 1e6);
  }

  /**
   * The 402 boundary: a key one micro-credit short of `worst` is refused before the upstream is
   * asked, a key with exactly `worst` is served. Returns what the upstream got.
   */
  async function expectBoundary(on: RunningServer, body: string, worst: number) {
    const before = upstream.requests.length;
    const short = await mintKeyFor(on, { limit: (worst - 1) / 1e6 });
    const refused = await chat(on, short.key, body);
    expect(refused.status, "a key one micro-credit short of the worst case").toBe(402);
    await refused.arrayBuffer();
    expect(upstream.requests).toHaveLength(before);
    const exact = await mintKeyFor(on, { limit: worst / 1e6 });
    const served = await chat(on, exact.key, body);
    expect(served.status, "a key with exactly the worst case").toBe(200);
    await served.text();
    expect(upstream.requests).toHaveLength(before + 1);
    return { seen: upstream.requests[before] as (typeof upstream.requests)[number], ...exact };
  }

  it("refuses what it cannot price with a 400 naming the field: nothing reserved, nothing forwarded", async () => {
    const forwarded = upstream.requests.length;
    const { key, hash } = await mintKeyFor(server, { limit: 1 });
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ plugins: [{ id: "file-parser" }] }, /plugins/],
      [{ plugins: [{ id: "web" }] }, /plugins/], // no webSearchPrice on priced/plain
      [{ plugins: [{ id: "web", max_results: 3 }, { id: "moderation" }] }, /plugins/],
      [{ plugins: "web" }, /plugins/],
      [{ web_search_options: {} }, /web_search_options/],
      [{ web_search_options: { search_context_size: "high" } }, /web_search_options/],
      [{ models: ["other/chat:extended"] }, /\bmodels\b/], // a variant nobody lists
      [{ models: ["priced/big", "nobody/serves-this"] }, /\bmodels\b/],
      [{ models: "priced/big" }, /\bmodels\b/],
      [{ max_tokens: 50, reasoning: { max_tokens: 51 } }, /reasoning\.max_tokens/],
      [{ reasoning: { max_tokens: 101 } }, /reasoning\.max_tokens/], // the model's bound is 100
      [{ service_tier: "priority" }, /service_tier/],
      [{ service_tier: "scale" }, /service_tier/],
      [{ modalities: ["text", "audio"] }, /modalities/],
      [{ modalities: ["image"] }, /modalities/],
      [{ audio: { voice: "alloy", format: "wav" } }, /\baudio\b/],
      [{ tools: [{ type: "web_search" }] }, /\btools\b/],
      [
        {
          tools: [
            { type: "function", function: { name: "f", parameters: { type: "object" } } },
            { type: "code_interpreter" },
          ],
        },
        /\btools\b/,
      ],
    ];
    for (const [fields, field] of cases) {
      const response = await chat(server, key, {
        model: "priced/plain",
        messages: user("hi"),
        ...fields,
      });
      const text = await response.text();
      expect(response.status, `${JSON.stringify(fields)} → ${text}`).toBe(400);
      const body = JSON.parse(text) as ErrorBody;
      expect(body.error.code).toBe(400);
      expect(body.error.message, JSON.stringify(fields)).toMatch(field);
    }
    expect(upstream.requests).toHaveLength(forwarded);
    expect(await server.store.findKey(hash)).toMatchObject({ reservedMicros: 0, usageMicros: 0 });
  });

  it("web search through the `plugins` web plugin on a model without a search price is refused naming `plugins`, on every upstream model", async () => {
    const forwarded = upstream.requests.length;
    const { key } = await mintKeyFor(server, { limit: 1 });
    for (const id of ["fake/chat", "priced/big", "other/chat"]) {
      const response = await chat(server, key, {
        model: id,
        messages: user("hi"),
        plugins: [{ id: "web", max_results: 1 }],
      });
      expect(response.status, id).toBe(400);
      expect(((await response.json()) as ErrorBody).error.message).toMatch(/plugins/);
    }
    expect(upstream.requests).toHaveLength(forwarded);
  });

  it("a `models` fallback list reserves for its most expensive entry; the upstream gets one upstream model id, no list", async () => {
    const body = JSON.stringify({
      model: "priced/plain",
      models: ["priced/plain", "priced/big"],
      max_tokens: 10,
      messages: user("hi"),
    });
    // priced/big: 100 micro-credits per completion token, ten times priced/plain.
    const worst = tokensWorstCase(body, 10, 100);
    expect(await requested(server, body)).toBe(worst);
    const { seen } = await expectBoundary(server, body, worst);
    expect(seen.body.model).toBe("up/plain");
    // Keyport walks the list itself (fallback tests): each call names one model.
    expect(seen.body.models).toBeUndefined();
  });

  it("the web plugin reserves max_results × the model's webSearchPrice (5 results when unset)", async () => {
    const on = await startPriced();
    for (const [plugin, results] of [
      [{ id: "web", max_results: 3 }, 3],
      [{ id: "web" }, 5],
      [{ id: "web", max_results: 100 }, 100],
    ] as const) {
      const body = JSON.stringify({
        model: "priced/search",
        max_tokens: 10,
        plugins: [plugin],
        messages: user("hi"),
      });
      const worst = tokensWorstCase(body, 10) + results * WEB_SEARCH_MICROS;
      expect(await requested(on, body), JSON.stringify(plugin)).toBe(worst);
      const { seen } = await expectBoundary(on, body, worst);
      const [forwarded] = seen.body.plugins as Record<string, unknown>[];
      expect(forwarded?.id).toBe("web");
      // The upstream may not return more results than were reserved for.
      if ("max_results" in plugin) expect(forwarded?.max_results).toBe(plugin.max_results);
      else expect([undefined, 5]).toContain(forwarded?.max_results);
    }
  });

  it("the web plugin's max_results must be 1..100 (400 naming `plugins`)", async () => {
    const on = await startPriced();
    const forwarded = upstream.requests.length;
    const { key } = await mintKeyFor(on, { limit: 1 });
    for (const max_results of [0, 101, 2.5, "5", -1]) {
      const response = await chat(on, key, {
        model: "priced/search",
        messages: user("hi"),
        plugins: [{ id: "web", max_results }],
      });
      expect(response.status, String(max_results)).toBe(400);
      expect(((await response.json()) as ErrorBody).error.message).toMatch(/plugins/);
    }
    expect(upstream.requests).toHaveLength(forwarded);
  });

  it("web_search_options reserves 5 × the model's webSearchPrice", async () => {
    const on = await startPriced();
    const body = JSON.stringify({
      model: "priced/search",
      max_tokens: 10,
      web_search_options: { search_context_size: "low" },
      messages: user("hi"),
    });
    const worst = tokensWorstCase(body, 10) + 5 * WEB_SEARCH_MICROS;
    expect(await requested(on, body)).toBe(worst);
    const { seen } = await expectBoundary(on, body, worst);
    expect(seen.body.web_search_options).toEqual({ search_context_size: "low" });
  });

  it("a model's requestPrice is part of every reservation and every settle, streamed or not", async () => {
    const on = await startPriced();
    for (const stream of [false, true]) {
      const body = JSON.stringify({
        model: "priced/fee",
        max_tokens: 10,
        stream,
        messages: user("hi"),
      });
      const worst = tokensWorstCase(body, 10) + REQUEST_FEE_MICROS;
      expect(await requested(on, body)).toBe(worst);
      const { hash } = await expectBoundary(on, body, worst);
      // The fake reports 10 prompt and 5 completion tokens: 10 + 50, plus the fee.
      const [row] = await querySql(
        pricedDb as TestDatabase,
        "SELECT cost_micros FROM requests WHERE key_hash = ?",
        [hash],
      );
      expect(Number(row?.cost_micros), `stream: ${stream}`).toBe(60 + REQUEST_FEE_MICROS);
      expect(await on.store.findKey(hash)).toMatchObject({
        usageMicros: 60 + REQUEST_FEE_MICROS,
        reservedMicros: 0,
      });
    }
  });

  it("a `prediction` is priced: its bytes count as extra completion tokens", async () => {
    const content = "x".repeat(400);
    const prediction = { type: "content", content };
    const body = JSON.stringify({
      model: "fake/chat",
      max_tokens: 10,
      prediction,
      messages: user("hi"),
    });
    const base = tokensWorstCase(body, 10);
    const forwarded = upstream.requests.length;
    const reserved = await requested(server, body);
    expect(reserved).toBeGreaterThanOrEqual(base + Buffer.byteLength(content) * 10);
    expect(reserved).toBeLessThanOrEqual(base + Buffer.byteLength(JSON.stringify(prediction)) * 10);
    // A key with room for the request without its prediction, but not with it.
    const { key } = await mintKeyFor(server, { limit: (base + 1000) / 1e6 });
    const response = await chat(server, key, body);
    expect(response.status).toBe(402);
    expect(upstream.requests).toHaveLength(forwarded);
    await expectBoundary(server, body, reserved);
  });

  it("the harmless values of those fields are forwarded as they are", async () => {
    const { key } = await mintKeyFor(server, { limit: 1 });
    const fine: Record<string, unknown>[] = [
      { service_tier: "auto" },
      { service_tier: "default" },
      { service_tier: "flex" },
      { modalities: ["text"] },
      { max_tokens: 50, reasoning: { max_tokens: 50 } },
      { tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }] },
      { models: ["priced/plain"] },
    ];
    for (const fields of fine) {
      const before = upstream.requests.length;
      const response = await chat(server, key, {
        model: "priced/plain",
        messages: user("hi"),
        ...fields,
      });
      expect(response.status, `${JSON.stringify(fields)} → ${await response.clone().text()}`).toBe(
        200,
      );
      await response.json();
      const seen = upstream.requests[before]?.body as Record<string, unknown>;
      for (const [name, value] of Object.entries(fields)) {
        if (name === "models") expect(seen.models).toBeUndefined();
        else if (name !== "max_tokens") expect(seen[name], name).toEqual(value);
      }
    }
  });
});
