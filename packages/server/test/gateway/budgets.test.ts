import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/index.js";
import { type Dialect, dialects, type TestDatabase } from "../support/databases.js";
import {
  chat,
  type FakeUpstream,
  keyInfo,
  mintKeyFor,
  runSql,
  startKeyport,
  startUpstream,
} from "./support.js";

/** A body of known size: its worst case is `bytes × 1 + 100 × 10` micro-credits. */
const BODY = JSON.stringify({
  model: "fake/gated",
  max_tokens: 100,
  messages: [{ role: "user", content: "count me" }],
});
const WORST_CASE_MICROS = Buffer.byteLength(BODY) + 100 * 10;

describe.each(dialects)("DESIGN invariant 8: budgets ($name)", (dialect: Dialect) => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let server: RunningServer;
  let now: number;

  beforeEach(async () => {
    db = await dialect.fresh();
    upstream = await startUpstream();
    now = Date.parse("2026-11-27T15:00:00Z"); // a Friday
    server = await startKeyport(db, upstream, { clock: () => new Date(now) });
  });
  afterEach(async () => {
    await server.close();
    await upstream.close();
    await db.drop();
  });

  it("20 concurrent requests against a key with room for 3: 3 forwarded, 17 refused with 402", async () => {
    const limit = (3.5 * WORST_CASE_MICROS) / 1e6;
    // The gated calls wait at the upstream for the whole test: not cut by the suite's 1 s timeout.
    await server.close();
    server = await startKeyport(db, upstream, {
      clock: () => new Date(now),
      config: { upstreamTimeoutMs: 60_000 },
    });
    const { key } = await mintKeyFor(server, { limit }, new Date(now));
    const pending = Array.from({ length: 20 }, () => chat(server, key, BODY));
    // The three that got through wait at the upstream until the rest have been answered.
    const refused: Response[] = [];
    const done = pending.map((p) =>
      p.then((response) => {
        if (response.status === 402) refused.push(response);
        return response;
      }),
    );
    // Refusals and the forwarded calls' arrival at the upstream race each other: wait for both
    // (bounded), then check that nothing beyond the three reached it.
    for (let waited = 0; waited < 6000; waited++) {
      if (refused.length >= 17 && upstream.requests.length >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(refused).toHaveLength(17);
    expect(upstream.requests).toHaveLength(3);
    upstream.release();
    const responses = await Promise.all(done);
    expect(responses.filter((r) => r.status === 200)).toHaveLength(3);
    const body = (await refused[0]?.json()) as {
      error: { code: number; message: string; metadata: Record<string, unknown> };
    };
    expect(body.error.code).toBe(402);
    expect(body.error.metadata.limit_source).toBe("key");
    expect(body.error.message).toMatch(/max_tokens/);
    const info = await keyInfo(server, key);
    expect(info.usage as number).toBeLessThanOrEqual(limit);
    expect(info.usage).toBeCloseTo((3 * (10 * 1 + 5 * 10)) / 1e6, 9);
    // Settled: nothing is held any more, so the full remainder is usable again.
    const stored = await server.store.findKey(
      (await import("../../src/domain/secrets.js")).sha256Hex(key),
    );
    expect(stored?.reservedMicros).toBe(0);
  }, 90_000);

  it("releases the reservation of a failed upstream call and bills nothing for it", async () => {
    const { key, hash } = await mintKeyFor(server, { limit: 1 }, new Date(now));
    const response = await chat(server, key, {
      model: "fake/500",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(response.status).toBe(502);
    const stored = await server.store.findKey(hash);
    expect(stored).toMatchObject({ reservedMicros: 0, usageMicros: 0 });
    const [record] = await server.store.listRequests(hash, 10);
    expect(record).toMatchObject({
      model: "fake/500",
      upstream: "fake",
      status: 502,
      costMicros: 0,
    });
  });

  it("records every request: key, model, upstream, tokens, cost, status, duration", async () => {
    const { key, hash } = await mintKeyFor(server, {}, new Date(now));
    await chat(server, key, { model: "fake/chat", messages: [{ role: "user", content: "hi" }] });
    await (
      await chat(server, key, {
        model: "fake/chat",
        stream: true,
        messages: [{ role: "user", content: "hi" }],
      })
    ).text();
    const records = await server.store.listRequests(hash, 10);
    expect(records).toHaveLength(2);
    for (const record of records) {
      expect(record).toMatchObject({
        keyHash: hash,
        model: "fake/chat",
        upstream: "fake",
        status: 200,
        promptTokens: 10,
        completionTokens: 5,
        costMicros: 60,
        usageEstimated: false,
      });
      expect(record.durationMs).toBeGreaterThanOrEqual(0);
      expect(record.createdAt.getTime()).toBe(now);
    }
    expect(records.map((r) => r.streamed).sort()).toEqual([false, true]);
  });

  it("uses the upstream's own usage.cost when it reports one (as OpenRouter does)", async () => {
    const { key, hash } = await mintKeyFor(server, {}, new Date(now));
    const body = (await (
      await chat(server, key, { model: "fake/cost", messages: [{ role: "user", content: "hi" }] })
    ).json()) as { usage: { cost: number } };
    expect(body.usage.cost).toBe(0.0042);
    expect((await server.store.findKey(hash))?.usageMicros).toBe(4200);
  });

  it("estimates usage when the upstream reports none, and says so in the record", async () => {
    const { key, hash } = await mintKeyFor(server, {}, new Date(now));
    const text = await (
      await chat(server, key, {
        model: "fake/no-usage",
        stream: true,
        messages: [{ role: "user", content: "hi" }],
      })
    ).text();
    // 28 characters streamed in 5 chunks: max(5, ceil(28 / 4)) = 7 completion tokens.
    expect(text).toMatch(/"usage":\{"prompt_tokens":\d+,"completion_tokens":7,/);
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    const [record] = await server.store.listRequests(hash, 1);
    expect(record).toMatchObject({ usageEstimated: true, completionTokens: 7 });
    expect(record?.costMicros).toBeGreaterThan(0);
  });

  it("a daily limit applies to today's usage (UTC) and frees up at midnight", async () => {
    const chatBody = JSON.stringify({
      model: "fake/chat",
      max_tokens: 100,
      messages: [{ role: "user", content: "hi" }],
    });
    const worstCase = Buffer.byteLength(chatBody) + 100 * 10;
    // Room for the worst case plus 100: two requests of 60 fit, the third would not.
    const limit = (worstCase + 100) / 1e6;
    const { key } = await mintKeyFor(server, { limit, limitReset: "daily" }, new Date(now));
    const ask = async () => (await chat(server, key, chatBody)).status;
    expect([await ask(), await ask(), await ask()]).toEqual([200, 200, 402]);
    expect(await keyInfo(server, key)).toMatchObject({
      usage_daily: 0.00012,
      limit_remaining: limit - 0.00012,
    });

    now = Date.parse("2026-11-28T00:00:00Z"); // the next UTC day
    expect(await keyInfo(server, key)).toMatchObject({
      usage_daily: 0,
      usage_weekly: 0.00012,
      limit_remaining: limit,
    });
    expect([await ask(), await ask(), await ask()]).toEqual([200, 200, 402]);
    expect(await keyInfo(server, key)).toMatchObject({
      usage_daily: 0.00012,
      usage_weekly: 0.00024,
      usage: 0.00024,
    });
  });

  it("a lifetime limit (no limit_reset) never frees up", async () => {
    const { key } = await mintKeyFor(server, { limit: 0.0011 }, new Date(now));
    const body = JSON.stringify({
      model: "fake/chat",
      max_tokens: 100,
      messages: [{ role: "user", content: "hi" }],
    });
    expect((await chat(server, key, body)).status).toBe(200);
    expect((await chat(server, key, body)).status).toBe(402);
    now += 40 * 86_400_000;
    expect((await chat(server, key, body)).status).toBe(402);
  });

  it("weeks start on Monday (UTC), months on the 1st", async () => {
    const { key } = await mintKeyFor(server, {}, new Date(now));
    await chat(server, key, {
      model: "keyport/echo",
      messages: [{ role: "user", content: "one" }],
    });
    now = Date.parse("2026-11-29T23:59:59Z"); // Sunday: same week, same month
    expect(await keyInfo(server, key)).toMatchObject({
      usage_daily: 0,
      usage_weekly: 0.000003,
      usage_monthly: 0.000003,
    });
    now = Date.parse("2026-11-30T00:00:00Z"); // Monday: new week, same month
    expect(await keyInfo(server, key)).toMatchObject({ usage_weekly: 0, usage_monthly: 0.000003 });
    now = Date.parse("2026-12-01T00:00:00Z"); // new month
    expect(await keyInfo(server, key)).toMatchObject({ usage_monthly: 0, usage: 0.000003 });
  });

  it("refuses expired keys (401) and disabled keys (403) on every request", async () => {
    const { key } = await mintKeyFor(
      server,
      { expiresAt: new Date(now + 3_600_000) },
      new Date(now),
    );
    const body = { model: "keyport/echo", messages: [{ role: "user", content: "hi" }] };
    expect((await chat(server, key, body)).status).toBe(200);
    now += 2 * 3_600_000;
    const expired = await chat(server, key, body);
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual({ error: { code: 401, message: "Key expired" } });

    const other = await mintKeyFor(server, {}, new Date(now));
    expect((await chat(server, other.key, body)).status).toBe(200);
    await runSql(db, "UPDATE keys SET disabled = 1 WHERE hash = ?", [other.hash]);
    const disabled = await chat(server, other.key, body);
    expect(disabled.status).toBe(403);
    expect(await disabled.json()).toEqual({ error: { code: 403, message: "Key is disabled" } });
  });

  it("keeps usage and records across a restart", async () => {
    const { key, hash } = await mintKeyFor(server, { limit: 1 }, new Date(now));
    await chat(server, key, { model: "fake/chat", messages: [{ role: "user", content: "hi" }] });
    const before = await keyInfo(server, key);
    await server.close();
    server = await startKeyport(db, upstream, { clock: () => new Date(now) });
    expect(await keyInfo(server, key)).toEqual(before);
    expect(await server.store.listRequests(hash, 10)).toHaveLength(1);
  });
});
