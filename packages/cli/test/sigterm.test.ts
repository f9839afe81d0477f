import { afterEach, describe, expect, it } from "vitest";
import {
  type FakeUpstream,
  querySql,
  startUpstream,
  UPSTREAM_SECRET,
} from "../../server/test/gateway/support.js";
import { dialects, type TestDatabase } from "../../server/test/support/databases.js";
import { type Child, freePort, spawnCli, waitForOk } from "./support/run-cli.js";
import { storedKey } from "./support/seed.js";

/**
 * Issue 12: SIGTERM to a real `keyport serve` while a stream from a slow upstream is in flight.
 * The listener closes at once (new connections are refused), the stream finishes within the
 * grace period or is cut at its end, either way it is settled (billed, its reservation given
 * back, its request record written) before the database closes, and the process exits 0.
 * `fake/stall` streams two words, goes silent for `stallMs`, then sends the rest and its usage.
 */

const TIMEOUT_MS = 120_000;

async function serve(db: TestDatabase, upstream: FakeUpstream, env: Record<string, string>) {
  const port = await freePort();
  const upstreams = [
    {
      name: "fake",
      baseUrl: upstream.url,
      apiKeyEnv: "FAKE_UPSTREAM_KEY",
      models: [{ id: "fake/stall", promptPrice: 0.000001, completionPrice: 0.00001 }],
    },
  ];
  const child = spawnCli(["serve", "--port", String(port)], {
    env: {
      KEYPORT_DATABASE: db.url,
      KEYPORT_UPSTREAMS: JSON.stringify(upstreams),
      KEYPORT_UPSTREAM_TIMEOUT_MS: "120000",
      FAKE_UPSTREAM_KEY: UPSTREAM_SECRET,
      ...env,
    },
  });
  const base = `http://127.0.0.1:${port}`;
  await waitForOk(`${base}/healthz`, child, 1200);
  return { child, base };
}

/** Starts the stream and reads until the upstream's first words came through. */
async function startStream(base: string, key: string) {
  const response = await fetch(`${base}/api/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model: "fake/stall",
      stream: true,
      max_tokens: 50,
      messages: [{ role: "user", content: "take your time" }],
    }),
  });
  expect(response.status).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes('" from"')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended early: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  /** Reads to the end: the whole text, or what came before the connection was cut. */
  const rest = async (): Promise<{ text: string; cut: boolean }> => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return { text, cut: false };
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      return { text, cut: true };
    }
  };
  return { rest };
}

/** Polls until a new connection is refused (a bounded loop); whether it was. */
async function refusesConnections(base: string): Promise<boolean> {
  for (let i = 0; i < 400; i++) {
    try {
      await (await fetch(`${base}/healthz`)).arrayBuffer();
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

async function settled(db: TestDatabase, hash: string) {
  const [key] = await querySql(
    db,
    "SELECT usage_micros, reserved_micros FROM keys WHERE hash = ?",
    [hash],
  );
  const records = await querySql(
    db,
    "SELECT model, streamed, cost_micros, completion_tokens FROM requests WHERE key_hash = ?",
    [hash],
  );
  return {
    usage: Number(key?.usage_micros),
    reserved: Number(key?.reserved_micros),
    records: records.map((row) => ({
      model: row.model,
      streamed: Number(row.streamed),
      cost: Number(row.cost_micros),
      completionTokens: Number(row.completion_tokens),
    })),
  };
}

describe.each(dialects)("keyport serve: SIGTERM mid-stream ($name)", (dialect) => {
  let db: TestDatabase | undefined;
  let upstream: FakeUpstream | undefined;
  let child: Child | undefined;
  afterEach(async () => {
    if (child && child.process.exitCode === null) child.process.kill("SIGKILL");
    await child?.exited;
    await upstream?.close();
    await db?.drop();
  });

  it(
    "new connections are refused, the stream completes and is billed, exit 0",
    async () => {
      db = await dialect.fresh();
      upstream = await startUpstream({ stallMs: 4000 });
      const { key, hash } = await storedKey(db.url, 1_000_000);
      const server = await serve(db, upstream, { KEYPORT_SHUTDOWN_GRACE_MS: "60000" });
      child = server.child;
      const stream = await startStream(server.base, key);

      child.process.kill("SIGTERM");
      expect(await refusesConnections(server.base)).toBe(true);
      expect(child.process.exitCode, "still finishing the stream").toBeNull();
      const { text, cut } = await stream.rest();
      expect(cut).toBe(false);
      for (const word of ["Hello", "from", "the", "fake", "upstream"]) expect(text).toContain(word);
      expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);

      const result = await child.exited;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain("Received SIGTERM");
      const state = await settled(db, hash);
      expect(state.reserved).toBe(0);
      // The upstream's usage: 10 prompt tokens at 1 micro-credit and 5 completion tokens at 10.
      expect(state.records).toEqual([
        { model: "fake/stall", streamed: 1, cost: 60, completionTokens: 5 },
      ]);
      expect(state.usage).toBe(60);
    },
    TIMEOUT_MS,
  );

  it(
    "a stream longer than KEYPORT_SHUTDOWN_GRACE_MS is cut at the deadline, billed what it delivered, exit 0",
    async () => {
      db = await dialect.fresh();
      upstream = await startUpstream({ stallMs: 60_000 });
      const { key, hash } = await storedKey(db.url, 1_000_000);
      const server = await serve(db, upstream, { KEYPORT_SHUTDOWN_GRACE_MS: "500" });
      child = server.child;
      const stream = await startStream(server.base, key);

      child.process.kill("SIGTERM");
      const { text, cut } = await stream.rest();
      expect(cut || !text.includes("data: [DONE]")).toBe(true);
      expect(text).not.toContain('" upstream"');

      const result = await child.exited;
      expect(result.code, result.stderr).toBe(0);
      const state = await settled(db, hash);
      expect(state.reserved).toBe(0);
      expect(state.records).toHaveLength(1);
      const [record] = state.records;
      // At least the two words delivered before the stall, never the worst case.
      expect(record?.completionTokens).toBeGreaterThanOrEqual(2);
      expect(record?.cost).toBeGreaterThan(0);
      expect(state.usage).toBe(record?.cost);
    },
    TIMEOUT_MS,
  );
});
