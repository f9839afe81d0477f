import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Meter } from "../../src/gateway/metering.js";
import { parseConfig, type RunningServer, startServer, systemClock } from "../../src/index.js";
import { isPostgresUrl } from "../../src/store/open.js";
import { type Dialect, dialects, type TestDatabase } from "../support/databases.js";
import { seedKey } from "../support/seed-key.js";
import { useStore } from "../support/use-store.js";
import {
  chat,
  type FakeUpstream,
  mintKeyFor,
  querySql,
  runSql,
  startKeyport,
  startUpstream,
} from "./support.js";

/*
 * What a review of the metering found, each as the attack that found it (issue 8): in-flight
 * slots leaked by refused streams, a lease left behind by a renewal racing a settle, a settle
 * whose write failed once, and ways spend escaped the meter.
 */

const hi = [{ role: "user", content: "hi" }];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An OpenRouter-like upstream: `/models` lists a router priced "-1" and a model that lies. */
async function routerUpstream(): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.url === "/v1/models") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          data: [
            { id: "router/auto", pricing: { prompt: "-1", completion: "-1" } },
            { id: "router/huge", pricing: { prompt: "0.000001", completion: "0.00001" } },
          ],
        }),
      );
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString()) as { model: string };
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        id: "gen-x",
        object: "chat.completion",
        created: 1,
        model: body.model,
        choices: [
          { index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" },
        ],
        usage: { prompt_tokens: 10, completion_tokens: 1e19, total_tokens: 1e19 },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, server };
}

describe.each(dialects)("issue 8 review findings ($name)", (dialect: Dialect) => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let router: { url: string; server: Server };
  let server: RunningServer;

  beforeAll(async () => {
    db = await dialect.fresh();
    upstream = await startUpstream({ lateMs: 1500 });
    router = await routerUpstream();
    server = await startKeyport(db, upstream, {
      config: { leaseMs: 600, gatewayRateLimit: 0, gatewayMaxInFlight: 2 },
      extraUpstreams: [{ name: "router", baseUrl: router.url, models: "discover" }],
    });
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
    router?.server.close();
    await db?.drop();
  });

  const keyRow = async (hash: string) =>
    (
      await querySql(db, "SELECT usage_micros, reserved_micros FROM keys WHERE hash = ?", [hash])
    )[0] as { usage_micros: number | string; reserved_micros: number | string };
  const records = (hash: string) =>
    querySql(db, "SELECT status, cost_micros FROM requests WHERE key_hash = ?", [hash]) as Promise<
      { status: number; cost_micros: number | string }[]
    >;

  it("a stream the upstream refuses gives its in-flight slot back", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { key } = await mintKeyFor(server, { limit: 10 });
    for (const model of ["fake/500", "fake/429", "fake/500"]) {
      const refused = await chat(server, key, { model, messages: hi, stream: true });
      const text = await refused.text();
      // Refused within a keep-alive interval: the mapped status; later, after the stream's
      // headers went out: OpenRouter's error chunk in the stream.
      if (refused.status === 200) expect(text).toMatch(/"finish_reason":"error"/);
      else expect(refused.status).toBeGreaterThanOrEqual(400);
    }
    const after = await chat(server, key, { model: "fake/chat", messages: hi });
    expect(after.status).toBe(200);
    await after.text();
    vi.restoreAllMocks();
  });

  it("a model whose price is unknown (OpenRouter lists routers at -1) is not served", async () => {
    const { key } = await mintKeyFor(server, { limit: 1 });
    const response = await chat(server, key, { model: "router/auto", messages: hi });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(upstream.requests.some((request) => request.body.model === "router/auto")).toBe(false);
  });

  it("usage beyond any 64-bit column is clamped: the key is charged its reservation", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { key, hash } = await mintKeyFor(server, { limit: 1 });
    const response = await chat(server, key, {
      model: "router/huge",
      messages: hi,
      max_tokens: 100,
    });
    expect(response.status).toBe(200);
    await response.text();
    const row = await keyRow(hash);
    expect(Number(row.usage_micros)).toBeGreaterThan(0);
    expect(Number(row.reserved_micros)).toBe(0);
    vi.restoreAllMocks();
  });

  it("a non-streamed call that outlasts the upstream timeout keeps its whole reservation spent", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { key, hash } = await mintKeyFor(server, { limit: 1 });
    const response = await chat(server, key, {
      model: "fake/late",
      messages: hi,
      max_tokens: 1000,
    });
    expect(response.status).toBe(408);
    await response.text();
    const [record] = await records(hash);
    expect(Number(record?.cost_micros)).toBeGreaterThan(10_000);
    expect(Number((await keyRow(hash)).usage_micros)).toBe(Number(record?.cost_micros));
    vi.restoreAllMocks();
  });

  it("a stream whose client leaves before the upstream's first byte keeps its whole reservation spent", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { key, hash } = await mintKeyFor(server, { limit: 1 });
    const controller = new AbortController();
    const pending = chat(
      server,
      key,
      { model: "fake/hang", messages: hi, stream: true, max_tokens: 1000 },
      { signal: controller.signal },
    ).catch(() => undefined);
    await sleep(300);
    controller.abort();
    await pending;
    await sleep(300);
    const [record] = await records(hash);
    expect(record?.status).toBe(499);
    expect(Number(record?.cost_micros)).toBeGreaterThan(10_000);
    vi.restoreAllMocks();
  });

  it("a key without a limit is charged its reservation too, and the upstream's full figure is on record", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { key, hash } = await mintKeyFor(server, {});
    const response = await chat(server, key, { model: "fake/greedy", messages: hi });
    await response.text();
    // fake/greedy runs to 100,000 completion tokens at 10 micro-credits each.
    const [record] = (await querySql(
      db,
      "SELECT cost_micros, overrun_micros FROM requests WHERE key_hash = ?",
      [hash],
    )) as { cost_micros: string | number; overrun_micros: string | number }[];
    expect(Number(record?.cost_micros) + Number(record?.overrun_micros)).toBe(10 + 100_000 * 10);
    expect(Number((await keyRow(hash)).usage_micros)).toBe(Number(record?.cost_micros));
    vi.restoreAllMocks();
  });

  it("a settle whose write fails once is written later, and bills what it charged", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { key, hash } = await mintKeyFor(server, { limit: 1 });
    const pg = isPostgresUrl(db.url);
    if (pg) {
      await runSql(
        db,
        "CREATE OR REPLACE FUNCTION zz_fail() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'simulated write fault'; END $$ LANGUAGE plpgsql",
      );
      await runSql(
        db,
        "CREATE TRIGGER zz_fail BEFORE INSERT ON requests FOR EACH ROW EXECUTE FUNCTION zz_fail()",
      );
    } else {
      await runSql(
        db,
        "CREATE TRIGGER zz_fail BEFORE INSERT ON requests BEGIN SELECT RAISE(ABORT, 'simulated write fault'); END",
      );
    }
    const response = await chat(server, key, {
      model: "fake/chat",
      messages: hi,
      max_tokens: 1000,
    });
    expect(response.status).toBe(200);
    await response.text();
    await sleep(100);
    await runSql(db, pg ? "DROP TRIGGER zz_fail ON requests" : "DROP TRIGGER zz_fail");
    // fake/chat reports 10 prompt and 5 completion tokens: 60 micro-credits.
    await expect
      .poll(async () => Number((await keyRow(hash)).usage_micros), { timeout: 4000 })
      .toBe(60);
    expect(Number((await keyRow(hash)).reserved_micros)).toBe(0);
    expect((await records(hash)).map((record) => Number(record.cost_micros))).toEqual([60]);
    vi.restoreAllMocks();
  });
});

