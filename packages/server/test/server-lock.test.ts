import { statSync } from "node:fs";
import SQLite from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/index.js";
import {
  chat,
  type FakeUpstream,
  mintKeyFor,
  startKeyport,
  startUpstream,
} from "./gateway/support.js";
import { dialects, type TestDatabase } from "./support/databases.js";
import { startTestServer } from "./support/server.js";

const sqlite = dialects.find((dialect) => dialect.name === "sqlite");
if (!sqlite) throw new Error("the suite always runs on SQLite");

function reservedMicros(database: string): number {
  const db = new SQLite(database, { readonly: true });
  try {
    return (db.prepare("SELECT sum(reserved_micros) AS n FROM keys").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe("DESIGN invariant 9: one server per SQLite file (an OS lock)", () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  const running: RunningServer[] = [];

  beforeEach(async () => {
    db = await sqlite.fresh();
    upstream = await startUpstream();
  });
  afterEach(async () => {
    for (const server of running.splice(0)) await server.close();
    await upstream.close();
    await db.drop();
  });

  it("a second server on the same file refuses to start; the first keeps serving and its reservations", async () => {
    const first = await startKeyport(db, upstream, { config: { echoDelayMs: 200 } });
    running.push(first);
    const { key } = await mintKeyFor(first);
    const stream = await chat(first, key, {
      model: "keyport/echo",
      stream: true,
      messages: [{ role: "user", content: "one two three four five six" }],
    });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const reserved = reservedMicros(db.url);
    expect(reserved).toBeGreaterThan(0);

    await expect(startTestServer(db)).rejects.toThrow(
      `Another Keyport server is already using ${db.url}`,
    );

    // The refused server released nothing and the first still answers.
    expect(reservedMicros(db.url)).toBe(reserved);
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    await reader.cancel();
  });

  it("the lock is released when the server closes: the next server starts", async () => {
    const first = await startTestServer(db);
    await first.close();
    const second = await startTestServer(db);
    running.push(second);
    expect((await fetch(`${second.url}/healthz`)).status).toBe(200);
  });

  it("the lock file is private (0600) like the database", async () => {
    running.push(await startTestServer(db));
    expect(statSync(`${db.url}.lock`).mode & 0o777).toBe(0o600);
  });

  it("a refused start leaves the first server's lock in place (a third start is refused too)", async () => {
    running.push(await startTestServer(db));
    await expect(startTestServer(db)).rejects.toThrow("Another Keyport server");
    await expect(startTestServer(db)).rejects.toThrow("Another Keyport server");
  });

  it(":memory: servers take no lock", async () => {
    running.push(await startTestServer({ url: ":memory:", drop: async () => {} }));
    running.push(await startTestServer({ url: ":memory:", drop: async () => {} }));
  });
});
