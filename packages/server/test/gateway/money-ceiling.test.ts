import {
  afterAll,
  afterEach,
  beforeAll,
  describe,
  expect,
  it,
  type MockInstance,
  vi,
} from "vitest";
import type { RunningServer } from "../../src/index.js";
import { type Dialect, dialects, type TestDatabase } from "../support/databases.js";
import {
  chat,
  type FakeUpstream,
  keyInfo,
  LIAR_USAGE,
  mintKeyFor,
  querySql,
  startKeyport,
  startUpstream,
} from "./support.js";

/**
 * Issue 8, item 1: the limit is a ceiling whatever the upstream reports. The fake upstream's
 * prices are 1 micro-credit per prompt token and 10 per completion token; a request reserves
 * its body's bytes plus `max_tokens × 10`.
 */

const user = (content: string) => [{ role: "user", content }];

/** The worst case a body reserves on the fake models (no request price). */
const reservationOf = (body: string, completionTokens: number) =>
  Buffer.byteLength(body) + completionTokens * 10;

/** What `fake/liar` reports, priced: 10 prompt and a million completion tokens. */
const LIAR_COST = LIAR_USAGE.prompt_tokens + LIAR_USAGE.completion_tokens * 10;

interface RequestRow {
  id: string;
  status: number;
  cost: number;
  overrun: number;
  promptTokens: number;
  completionTokens: number;
}

