import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/src/index.js";
import {
  chat,
  type FakeUpstream,
  mintKeyFor,
  startKeyport,
  startUpstream,
} from "../../server/test/gateway/support.js";
import { dialects, type TestDatabase } from "../../server/test/support/databases.js";
import { runInProcess } from "./support/run-cli.js";

describe.each(dialects)("keyport requests overruns ($name)", (dialect) => {
  let database: TestDatabase;
  let upstream: FakeUpstream;
  let server: RunningServer;

  beforeAll(async () => {
    database = await dialect.fresh();
    upstream = await startUpstream();
    server = await startKeyport(database, upstream);
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
    await database?.drop();
  });

  it("shows operators each request whose upstream reported more than was reserved", async () => {
    const env = { KEYPORT_DATABASE: database.url };
    const before = await runInProcess(["requests", "overruns"], { env });
    expect(before.code).toBe(0);
    expect(before.stdout).toBe("0 overrun(s), 0.000000 credits\n");

    const { key, hash } = await mintKeyFor(server, { limit: 1 });
    const honest = await chat(server, key, {
      model: "fake/chat",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(honest.status).toBe(200);
    await honest.text();
    const lying = await chat(server, key, {
      model: "fake/liar",
      max_tokens: 10,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(lying.status).toBe(200);
    await lying.text();
    const requestId = lying.headers.get("x-request-id") ?? "";

    const listed = await runInProcess(["requests", "overruns"], { env });
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    const columns = (lines[0] as string).split("\t");
    expect(columns.slice(1, 5)).toEqual([requestId, hash, '"fake/liar"', '"fake"']);
    const overrun = Number(/overrun=([\d.]+)/.exec(lines[0] as string)?.[1]);
    const charged = Number(/charged=([\d.]+)/.exec(lines[0] as string)?.[1]);
    expect(overrun).toBeGreaterThan(0);
    expect(charged).toBeGreaterThan(0);
    expect(lines[1]).toBe(`1 overrun(s), ${overrun.toFixed(6)} credits`);
  });

  it.each([[["overruns", "--limit", "0"]], [["overruns", "--limit", "x"]], [["list"]], [[]]])(
    "%j: exit 2 with a one-line message",
    async (args) => {
      const result = await runInProcess(["requests", ...args], {
        env: { KEYPORT_DATABASE: database.url },
      });
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
    },
  );
});
