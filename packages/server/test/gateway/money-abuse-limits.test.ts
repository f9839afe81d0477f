import { once } from "node:events";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ConfigInput, parseConfig, type RunningServer } from "../../src/index.js";
import { type Dialect, dialects, type TestDatabase } from "../support/databases.js";
import {
  chat,
  eventually,
  type FakeUpstream,
  mintKeyFor,
  rawChatRequest,
  startKeyport,
  startUpstream,
} from "./support.js";

/**
 * Issue 8, item 7 (DESIGN invariant 7): the gateway limits requests per key per minute and
 * requests in flight per key, on by default; past a limit the answer is `429` with
 * `Retry-After` in OpenRouter's error shape, decided before the request body is read.
 */

const hi = [{ role: "user", content: "hi" }];
const GATED = JSON.stringify({ model: "fake/gated", max_tokens: 10, messages: hi });
const CHAT = JSON.stringify({ model: "fake/chat", max_tokens: 10, messages: hi });

interface RawAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * Sends the headers and only the first half of `body` (its full length declared), and never the
 * rest: an answer can only come from a decision made before the body was read.
 */
async function partialRequest(
  server: RunningServer,
  key: string,
  body: string,
): Promise<RawAnswer> {
  const request = rawChatRequest(server, key, body);
  request.write(body.slice(0, Math.floor(body.length / 2)));
  let timer: NodeJS.Timeout | undefined;
  try {
    const [response] = (await Promise.race([
      once(request, "response"),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error("no answer while the body was incomplete")),
          3000,
        );
      }),
    ])) as [IncomingMessage];
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve) => {
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", resolve);
      response.on("error", () => resolve());
      response.on("close", resolve);
    });
    return {
      status: response.statusCode ?? 0,
      headers: response.headers,
      body: Buffer.concat(chunks).toString("utf8"),
    };
  } finally {
    clearTimeout(timer);
    request.destroy();
  }
}

/** A `429` in OpenRouter's shape with a positive `Retry-After`. */
function expectTooMany(answer: RawAnswer) {
  expect(answer.status, answer.body).toBe(429);
  expect(Number(answer.headers["retry-after"])).toBeGreaterThan(0);
  const body = JSON.parse(answer.body) as { error: { code: number; message: string } };
  expect(body.error.code).toBe(429);
  expect(typeof body.error.message).toBe("string");
}

async function answerOf(response: Response): Promise<RawAnswer> {
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers.entries()),
    body: await response.text(),
  };
}

describe("issue 8.7: abuse limits are on by default", () => {
  it("parseConfig's defaults: 600 requests per key per minute, 20 in flight per key (0 turns either off)", () => {
    expect(parseConfig({}).gateway).toMatchObject({
      rateLimit: 600,
      maxInFlightPerKey: 20,
      leaseMs: 30_000,
    });
    expect(
      parseConfig(
        {},
        {
          KEYPORT_GATEWAY_RATE_LIMIT: "0",
          KEYPORT_GATEWAY_MAX_IN_FLIGHT: "0",
          KEYPORT_LEASE_MS: "1500",
        },
      ).gateway,
    ).toMatchObject({ rateLimit: 0, maxInFlightPerKey: 0, leaseMs: 1500 });
  });
});

describe.each(dialects)("issue 8.7: gateway abuse limits ($name)", (dialect: Dialect) => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let server: RunningServer | undefined;

  beforeEach(async () => {
    db = await dialect.fresh();
    upstream = await startUpstream();
  });
  afterEach(async () => {
    upstream.release();
    await server?.close();
    server = undefined;
    await upstream.close();
    await db.drop();
  });

  async function start(config: Record<string, unknown> = {}): Promise<RunningServer> {
    server = await startKeyport(db, upstream, {
      config: { upstreamTimeoutMs: 10_000, ...config } as ConfigInput,
    });
    return server;
  }

  it("past the requests per key per minute: 429 with Retry-After, decided before the body is read; other keys unaffected", async () => {
    const on = await start({ gatewayRateLimit: 3 });
    const { key } = await mintKeyFor(on);
    for (let i = 0; i < 3; i++) expect((await chat(on, key, CHAT)).status).toBe(200);
    expectTooMany(await answerOf(await chat(on, key, CHAT)));
    expectTooMany(await partialRequest(on, key, CHAT));
    const other = await mintKeyFor(on);
    expect((await chat(on, other.key, CHAT)).status).toBe(200);
    expect(upstream.requests).toHaveLength(4);
  });

  it("past the requests in flight per key: 429 with Retry-After at once, before the body is read; other keys unaffected", async () => {
    const on = await start({ gatewayMaxInFlight: 1 });
    const { key } = await mintKeyFor(on);
    const held = chat(on, key, GATED);
    await eventually(() => (upstream.requests.length === 1 ? true : undefined), 10_000);
    expectTooMany(await partialRequest(on, key, CHAT));

    const other = await mintKeyFor(on);
    const response = await chat(on, other.key, CHAT);
    expect(response.status).toBe(200);
    await response.json();

    upstream.release();
    expect((await held).status).toBe(200);
    // The slot is free again.
    expect((await chat(on, key, CHAT)).status).toBe(200);
  });

  it("with the default configuration, a key's 21st concurrent request is refused at once", async () => {
    const on = await start();
    const { key } = await mintKeyFor(on);
    const held = Array.from({ length: 20 }, () => chat(on, key, GATED));
    await eventually(() => (upstream.requests.length === 20 ? true : undefined), 15_000);
    expectTooMany(await partialRequest(on, key, CHAT));
    upstream.release();
    for (const response of await Promise.all(held)) expect(response.status).toBe(200);
  });
});
