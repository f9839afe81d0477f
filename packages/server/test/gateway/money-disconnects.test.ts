import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/index.js";
import type { RequestRecord } from "../../src/store/store.js";
import { type Dialect, dialects, type TestDatabase } from "../support/databases.js";
import {
  COMPLETION_PRICE,
  chat,
  eventually,
  type FakeUpstream,
  mintKeyFor,
  PROMPT_PRICE,
  rawChatRequest,
  type SeenRequest,
  startKeyport,
  startUpstream,
  UPSTREAM_SECRET,
  type UpstreamOptions,
} from "./support.js";

/**
 * Issue 8, item 3: a client that hangs up is billed what the upstream produced. Not streamed,
 * the upstream call completes and its usage is settled; streamed, the upstream is cancelled and
 * the settle is at least the prompt plus what was received, the upstream's exact figure where it
 * can tell one (`GET /generation?id=`), else the full reservation.
 *
 * Prices: 1 micro-credit per prompt token, 10 per completion token; a request reserves its body's
 * bytes plus `max_tokens × 10`. `fake/flood` sends one token (`" tok"`) per chunk.
 */

/**
 * A server whose client hung up mid-stream takes seconds to close its last connection; the tests
 * here do not wait for that. A paused reader leaves the upstream unread for a while: a generous
 * upstream timeout keeps that from ending the stream on a loaded machine.
 */
const FAST_SHUTDOWN = { shutdownGraceMs: 200, upstreamTimeoutMs: 10_000 };

const user = (content: string) => [{ role: "user", content }];
const reservationOf = (body: string, completionTokens: number) =>
  Buffer.byteLength(body) + completionTokens * 10;
/** What the fake upstream's generation costs: 10 prompt tokens plus what it generated. */
const generatedCost = (seen: SeenRequest) => 10 + seen.generated * 10;

const flood = (id: string) => ({
  id,
  upstreamModel: "fake/flood",
  promptPrice: PROMPT_PRICE,
  completionPrice: COMPLETION_PRICE,
  maxTokens: 20_000,
});

/** `lookup/flood` on an upstream that answers `GET /generation`; `plain/flood` on one that does not. */
const floodUpstreams = (url: string, lookup: boolean) => [
  { name: "plain", baseUrl: url, apiKeyEnv: "FAKE_UPSTREAM_KEY", models: [flood("plain/flood")] },
  ...(lookup
    ? [
        {
          name: "lookup",
          baseUrl: url,
          apiKeyEnv: "FAKE_UPSTREAM_KEY",
          generationLookup: true,
          models: [flood("lookup/flood")],
        },
      ]
    : []),
];

/** A streamed response read chunk by chunk, counting the fake's tokens as they arrive. */
class StreamReader {
  text = "";
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  constructor(response: Response) {
    this.reader = (response.body as ReadableStream<Uint8Array>).getReader();
  }
  get tokens(): number {
    return this.text.split('"content":" tok"').length - 1;
  }
  /** Reads until `done()` holds (or the stream ends). */
  async until(done: () => boolean): Promise<void> {
    while (!done()) {
      const { value, done: ended } = await this.reader.read();
      if (ended) return;
      this.text += this.decoder.decode(value, { stream: true });
    }
  }
}

/**
 * A client that reads a few tokens and then stops reading (its socket paused, so the kernel's
 * buffers fill and Keyport relays nothing more), until it hangs up with `abort()`.
 */
async function slowReader(on: RunningServer, key: string, body: string, tokens: number) {
  let text = "";
  const request = rawChatRequest(on, key, body);
  request.end(body);
  const [response] = (await once(request, "response")) as [IncomingMessage];
  response.on("error", () => {});
  expect(response.statusCode).toBe(200);
  response.setEncoding("utf8");
  const read = () => text.split('"content":" tok"').length - 1;
  await new Promise<void>((resolve) => {
    const onData = (chunk: string) => {
      text += chunk;
      if (read() >= tokens) {
        response.off("data", onData);
        response.pause();
        resolve();
      }
    };
    response.on("data", onData);
  });
  return { tokens: read(), abort: () => request.destroy() };
}