describe.each(dialects)("issue 8.1: the limit is a ceiling ($name)", (dialect: Dialect) => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let server: RunningServer;

  beforeAll(async () => {
    db = await dialect.fresh();
    upstream = await startUpstream();
    // A generous upstream timeout: 50 concurrent calls on a loaded machine must not time out.
    server = await startKeyport(db, upstream, { config: { upstreamTimeoutMs: 10_000 } });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await server.close();
    await upstream.close();
    await db.drop();
  });

  async function keyRow(hash: string) {
    const [row] = await querySql(
      db,
      "SELECT usage_micros, reserved_micros, limit_micros FROM keys WHERE hash = ?",
      [hash],
    );
    return {
      usage: Number(row?.usage_micros),
      reserved: Number(row?.reserved_micros),
      limit: row?.limit_micros == null ? null : Number(row.limit_micros),
    };
  }

  async function requestRows(hash: string): Promise<RequestRow[]> {
    const rows = await querySql(
      db,
      "SELECT id, status, cost_micros, overrun_micros, prompt_tokens, completion_tokens FROM requests WHERE key_hash = ?",
      [hash],
    );
    return rows.map((row) => ({
      id: String(row.id),
      status: Number(row.status),
      cost: Number(row.cost_micros),
      overrun: Number(row.overrun_micros),
      promptTokens: Number(row.prompt_tokens),
      completionTokens: Number(row.completion_tokens),
    }));
  }

  /** The `console.error` lines that speak of an overrun. */
  function overrunLines(errors: MockInstance<typeof console.error>): string[] {
    return errors.mock.calls
      .map((call: unknown[]) => call.map(String).join(" "))
      .filter((line) => /overrun/i.test(line));
  }

  for (const stream of [false, true]) {
    it(`an upstream reporting far more than asked (${stream ? "streamed" : "not streamed"}) is charged at most the reservation; the excess is an overrun on record and in the log`, async () => {
      const errors = vi.spyOn(console, "error").mockImplementation(() => {});
      const body = JSON.stringify({
        model: "fake/liar",
        max_tokens: 20,
        stream,
        messages: user("hi"),
      });
      const reserved = reservationOf(body, 20);
      // Room for the request's worst case and a little more, nowhere near what the liar reports.
      const { key, hash } = await mintKeyFor(server, { limit: (reserved + 100) / 1e6 });
      const response = await chat(server, key, body);
      expect(response.status).toBe(200);
      await response.text();

      const stored = await keyRow(hash);
      expect(stored.usage).toBeLessThanOrEqual(stored.limit as number);
      expect(stored.usage).toBe(reserved);
      expect(stored.reserved).toBe(0);
      const [row] = await requestRows(hash);
      expect(row).toMatchObject({
        status: 200,
        cost: reserved,
        overrun: LIAR_COST - reserved,
        // What the upstream reported stays on record.
        promptTokens: LIAR_USAGE.prompt_tokens,
        completionTokens: LIAR_USAGE.completion_tokens,
      });
      const lines = overrunLines(errors);
      expect(lines.some((line) => line.includes(row?.id as string))).toBe(true);
      for (const line of lines) expect(line).not.toContain(key);
      expect((await keyInfo(server, key)).usage as number).toBeLessThanOrEqual(
        (reserved + 100) / 1e6,
      );
    });
  }

  it("an upstream that ignores max_tokens (fake/greedy runs to 100,000 tokens without it) is charged at most the reservation", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    // An unlimited key: Keyport's bound is the model's maximum (1000 tokens), the upstream runs on.
    const { key, hash } = await mintKeyFor(server, {});
    const before = upstream.requests.length;
    const body = JSON.stringify({ model: "fake/greedy", messages: user("hi") });
    const response = await chat(server, key, body);
    expect(response.status).toBe(200);
    await response.json();
    const reserved = reservationOf(body, 1000);
    const stored = await keyRow(hash);
    expect(stored.usage).toBeLessThanOrEqual(reserved);
    expect(stored.reserved).toBe(0);
    const [row] = await requestRows(hash);
    expect(row?.cost).toBeLessThanOrEqual(reserved);
    // Whatever the upstream billed beyond the reservation is on record, not on the key.
    expect((row?.cost ?? 0) + (row?.overrun ?? 0)).toBe(
      10 + (upstream.requests[before]?.body.max_tokens === undefined ? 100_000 : 1000) * 10,
    );
  });

  it("50 concurrent calls on one near-empty key with a lying upstream: usage never passes the limit", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const bodies = [false, true].map((stream) =>
      JSON.stringify({ model: "fake/liar", max_tokens: 20, stream, messages: user("hi") }),
    );
    const reservations = new Map(bodies.map((body) => [body, reservationOf(body, 20)]));
    const largest = Math.max(...reservations.values());
    // Room for about three requests' worst case.
    const limitMicros = Math.floor(3.5 * largest);
    const { key, hash } = await mintKeyFor(server, { limit: limitMicros / 1e6 });
    const sent = Array.from({ length: 50 }, (_, i) => bodies[i % 2] as string);
    const responses = await Promise.all(sent.map((body) => chat(server, key, body)));
    await Promise.all(responses.map((response) => response.text()));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((status) => status === 200 || status === 402)).toBe(true);

    const stored = await keyRow(hash);
    expect(stored.usage).toBeLessThanOrEqual(limitMicros);
    expect(stored.reserved).toBe(0);
    const rows = await requestRows(hash);
    const ok = rows.filter((row) => row.status === 200);
    expect(ok).toHaveLength(statuses.filter((status) => status === 200).length);
    for (const row of ok) {
      expect(row.cost).toBeLessThanOrEqual(largest);
      expect(row.cost + row.overrun).toBe(LIAR_COST);
    }
    expect(rows.reduce((sum, row) => sum + row.cost, 0)).toBe(stored.usage);
  });

  it("an upstream's usage.cost above the reservation is capped too (fake/cost reports 0.0042)", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { key, hash } = await mintKeyFor(server, {});
    let expected = 0;
    for (const stream of [false, true]) {
      const body = JSON.stringify({
        model: "fake/cost",
        max_tokens: 1,
        stream,
        messages: user("hi"),
      });
      expected += reservationOf(body, 1);
      const response = await chat(server, key, body);
      expect(response.status).toBe(200);
      await response.text();
    }
    expect((await keyRow(hash)).usage).toBe(expected);
    for (const row of await requestRows(hash)) expect(row.cost + row.overrun).toBe(4200);
  });
});
