import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/index.js";
import { type Dialect, dialects, type TestDatabase } from "../support/databases.js";
import {
  chat,
  eventually,
  type FakeUpstream,
  keyInfo,
  mintKeyFor,
  querySql,
  runSql,
  startKeyport,
  startUpstream,
} from "./support.js";

/**
 * Issue 8, item 4, in-process: short leases renewed while their request lives, expired ones
 * released (billing what their stream had checkpointed), and `limit_remaining` net of what is
 * held. The crashes themselves are in `packages/cli/test/money-crash.test.ts`.
 */

const LEASE_MS = 600;
const user = (content: string) => [{ role: "user", content }];
/** Held at the fake upstream until `release()`; reserves its bytes plus 100 × 10. */
const GATED = JSON.stringify({ model: "fake/gated", max_tokens: 100, messages: user("hold") });
const GATED_RESERVATION = Buffer.byteLength(GATED) + 100 * 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(dialects)("issue 8.4: leases and limit_remaining ($name)", (dialect: Dialect) => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  const servers: RunningServer[] = [];

  beforeEach(async () => {
    db = await dialect.fresh();
    upstream = await startUpstream();
  });
  afterEach(async () => {
    upstream.release();
    for (const server of servers.splice(0)) await server.close();
    await upstream.close();
    await db.drop();
  });

  async function start(): Promise<RunningServer> {
    const server = await startKeyport(db, upstream, {
      config: { leaseMs: LEASE_MS, upstreamTimeoutMs: 10_000 } as Record<string, unknown>,
    });
    servers.push(server);
    return server;
  }

  async function keyRow(hash: string) {
    const [row] = await querySql(
      db,
      "SELECT usage_micros, reserved_micros FROM keys WHERE hash = ?",
      [hash],
    );
    return { usage: Number(row?.usage_micros), reserved: Number(row?.reserved_micros) };
  }

  it("GET /api/v1/key's limit_remaining is the limit less usage and what requests in flight hold", async () => {
    const server = await start();
    const { key } = await mintKeyFor(server, { limit: 1 });
    await (
      await chat(server, key, { model: "fake/chat", max_tokens: 100, messages: user("hi") })
    ).json();
    expect((await keyInfo(server, key)).limit_remaining).toBeCloseTo(1 - 60 / 1e6, 9);

    const held = chat(server, key, GATED);
    await eventually(() => (upstream.requests.length === 2 ? true : undefined));
    const during = await keyInfo(server, key);
    expect(during.usage).toBeCloseTo(60 / 1e6, 9);
    expect(during.limit_remaining).toBeCloseTo(1 - (60 + GATED_RESERVATION) / 1e6, 9);

    upstream.release();
    expect((await held).status).toBe(200);
    expect((await keyInfo(server, key)).limit_remaining).toBeCloseTo(1 - 120 / 1e6, 9);
  });

  it("a request alive for more than 3 leases keeps its reservation (renewed, never swept), and settles exactly once", async () => {
    const server = await start();
    // Another instance on the same database sweeps expired leases too (PostgreSQL only: one
    // server per SQLite file).
    if (dialect.name === "postgres") await start();
    const { key, hash } = await mintKeyFor(server, { limit: (1.5 * GATED_RESERVATION) / 1e6 });
    const held = chat(server, key, GATED);
    await eventually(() => (upstream.requests.length === 1 ? true : undefined));
    await sleep(3.5 * LEASE_MS);
    expect((await keyRow(hash)).reserved).toBe(GATED_RESERVATION);
    // The budget is still held: a second request that needs it is refused.
    const second = await chat(server, key, GATED);
    expect(second.status).toBe(402);
    await second.arrayBuffer();
    expect(upstream.requests).toHaveLength(1);

    upstream.release();
    expect((await held).status).toBe(200);
    expect(await keyRow(hash)).toEqual({ usage: 60, reserved: 0 });
    // A sweep or two later nothing was released or billed twice.
    await sleep(LEASE_MS);
    expect(await keyRow(hash)).toEqual({ usage: 60, reserved: 0 });
    const [row] = await querySql(db, "SELECT cost_micros FROM requests WHERE key_hash = ?", [hash]);
    expect(Number(row?.cost_micros)).toBe(60);
  });

  it.runIf(dialect.name === "postgres")(
    "a lease a dead instance left behind is released by a live server within about a lease, billing its checkpoint",
    async () => {
      const server = await start();
      const { key, hash } = await mintKeyFor(server, { limit: 1 });
      // What a SIGKILLed instance leaves: its reservation, held on the key, with the usage its
      // stream had delivered at the last checkpoint (the key first: the sweeper may end the
      // lease as soon as it exists).
      await runSql(db, "UPDATE keys SET reserved_micros = reserved_micros + 5000 WHERE hash = ?", [
        hash,
      ]);
      await runSql(
        db,
        "INSERT INTO reservations (id, key_hash, micros, expires_at, checkpoint_micros) VALUES (?, ?, ?, ?, ?)",
        ["dead-instance-request", hash, 5000, Date.now() - 1, 1234],
      );
      await eventually(async () => ((await keyRow(hash)).reserved === 0 ? true : undefined), 4000);
      expect(await keyRow(hash)).toEqual({ usage: 1234, reserved: 0 });
      expect((await keyInfo(server, key)).limit_remaining).toBeCloseTo(1 - 1234 / 1e6, 9);
      // Released once: a later sweep changes nothing.
      await sleep(LEASE_MS);
      expect(await keyRow(hash)).toEqual({ usage: 1234, reserved: 0 });
    },
  );

  it("a reservation left by a crash is released at the next start, billing what its stream had checkpointed", async () => {
    let server = await start();
    const { key, hash } = await mintKeyFor(server, { limit: 1 });
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    await runSql(
      db,
      "INSERT INTO reservations (id, key_hash, micros, expires_at, checkpoint_micros) VALUES (?, ?, ?, ?, ?)",
      ["crashed-request", hash, 5000, Date.now() - 1, 1234],
    );
    await runSql(db, "UPDATE keys SET reserved_micros = reserved_micros + 5000 WHERE hash = ?", [
      hash,
    ]);
    server = await start();
    await eventually(async () => ((await keyRow(hash)).reserved === 0 ? true : undefined), 4000);
    expect(await keyRow(hash)).toEqual({ usage: 1234, reserved: 0 });
    expect((await keyInfo(server, key)).usage).toBeCloseTo(1234 / 1e6, 9);
  });
});
