import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RunningServer } from "../../src/index.js";
import { type Dialect, dialects, type TestDatabase } from "../support/databases.js";
import {
  COMPLETION_PRICE,
  chat,
  type FakeUpstream,
  keyInfo,
  mintKeyFor,
  PROMPT_PRICE,
  startKeyport,
  startUpstream,
} from "./support.js";

type ErrorBody = { error: { code: number; message: string; metadata?: Record<string, unknown> } };

const user = (content: unknown) => [{ role: "user", content }];

/** The worst case Keyport should reserve: body bytes + `completion` tokens (1 and 10 micros). */
const worstCase = (body: string, completionTokens: number) =>
  Buffer.byteLength(body) + completionTokens * 10;

describe.each(dialects)(
  "DESIGN invariant 8: reservations bound the cost ($name)",
  (dialect: Dialect) => {
    let db: TestDatabase;
    let upstream: FakeUpstream;
    let server: RunningServer;

    beforeEach(async () => {
      db = await dialect.fresh();
      upstream = await startUpstream();
      server = await start();
    });
    afterEach(async () => {
      vi.restoreAllMocks();
      await server.close();
      await upstream.close();
      await db.drop();
    });

    /** Keyport with, besides the fake models, `open/greedy` (no maximum) and `pricey/greedy`. */
    function start(config: Record<string, unknown> = {}) {
      const greedy = (id: string, completionPrice: number) => ({
        id,
        upstreamModel: "fake/greedy",
        promptPrice: PROMPT_PRICE,
        completionPrice,
      });
      return startKeyport(db, upstream, {
        config,
        extraUpstreams: [
          {
            name: "open",
            baseUrl: upstream.url,
            models: [greedy("open/greedy", COMPLETION_PRICE)],
          },
          { name: "pricey", baseUrl: upstream.url, models: [greedy("pricey/greedy", 1000)] },
        ],
      });
    }

    /** Sends `count` copies of `body` at once; the statuses, in order. */
    async function burst(key: string, body: string, count: number): Promise<number[]> {
      const responses = await Promise.all(
        Array.from({ length: count }, () => chat(server, key, body)),
      );
      await Promise.all(responses.map((response) => response.arrayBuffer()));
      return responses.map((response) => response.status);
    }

    it("the reported repro: 8 concurrent n=50 requests on a 0.001 key are all refused", async () => {
      const { key } = await mintKeyFor(server, { limit: 0.001 });
      const body = JSON.stringify({
        model: "fake/greedy",
        max_tokens: 20,
        n: 50,
        messages: user("hi"),
      });
      expect(await burst(key, body, 8)).toEqual(Array(8).fill(402));
      expect(upstream.requests).toHaveLength(0);
      expect((await keyInfo(server, key)).usage).toBe(0);
    });

    it("concurrent n-requests to an upstream billing n × max_tokens never pass the limit", async () => {
      const body = JSON.stringify({
        model: "fake/greedy",
        max_tokens: 20,
        n: 5,
        messages: user("hi"),
      });
      const limit = (3.5 * worstCase(body, 5 * 20)) / 1e6;
      const { key } = await mintKeyFor(server, { limit });
      const statuses = await burst(key, body, 8);
      expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(3);
      expect(statuses.filter((status) => status !== 200).every((status) => status === 402)).toBe(
        true,
      );
      const info = await keyInfo(server, key);
      expect(info.usage as number).toBeLessThanOrEqual(limit);
      // Each forwarded request cost its full n × max_tokens: 10 + 5 × 20 × 10 micro-credits.
      const forwarded = statuses.filter((status) => status === 200).length;
      expect(info.usage).toBeCloseTo((forwarded * (10 + 1000)) / 1e6, 9);
      for (const seen of upstream.requests) expect(seen.body.n).toBe(5);
    });

    it("best_of counts like n when it is the larger", async () => {
      const body = JSON.stringify({
        model: "fake/greedy",
        max_tokens: 20,
        n: 1,
        best_of: 40,
        messages: user("hi"),
      });
      const { key } = await mintKeyFor(server, { limit: 0.000001 });
      const refused = (await (await chat(server, key, body)).json()) as ErrorBody;
      expect(refused.error.metadata?.requested).toBeCloseTo(worstCase(body, 40 * 20) / 1e6, 9);
    });

    it("both token fields: the larger is reserved and forwarded in both, so concurrency cannot overspend", async () => {
      const body = JSON.stringify({
        model: "fake/greedy",
        max_completion_tokens: 1,
        max_tokens: 500,
        messages: user("hi"),
      });
      const limit = (2.5 * worstCase(body, 500)) / 1e6;
      const { key } = await mintKeyFor(server, { limit });
      const statuses = await burst(key, body, 8);
      expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(2);
      expect((await keyInfo(server, key)).usage as number).toBeLessThanOrEqual(limit);
      for (const seen of upstream.requests) {
        expect(seen.body).toMatchObject({ max_tokens: 500, max_completion_tokens: 500 });
      }
    });

    it("the reported repro: max_completion_tokens 1 with max_tokens 5000 is clamped in both fields", async () => {
      const body = JSON.stringify({
        model: "fake/greedy", // maxTokens 1000
        max_completion_tokens: 1,
        max_tokens: 5000,
        messages: user("hi"),
      });
      const limit = worstCase(body, 1000) / 1e6;
      const { key } = await mintKeyFor(server, { limit: 0.001 });
      expect(await burst(key, body, 8)).toEqual(Array(8).fill(402));
      const roomy = await mintKeyFor(server, { limit });
      expect(await burst(roomy.key, body, 8)).toContain(200);
      expect((await keyInfo(server, roomy.key)).usage as number).toBeLessThanOrEqual(limit);
      expect(upstream.requests).toHaveLength(1);
      expect(upstream.requests[0]?.body).toMatchObject({
        max_tokens: 1000,
        max_completion_tokens: 1000,
      });
    });

    it("non-text content parts reserve the configured worst case each", async () => {
      const { key } = await mintKeyFor(server, { limit: 0.000001 });
      const requested = async (content: unknown) => {
        const body = JSON.stringify({ model: "fake/chat", max_tokens: 1, messages: user(content) });
        const response = await chat(server, key, body);
        expect(response.status).toBe(402);
        const micros = ((await response.json()) as ErrorBody).error.metadata?.requested as number;
        return Math.round(micros * 1e6) - worstCase(body, 1);
      };
      expect(await requested("what is this?")).toBe(0);
      expect(await requested([{ type: "text", text: "what is this?" }])).toBe(0);
      expect(
        await requested([
          { type: "text", text: "what is this?" },
          { type: "image_url", image_url: { url: "https://example.com/a.png" } },
        ]),
      ).toBe(10_000);
      expect(
        await requested([
          { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } },
          { type: "file", file: { file_id: "file-1" } },
        ]),
      ).toBe(20_000);

      await server.close();
      server = await start({ nonTextPartTokens: 64 });
      const other = await mintKeyFor(server, { limit: 0.000001 });
      const body = JSON.stringify({
        model: "fake/chat",
        max_tokens: 1,
        messages: user([{ type: "image_url", image_url: { url: "https://example.com/a.png" } }]),
      });
      const refused = (await (await chat(server, other.key, body)).json()) as ErrorBody;
      expect(refused.error.metadata?.requested).toBeCloseTo((worstCase(body, 1) + 64) / 1e6, 9);
    });

    it("refuses over-large token counts and choice counts with 400, before reserving anything", async () => {
      const { key, hash } = await mintKeyFor(server, {});
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ max_tokens: 1_000_001 }, /max_tokens/],
        [{ max_completion_tokens: 2 ** 53 - 1 }, /max_completion_tokens/],
        [{ max_tokens: 10, n: 129 }, /\bn\b/],
        [{ max_tokens: 10, n: 0 }, /\bn\b/],
        [{ max_tokens: 10, n: 2.5 }, /\bn\b/],
        [{ max_tokens: 10, best_of: 1000 }, /best_of/],
      ];
      for (const [fields, field] of cases) {
        const response = await chat(server, key, {
          model: "open/greedy", // no maximum of its own
          messages: user("hi"),
          ...fields,
        });
        expect(response.status, JSON.stringify(fields)).toBe(400);
        const body = (await response.json()) as ErrorBody;
        expect(body.error.code).toBe(400);
        expect(body.error.message).toMatch(field);
      }
      expect(upstream.requests).toHaveLength(0);
      expect(await server.store.findKey(hash)).toMatchObject({ reservedMicros: 0, usageMicros: 0 });
    });

    it("an unlimited key's largest allowed request reserves and settles in range", async () => {
      const { key, hash } = await mintKeyFor(server, {});
      const response = await chat(server, key, {
        model: "open/greedy",
        max_tokens: 1_000_000,
        n: 128,
        messages: user("hi"),
      });
      expect(response.status).toBe(200);
      await response.json();
      // 128 choices × 1,000,000 tokens × 10 micro-credits, plus 10 prompt tokens.
      expect(await server.store.findKey(hash)).toMatchObject({
        reservedMicros: 0,
        usageMicros: 1_280_000_010,
      });
    });

    it("refuses with 400 a worst case beyond what one request may reserve", async () => {
      const { key, hash } = await mintKeyFor(server, {});
      const response = await chat(server, key, { model: "pricey/greedy", messages: user("hi") });
      expect(response.status).toBe(400);
      expect(((await response.json()) as ErrorBody).error.message).toMatch(/may reserve/);
      expect(upstream.requests).toHaveLength(0);
      expect(await server.store.findKey(hash)).toMatchObject({ reservedMicros: 0 });
    });

    it("charges at most the reservation when an upstream reports more; the overrun is logged (naming model and upstream, never the key) and recorded", async () => {
      const errors = vi.spyOn(console, "error").mockImplementation(() => {});
      const { key, hash } = await mintKeyFor(server, {});
      const fits = await chat(server, key, { model: "fake/chat", messages: user("hi") });
      await fits.json();
      expect(errors).not.toHaveBeenCalled();

      // fake/cost reports usage.cost 0.0042, far above the worst case of a 1-token request.
      for (const stream of [false, true]) {
        const response = await chat(server, key, {
          model: "fake/cost",
          max_tokens: 1,
          stream,
          messages: user("hi"),
        });
        expect(response.status).toBe(200);
        await response.text();
      }
      expect(errors).toHaveBeenCalledTimes(2);
      for (const [line] of errors.mock.calls) {
        expect(line).toMatch(/overrun.*"fake\/cost".*upstream "fake".*cost 0\.0042 credits/);
        expect(String(line)).not.toContain("\n");
        expect(String(line)).not.toContain(key);
        expect(String(line)).not.toContain(hash);
      }
      const records = (await server.store.listRequests(hash, 10)).filter(
        (record) => record.model === "fake/cost",
      );
      expect(records).toHaveLength(2);
      let charged = 0;
      for (const record of records) {
        // Charged its reservation (a few dozen micro-credits), the rest is the operator's.
        expect(record.costMicros).toBeGreaterThan(0);
        expect(record.costMicros).toBeLessThan(4200);
        expect(record.costMicros + record.overrunMicros).toBe(4200);
        // The upstream's report stays on record.
        expect([record.promptTokens, record.completionTokens]).toEqual([10, 5]);
        charged += record.costMicros;
      }
      const stored = await server.store.findKey(hash);
      expect(stored?.usageMicros).toBe(60 + charged);
    });
  },
);
