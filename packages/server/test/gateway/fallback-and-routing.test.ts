import { describe, expect, it } from "vitest";
import { type Dialect, dialects } from "../support/databases.js";
import { useEndpointsKeyport } from "./endpoints-keyport.js";
import { dataEvents, endpointsUpstreams, generation, post } from "./endpoints-support.js";
import { keyInfo, mintKeyFor } from "./support.js";

type ErrorBody = { error: { code: number; message: string } };

const hi = [{ role: "user", content: "hi" }];

describe.each(dialects)(
  "models fallbacks, provider preferences and variants ($name)",
  (dialect: Dialect) => {
    const running = useEndpointsKeyport(dialect, (url) => {
      const model = (id: string, extra: Record<string, unknown> = {}) => ({
        id,
        promptPrice: 0.000001,
        completionPrice: 0.00001,
        maxTokens: 100,
        ...extra,
      });
      return [
        ...endpointsUpstreams(url),
        {
          name: "router",
          baseUrl: url,
          kind: "openrouter",
          models: [model("or/ok"), model("or/search", { webSearchPrice: 0.00002 })],
        },
      ];
    });

    it("walks the list past a 500, a 429 and a refused connection, and bills the model that served at its price", async () => {
      const { key } = await mintKeyFor(running.server, { limit: 1 });
      const before = running.upstream.seen.length;
      const response = await post(running.server.url, "/chat/completions", key, {
        model: "up/500",
        models: ["up/429", "dead/model", "up/dear-ok"],
        messages: hi,
        max_tokens: 10,
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { model: string; usage: { cost: number } };
      expect(body.model).toBe("up/dear-ok");
      // up/dear-ok: 10 prompt tokens × 1 micro + 5 completion tokens × 100 micro.
      expect(body.usage.cost).toBe(0.00051);
      const tried = running.upstream.seen.slice(before);
      expect(tried.map((seen) => seen.body.model)).toEqual(["up/500", "up/429", "up/dear-ok"]);
      for (const seen of tried) expect(seen.body.models).toBeUndefined();
      expect(
        await generation(running.server.url, key, response.headers.get("x-request-id")),
      ).toMatchObject({
        model: "up/dear-ok",
        total_cost: 0.00051,
        status: 200,
      });
      expect((await keyInfo(running.server, key)).usage).toBeCloseTo(0.00051, 9);
    });

    it("falls back before the first byte of a stream, and past a 200 that carries an error", async () => {
      const { key } = await mintKeyFor(running.server, { limit: 1 });
      const streamed = await post(running.server.url, "/chat/completions", key, {
        model: "up/429",
        models: ["up/ok"],
        messages: hi,
        stream: true,
      });
      const events = dataEvents(await streamed.text());
      const text = events
        .map(
          (event) => (event.choices as { delta?: { content?: string } }[])[0]?.delta?.content ?? "",
        )
        .join("");
      expect(text).toBe("Hello from the loopback");
      expect(events.at(-1)?.usage).toMatchObject({ cost: 0.00006 });
      const lying = await post(running.server.url, "/chat/completions", key, {
        model: "up/err200",
        models: ["up/ok"],
        messages: hi,
      });
      expect(lying.status).toBe(200);
      expect(((await lying.json()) as { model: string }).model).toBe("up/ok");
      expect((await keyInfo(running.server, key)).usage).toBeCloseTo(0.00012, 9);
    });

    it("a greedy fallback is charged no more than the reservation, priced at the dearest entry", async () => {
      const { key } = await mintKeyFor(running.server, { limit: 1 });
      const raw = JSON.stringify({
        model: "up/500",
        models: ["up/greedy", "up/dear-ok"],
        messages: hi,
        max_tokens: 10,
      });
      const response = await post(running.server.url, "/chat/completions", key, raw);
      expect(response.status).toBe(200);
      // Reserved at up/dear-ok's prices: the body's bytes × 1 micro + 10 tokens × 100 micro.
      const reserved = (Buffer.byteLength(raw) + 10 * 100) / 1_000_000;
      expect(((await response.json()) as { usage: { cost: number } }).usage.cost).toBeCloseTo(
        reserved,
        9,
      );
      expect((await keyInfo(running.server, key)).usage).toBeCloseTo(reserved, 9);
    });

    it("when every model fails, the last failure is answered and nothing is billed; a 400 is not retried", async () => {
      const { key } = await mintKeyFor(running.server, { limit: 1 });
      const all = await post(running.server.url, "/chat/completions", key, {
        model: "up/500",
        models: ["up/429"],
        messages: hi,
      });
      expect(all.status).toBe(429);
      expect(all.headers.get("retry-after")).toBe("3");
      expect(await all.text()).not.toMatch(/db\.internal/);
      const before = running.upstream.seen.length;
      const refused = await post(running.server.url, "/chat/completions", key, {
        model: "fake/400",
        models: ["up/ok"],
        messages: hi,
      });
      expect(refused.status).toBe(400);
      expect(running.upstream.seen.length).toBe(before);
      expect((await keyInfo(running.server, key)).usage).toBe(0);
    });

    it("falls back across upstreams, recording the running.upstream that served; a timed-out call is not retried and keeps its reservation", async () => {
      const { key } = await mintKeyFor(running.server, { limit: 1 });
      const across = await post(running.server.url, "/chat/completions", key, {
        model: "fake/500",
        models: ["up/ok"],
        messages: hi,
      });
      expect(across.status).toBe(200);
      expect(
        await generation(running.server.url, key, across.headers.get("x-request-id")),
      ).toMatchObject({
        model: "up/ok",
        provider_name: "up",
      });
      const spent = (await keyInfo(running.server, key)).usage as number;
      const before = running.upstream.seen.length;
      const raw = JSON.stringify({
        model: "fake/hang",
        models: ["up/ok"],
        messages: hi,
        max_tokens: 10,
      });
      const hung = await post(running.server.url, "/chat/completions", key, raw);
      expect(hung.status).toBe(408);
      expect(running.upstream.seen.length).toBe(before);
      // It may have been generating: the whole reservation stays spent (both at 10 micro per token).
      const reserved = (Buffer.byteLength(raw) + 10 * 10) / 1_000_000;
      expect((await keyInfo(running.server, key)).usage).toBeCloseTo(spent + reserved, 9);
    });

    it("provider preferences reach OpenRouter upstreams only; a non-object is a 400", async () => {
      const { key } = await mintKeyFor(running.server, { limit: 1 });
      const provider = { order: ["Fast"], allow_fallbacks: false, data_collection: "deny" };
      const before = running.upstream.seen.length;
      for (const model of ["up/ok", "or/ok"]) {
        const response = await post(running.server.url, "/chat/completions", key, {
          model,
          provider,
          messages: hi,
        });
        expect(response.status, model).toBe(200);
      }
      expect(running.upstream.seen[before]?.body.provider).toBeUndefined();
      expect(running.upstream.seen[before + 1]?.body.provider).toEqual(provider);
      for (const bad of ["Fast", ["Fast"], 1]) {
        const response = await post(running.server.url, "/chat/completions", key, {
          model: "or/ok",
          provider: bad,
          messages: hi,
        });
        expect(response.status).toBe(400);
        expect(((await response.json()) as ErrorBody).error.message).toMatch(/provider/);
      }
      expect(running.upstream.seen.length).toBe(before + 2);
    });

    it("model variants: routing ones to OpenRouter only, :online priced as the web plugin, unknown ones a 400 naming the suffix", async () => {
      const { key } = await mintKeyFor(running.server, { limit: 1 });
      const before = running.upstream.seen.length;
      const nitro = await post(running.server.url, "/chat/completions", key, {
        model: "or/ok:nitro",
        messages: hi,
      });
      expect(nitro.status).toBe(200);
      expect(running.upstream.seen[before]?.body.model).toBe("or/ok:nitro");
      const online = await post(running.server.url, "/chat/completions", key, {
        model: "or/search:online",
        messages: hi,
      });
      expect(online.status).toBe(200);
      expect(running.upstream.seen[before + 1]?.body).toMatchObject({
        model: "or/search",
        plugins: [{ id: "web" }],
      });
      // 10 × 1 + 5 × 10 micro, plus 5 search results × 20 micro (the running.upstream reported no cost).
      expect(((await online.json()) as { usage: { cost: number } }).usage.cost).toBeCloseTo(
        0.00016,
        9,
      );
      for (const [model, why] of [
        ["or/ok:bogus", /unknown model variant suffix :bogus/],
        ["up/ok:nitro", /only served through OpenRouter/],
        ["or/ok:free", /not listed/],
        ["or/ok:online", /web search is not offered/],
        ["nobody/here:nitro", /not a valid model ID/],
      ] as const) {
        const response = await post(running.server.url, "/chat/completions", key, {
          model,
          messages: hi,
        });
        expect(response.status, model).toBe(400);
        expect(((await response.json()) as ErrorBody).error.message, model).toMatch(why);
      }
      expect(running.upstream.seen.length).toBe(before + 2);
    });
  },
);