describe.each(dialects.filter((dialect) => dialect.name === "sqlite"))(
  "a renewal racing a settle on SQLite ($name)",
  (dialect) => {
    const opened = useStore(dialect);

    const outcome = (costMicros: number) => ({
      status: 200,
      usage: { promptTokens: 10, completionTokens: 5, estimated: false },
      costMicros,
    });

    for (const order of ["renewal first", "settle first"] as const) {
      it(`leaves no lease behind, and the next start succeeds (${order})`, async () => {
        const { key } = await seedKey(opened.store, { limitMicros: 1_000_000, label: "race" });
        const meter = new Meter(opened.store, systemClock, {
          leaseMs: 60_000,
          maxInFlightPerKey: 0,
          answerBeforeSettle: false,
        });
        // A second live request, so settles go through the group commit as under load.
        const other = await meter.reserve(key, {
          id: `other-${order}`,
          micros: 1,
          model: "m",
          upstream: "u",
          streamed: true,
        });
        const racing = await meter.reserve(key, {
          id: `racing-${order}`,
          micros: 999_999,
          model: "m",
          upstream: "u",
          streamed: true,
        });
        racing.delivered = () => 999_999;
        const renew = (meter as unknown as { renew: () => void }).renew;
        let settled: Promise<unknown>;
        if (order === "renewal first") {
          renew();
          settled = racing.settle(outcome(999_999));
        } else {
          settled = racing.settle(outcome(999_999));
          renew();
        }
        await settled;
        await sleep(50);
        await other.settle(outcome(0));
        expect(
          await querySql(opened.database, "SELECT id FROM reservations WHERE id = ?", [
            `racing-${order}`,
          ]),
        ).toEqual([]);
        await opened.reopen(async () => {
          const restarted = await startServer(
            parseConfig({ port: 0, database: opened.database.url }),
          );
          await restarted.close();
        });
        expect((await opened.store.findKey(key.hash))?.usageMicros).toBe(999_999);
      });
    }
  },
);
