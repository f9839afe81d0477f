import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ConfigInput, openStore } from "../../src/index.js";
import { type Dialect, dialects, type TestDatabase } from "../support/databases.js";
import { chat, type FakeUpstream, mintKeyFor, startKeyport, startUpstream } from "./support.js";

const MESSAGE = "one two three four five six seven eight";

describe.each(dialects)("graceful shutdown ($name)", (dialect: Dialect) => {
  let db: TestDatabase;
  let upstream: FakeUpstream;

  beforeEach(async () => {
    db = await dialect.fresh();
    upstream = await startUpstream({ stallMs: 60_000 });
  });
  afterEach(async () => {
    await upstream.close();
    await db.drop();
  });

  async function startWithKey(config: ConfigInput) {
    const server = await startKeyport(db, upstream, { config });
    const { key, hash } = await mintKeyFor(server);
    return { server, key, hash };
  }

  it("an in-flight stream finishes, is billed, and only then the database closes", async () => {
    const { server, key, hash } = await startWithKey({ echoDelayMs: 20 });
    const response = await chat(server, key, {
      model: "keyport/echo",
      stream: true,
      messages: [{ role: "user", content: MESSAGE }],
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);

    const closed = server.close();
    // No new connections once shutdown began.
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await closed;

    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    for (const word of MESSAGE.split(" ")) expect(text).toContain(word);
    const store = await openStore(db.url);
    try {
      const stored = await store.findKey(hash);
      expect(stored?.usageMicros).toBeGreaterThan(0);
      expect(stored?.reservedMicros).toBe(0);
    } finally {
      await store.close();
    }
  });

  it("a request that never finishes is cut after the grace period, and shutdown completes", async () => {
    const { server, key, hash } = await startWithKey({
      shutdownGraceMs: 100,
      upstreamTimeoutMs: 60_000,
    });
    const stuck = chat(server, key, {
      model: "fake/stall",
      stream: true,
      messages: [{ role: "user", content: "wait" }],
    }).then(async (response) => {
      try {
        await response.text();
        return "completed";
      } catch {
        return "cut";
      }
    });
    // The request is in flight once the upstream has seen it.
    for (let i = 0; i < 200 && upstream.requests.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(upstream.requests.length).toBe(1);
    await server.close();
    expect(await stuck).toBe("cut");
    // What it used was settled before the database closed: nothing stays reserved.
    const store = await openStore(db.url);
    try {
      expect((await store.findKey(hash))?.reservedMicros).toBe(0);
      expect(await store.listRequests(hash, 10)).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});