describe.each(dialects)("issue 8.3: client disconnects are billed ($name)", (dialect: Dialect) => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let server: RunningServer;
  /** Keyports with the flood upstreams, by configuration, started once each. */
  const floods = new Map<
    string,
    { on: RunningServer; fake: FakeUpstream; own: boolean; db: TestDatabase }
  >();

  beforeAll(async () => {
    db = await dialect.fresh();
    upstream = await startUpstream();
    server = await startKeyport(db, upstream, { config: FAST_SHUTDOWN });
  });
  afterAll(async () => {
    for (const flood of floods.values()) {
      await flood.on.close();
      if (flood.own) await flood.fake.close();
      await flood.db.drop();
    }
    await server.close();
    await upstream.close();
    await db.drop();
  });

  /**
   * A Keyport with `plain/flood` (and `lookup/flood` when `lookup`), on `upstream` or on a fake
   * started with `options`; `before` is where this test's requests start in `fake.requests`.
   */
  async function startFlood(lookup: boolean, options?: UpstreamOptions) {
    const name = `${lookup}:${JSON.stringify(options ?? {})}`;
    let flood = floods.get(name);
    if (!flood) {
      const fake = options ? await startUpstream(options) : upstream;
      // Its own database: one server per SQLite file.
      const own = await dialect.fresh();
      const on = await startKeyport(own, fake, {
        config: FAST_SHUTDOWN,
        extraUpstreams: floodUpstreams(fake.url, lookup),
      });
      flood = { on, fake, own: options !== undefined, db: own };
      floods.set(name, flood);
    }
    return { on: flood.on, fake: flood.fake, before: flood.fake.requests.length };
  }

  async function settledRecord(on: RunningServer, hash: string): Promise<RequestRecord> {
    return eventually(async () => (await on.store.listRequests(hash, 1))[0]);
  }

  it("not streamed: the upstream call completes after the client hung up, and its usage is settled (499)", async () => {
    const before = upstream.requests.length;
    const { key, hash } = await mintKeyFor(server, { limit: 1 });
    const controller = new AbortController();
    const pending = chat(
      server,
      key,
      { model: "fake/late", max_tokens: 20, messages: user("hi") },
      { signal: controller.signal },
    ).catch((error: unknown) => error);
    const seen = await eventually(() => upstream.requests[before]);
    controller.abort();
    await pending;
    await eventually(() => (seen.finished ? true : undefined));
    expect(seen.aborted).toBe(false);
    const record = await settledRecord(server, hash);
    // fake/late reports 10 prompt and 5 completion tokens: 10 + 50 micro-credits.
    expect(record).toMatchObject({
      status: 499,
      streamed: false,
      promptTokens: 10,
      completionTokens: 5,
      costMicros: 60,
    });
    expect(await server.store.findKey(hash)).toMatchObject({ reservedMicros: 0, usageMicros: 60 });
  });

  it("streamed, no way to learn the cost: the upstream is cancelled and the full reservation stays spent", async () => {
    const before = upstream.requests.length;
    const { key, hash } = await mintKeyFor(server, { limit: 1 });
    const body = JSON.stringify({
      model: "fake/endless",
      stream: true,
      max_tokens: 100,
      messages: user("hi"),
    });
    const controller = new AbortController();
    const reader = new StreamReader(await chat(server, key, body, { signal: controller.signal }));
    await reader.until(() => (reader.text.match(/word\d+/g) ?? []).length >= 5);
    controller.abort();
    const seen = upstream.requests[before] as SeenRequest;
    await eventually(() => (seen.aborted ? true : undefined));
    const record = await settledRecord(server, hash);
    expect(record.status).toBe(499);
    expect(record.costMicros).toBe(reservationOf(body, 100));
    expect(await server.store.findKey(hash)).toMatchObject({
      reservedMicros: 0,
      usageMicros: reservationOf(body, 100),
    });
  });

  it("streamed, the upstream's usage chunk already arrived: that usage is what is billed", async () => {
    const { key, hash } = await mintKeyFor(server, { limit: 1 });
    const controller = new AbortController();
    const reader = new StreamReader(
      await chat(
        server,
        key,
        { model: "fake/linger", stream: true, max_tokens: 100, messages: user("hi") },
        { signal: controller.signal },
      ),
    );
    await reader.until(() => reader.text.includes('"usage"'));
    controller.abort();
    const record = await settledRecord(server, hash);
    expect(record).toMatchObject({ status: 499, costMicros: 60 });
    expect(await server.store.findKey(hash)).toMatchObject({ reservedMicros: 0, usageMicros: 60 });
  });

  it("streamed, upstream with generationLookup: Keyport asks GET /generation?id= and bills at least that figure", async () => {
    const { on, fake, before } = await startFlood(true);
    const { key, hash } = await mintKeyFor(on, { limit: 10 });
    const body = JSON.stringify({
      model: "lookup/flood",
      stream: true,
      max_tokens: 20_000,
      messages: user("hi"),
    });
    const controller = new AbortController();
    const reader = new StreamReader(await chat(on, key, body, { signal: controller.signal }));
    await reader.until(() => reader.tokens >= 5);
    const seen = fake.requests[before] as SeenRequest;
    await eventually(() => (seen.generated >= 2000 ? true : undefined));
    controller.abort();
    await eventually(() => (seen.aborted ? true : undefined));
    const record = await settledRecord(on, hash);
    expect(record.status).toBe(499);
    const lookup = fake.lookups.find((entry) => entry.id === seen.id);
    expect(lookup, "a GET /generation for the stream's id").toBeDefined();
    expect(lookup?.authorization).toBe(`Bearer ${UPSTREAM_SECRET}`);
    const reserved = reservationOf(body, 20_000);
    expect(record.costMicros).toBeGreaterThanOrEqual(
      Math.min(reserved, Math.round((lookup?.totalCost ?? 0) * 1e6)),
    );
    expect(record.costMicros).toBeGreaterThanOrEqual(generatedCost(seen));
    expect(record.costMicros).toBeLessThanOrEqual(reserved);
    expect(await on.store.findKey(hash)).toMatchObject({
      reservedMicros: 0,
      usageMicros: record.costMicros,
    });
  });

  it("streamed, an upstream figure below what was received: still billed the prompt plus everything received", async () => {
    const { on, fake } = await startFlood(true, { understateLookups: true });
    const { key, hash } = await mintKeyFor(on, { limit: 10 });
    const controller = new AbortController();
    const reader = new StreamReader(
      await chat(
        on,
        key,
        { model: "lookup/flood", stream: true, max_tokens: 20_000, messages: user("hi") },
        { signal: controller.signal },
      ),
    );
    await reader.until(() => reader.tokens >= 300);
    controller.abort();
    const record = await settledRecord(on, hash);
    expect(record.status).toBe(499);
    expect(fake.lookups.length).toBeGreaterThanOrEqual(1);
    // Every token the client got came through Keyport, plus a prompt that costs something.
    expect(record.costMicros).toBeGreaterThan(reader.tokens * 10);
    expect(record.promptTokens).toBeGreaterThan(0);
    expect(record.completionTokens).toBeGreaterThanOrEqual(reader.tokens);
  });

  for (const model of ["lookup/flood", "plain/flood"]) {
    it(`a stream that generated far more than it relayed (slow reader hangs up) is billed at least what the upstream generated (${model})`, async () => {
      const { on, fake, before } = await startFlood(model === "lookup/flood");
      const { key, hash } = await mintKeyFor(on, { limit: 10 });
      const body = JSON.stringify({
        model,
        stream: true,
        max_tokens: 20_000,
        messages: user("hi"),
      });
      const reader = await slowReader(on, key, body, 5);
      const seen = fake.requests[before] as SeenRequest;
      // The client stops reading; the upstream keeps generating.
      await eventually(() => (seen.generated >= 5000 ? true : undefined));
      reader.abort();
      await eventually(() => (seen.finished ? true : undefined));
      const record = await settledRecord(on, hash);
      expect(record.status).toBe(499);
      expect(reader.tokens * 10).toBeLessThan(generatedCost(seen));
      expect(record.costMicros).toBeGreaterThanOrEqual(generatedCost(seen));
      expect(record.costMicros).toBeLessThanOrEqual(reservationOf(body, 20_000));
      expect((await on.store.findKey(hash))?.reservedMicros).toBe(0);
    });
  }

  it("12 concurrent streams cut at different points on one key: spend stays within the limit and covers what the upstream produced", async () => {
    const { on, fake, before } = await startFlood(false);
    const body = JSON.stringify({
      model: "plain/flood",
      stream: true,
      max_tokens: 3000,
      messages: user("hi"),
    });
    const limitMicros = 6 * reservationOf(body, 3000) + 500;
    const { key, hash } = await mintKeyFor(on, { limit: limitMicros / 1e6 });
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const controller = new AbortController();
        const response = await chat(on, key, body, { signal: controller.signal });
        if (response.status !== 200) {
          await response.arrayBuffer();
          return response.status;
        }
        const reader = new StreamReader(response);
        await reader.until(() => reader.tokens >= 1 + i * 20);
        controller.abort();
        return 499;
      }),
    );
    expect(outcomes.every((status) => status === 499 || status === 402)).toBe(true);
    expect(outcomes.filter((status) => status === 499).length).toBeGreaterThanOrEqual(1);
    const streams = () => fake.requests.slice(before);
    await eventually(() => (streams().every((seen) => seen.finished) ? true : undefined));
    const records = await eventually(async () => {
      const found = (await on.store.listRequests(hash, 50)).filter(
        (record) => record.status !== 402,
      );
      return found.length === streams().length ? found : undefined;
    });
    const stored = await on.store.findKey(hash);
    expect(stored?.reservedMicros).toBe(0);
    expect(stored?.usageMicros).toBeLessThanOrEqual(limitMicros);
    const billed = records.reduce((sum, record) => sum + record.costMicros, 0);
    const produced = streams().reduce((sum, seen) => sum + generatedCost(seen), 0);
    expect(billed).toBeGreaterThanOrEqual(produced);
  });
});
