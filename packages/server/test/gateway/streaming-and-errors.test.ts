import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/index.js";
import { type Dialect, dialects, type TestDatabase } from "../support/databases.js";
import {
  chat,
  eventually,
  type FakeUpstream,
  mintKeyFor,
  startKeyport,
  startUpstream,
} from "./support.js";

const hi = [{ role: "user", content: "hi" }];

/** OpenRouter's error body, checked field by field. */
async function expectError(response: Response, status: number, message?: RegExp) {
  expect(response.status).toBe(status);
  const body = (await response.json()) as { error: { code: number; message: string } };
  expect(body.error.code).toBe(status);
  expect(typeof body.error.message).toBe("string");
  if (message) expect(body.error.message).toMatch(message);
  return body;
}

/**
 * An upstream's failure as the client sees it: a mapped status, a generic message naming the
 * request id (also in `X-Request-Id`), and nothing of what the upstream said (`hidden`).
 */
async function expectUpstreamError(response: Response, status: number, hidden: RegExp) {
  const requestId = response.headers.get("x-request-id");
  expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
  const body = await expectError(response, status, /upstream provider/);
  expect(body.error.message).toContain(String(requestId));
  expect(JSON.stringify(body)).not.toMatch(hidden);
  return body;
}

describe.each(dialects)("gateway streaming and errors ($name)", (dialect: Dialect) => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let server: RunningServer;
  let key: string;
  let hash: string;

  beforeAll(async () => {
    db = await dialect.fresh();
    upstream = await startUpstream();
    server = await startKeyport(db, upstream, { config: { gatewayRateLimit: 1000 } });
    ({ key, hash } = await mintKeyFor(server, { limit: 10 }));
  });
  afterAll(async () => {
    await server.close();
    await upstream.close();
    await db.drop();
  });

  it("a client that disconnects mid-stream aborts the upstream at once and is billed for what it got", async () => {
    const before = upstream.requests.length;
    const controller = new AbortController();
    const response = await chat(
      server,
      key,
      { model: "fake/endless", stream: true, messages: hi },
      { signal: controller.signal },
    );
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = "";
    while ((received.match(/word\d+/g) ?? []).length < 5)
      received += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const seen = upstream.requests[before];
    await eventually(() => (seen?.aborted ? true : undefined), 2000);
    const record = await eventually(async () =>
      (await server.store.listRequests(hash, 50)).find((r) => r.model === "fake/endless"),
    );
    expect(record).toMatchObject({ status: 499, streamed: true, usageEstimated: true });
    expect(record.completionTokens).toBeGreaterThanOrEqual(5);
    expect(record.completionTokens).toBeLessThan(200); // the upstream stopped, it did not run on to 10 000
    expect(record.costMicros).toBeGreaterThan(0);
    expect((await server.store.findKey(hash))?.reservedMicros).toBe(0);
  });

  it("answers with CORS and the security headers, as JSON and as SSE", async () => {
    for (const stream of [false, true]) {
      const response = await chat(server, key, { model: "fake/chat", stream, messages: hi });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(
        stream ? /^text\/event-stream/ : /^application\/json/,
      );
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      expect(response.headers.get("x-frame-options")).toBe("DENY");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      expect(response.headers.get("content-security-policy")).toMatch(/frame-ancestors 'none'/);
      if (stream) expect(response.headers.get("cache-control")).toBe("no-cache");
      expect(await response.text()).toMatch(stream ? /data: \[DONE\]\n\n$/ : /"usage"/);
    }
  });

  it("sends ': KEYPORT PROCESSING' while the upstream is silent", async () => {
    const text = await (
      await chat(server, key, { model: "fake/stall", stream: true, messages: hi })
    ).text();
    expect(text).toContain(": KEYPORT PROCESSING\n\n");
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it("an upstream failure after streaming started arrives as a data event with an error field, then the stream ends", async () => {
    const response = await chat(server, key, { model: "fake/die", stream: true, messages: hi });
    expect(response.status).toBe(200);
    const events = (await response.text())
      .split("\n\n")
      .filter((event) => event.startsWith("data: "));
    const last = JSON.parse((events.at(-1) as string).slice(6)) as {
      error: { code: number; message: string };
    };
    expect(last.error.code).toBe(502);
    expect(events.some((event) => event.includes('"content":"Hello"'))).toBe(true);
    expect(events.join("")).not.toContain("[DONE]");
  });

  it("400 for a malformed body, naming what is wrong", async () => {
    await expectError(await chat(server, key, "{not json"), 400, /JSON/);
    await expectError(await chat(server, key, { model: "keyport/echo" }), 400, /messages/);
    await expectError(
      await chat(server, key, { model: "keyport/echo", messages: [] }),
      400,
      /messages/,
    );
    await expectError(
      await chat(server, key, { model: "keyport/echo", messages: hi, max_tokens: -1 }),
      400,
      /max_tokens/,
    );
  });

  it("400 when the upstream refuses the request itself (its text stays in the log)", async () => {
    await expectUpstreamError(
      await chat(server, key, { model: "fake/400", messages: hi }),
      400,
      /temperature must be at most 2/,
    );
  });

  it("401 without a key, with an unknown key, and for the upstream's own credentials never", async () => {
    await expectError(await chat(server, undefined, { model: "keyport/echo", messages: hi }), 401);
    await expectError(
      await chat(server, `sk-kp-v1-${"0".repeat(64)}`, { model: "keyport/echo", messages: hi }),
      401,
    );
    // The upstream rejecting *Keyport's* credentials is Keyport's problem: 502, not 401.
    await expectUpstreamError(
      await chat(server, key, { model: "fake/401", messages: hi }),
      502,
      /bad upstream key/,
    );
  });

  it("402 with metadata.limit_source when the worst case does not fit", async () => {
    const tiny = await mintKeyFor(server, { limit: 0.0001 });
    const body = await expectError(
      await chat(server, tiny.key, { model: "keyport/echo", messages: hi }),
      402,
    );
    expect(
      (body.error as unknown as { metadata: { limit_source: string } }).metadata.limit_source,
    ).toBe("key");
  });

  it("408 when the upstream does not answer in time", async () => {
    await expectError(
      await chat(server, key, { model: "fake/hang", messages: hi }),
      408,
      /timed out/,
    );
  });

  it("429 with Retry-After when the upstream rate-limits", async () => {
    const response = await chat(server, key, { model: "fake/429", messages: hi });
    expect(response.headers.get("retry-after")).toBe("7");
    await expectUpstreamError(response, 429, /slow down/);
  });

  it("429 with Retry-After past the per-key request rate", async () => {
    // One server per SQLite file: the limited one gets a database of its own.
    const own = await dialect.fresh();
    const limited = await startKeyport(own, upstream, { config: { gatewayRateLimit: 2 } });
    try {
      const { key } = await mintKeyFor(limited);
      const body = { model: "keyport/echo", messages: hi };
      expect((await chat(limited, key, body)).status).toBe(200);
      expect((await chat(limited, key, body)).status).toBe(200);
      const third = await chat(limited, key, body);
      expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
      await expectError(third, 429);
    } finally {
      await limited.close();
      await own.drop();
    }
  });

  it("502 when the upstream fails or cannot be reached", async () => {
    await expectUpstreamError(
      await chat(server, key, { model: "fake/500", messages: hi }),
      502,
      /the model fell over/,
    );
    // Nor the address it could not reach.
    await expectUpstreamError(
      await chat(server, key, { model: "dead/model", messages: hi }),
      502,
      /127\.0\.0\.1|ECONNREFUSED/,
    );
  });

  it("400 when no upstream serves the model, in OpenRouter's words", async () => {
    await expectError(
      await chat(server, key, { model: "nobody/serves-this", messages: hi }),
      400,
      /^nobody\/serves-this is not a valid model ID$/,
    );
  });

  it("413 for a body over the gateway's limit", async () => {
    const huge = {
      model: "keyport/echo",
      messages: [{ role: "user", content: "x".repeat(5 * 1024 * 1024) }],
    };
    expect((await chat(server, key, huge)).status).toBe(413);
  });
});
