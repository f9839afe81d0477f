import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/index.js";
import {
  chat,
  type FakeUpstream,
  mintKeyFor,
  startKeyport,
  startUpstream,
} from "./gateway/support.js";
import { dialects, type TestDatabase } from "./support/databases.js";
import { callApi, type ManagedAccount, managedAccount } from "./support/management.js";
import { testClock } from "./support/server.js";

/** `depth` nested arrays (or objects) as JSON text, built without recursion. */
function nested(depth: number, kind: "array" | "object" = "array"): string {
  return kind === "array"
    ? `${"[".repeat(depth)}${"]".repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

/** A tool whose parameter schema nests `levels` objects, as a real function-calling app might. */
function deepTool(levels: number) {
  let schema: Record<string, unknown> = { type: "string" };
  for (let i = 0; i < levels; i++) {
    schema = { type: "object", properties: { [`level${i}`]: schema } };
  }
  return { type: "function", function: { name: "deep", parameters: schema } };
}

const TOO_DEEP = { status: 400, message: expect.stringMatching(/nest/i) };

async function refusal(response: Response) {
  const body = await response.json();
  return { status: response.status, message: body?.error?.message, code: body?.error?.code };
}

describe.each(dialects)("DESIGN invariant 7: JSON depth is bounded ($name)", (dialect) => {
  let database: TestDatabase;
  let upstream: FakeUpstream;
  let server: RunningServer;
  let account: ManagedAccount;
  let key: string;
  const clock = testClock(Date.now());

  beforeAll(async () => {
    database = await dialect.fresh();
    upstream = await startUpstream();
    server = await startKeyport(database, upstream);
    account = await managedAccount(server, clock());
    ({ key } = await mintKeyFor(server));
  });

  afterAll(async () => {
    await server?.close();
    await upstream?.close();
    await database?.drop();
  });

  /** Every JSON endpoint but chat, with a body whose `field` is `bomb` (raw JSON text). */
  const endpoints = [
    ["POST", "/api/v1/auth/keys", "code"],
    ["POST", "/api/v1/auth/keys/code", "key_label"],
    ["POST", "/api/v1/keys", "name"],
    ["PATCH", "/api/v1/keys/HASH", "name"],
  ] as const;

  async function send(method: string, path: string, field: string, bomb: string) {
    const target = path.replace("HASH", account.managementHash);
    const body = `{"callback_url":"https://app.example/cb","${field}":${bomb}}`;
    return callApi(server, account.managementKey, method, target, body);
  }

  async function keyNames() {
    const response = await callApi(server, account.managementKey, "GET", "/api/v1/keys");
    return ((await response.json()).data as { name: string }[]).map((entry) => entry.name).sort();
  }

  it.each(endpoints)(
    "%s %s: 8,000 nested arrays or 2,500 objects (within the size limit) → 400",
    async (...e) => {
      const before = await keyNames();
      for (const kind of ["array", "object"] as const) {
        const depth = kind === "array" ? 8000 : 2500;
        const answer = await refusal(await send(e[0], e[1], e[2], nested(depth, kind)));
        expect(answer).toMatchObject({ ...TOO_DEEP, code: 400 });
      }
      expect(await keyNames()).toEqual(before);
    },
  );

  it.each(endpoints)("%s %s: 10,000 nested arrays → 400 or 413, never 500", async (...e) => {
    const answer = await refusal(await send(e[0], e[1], e[2], nested(10_000)));
    expect([400, 413]).toContain(answer.status);
    expect(answer.code).toBe(answer.status);
  });

  it.each(endpoints)(
    "%s %s: 65 levels → 400; the same body at 64 levels is parsed",
    async (...e) => {
      // The body's own object is the first level.
      expect(await refusal(await send(e[0], e[1], e[2], nested(63)))).not.toMatchObject(TOO_DEEP);
      expect(await refusal(await send(e[0], e[1], e[2], nested(64)))).toMatchObject(TOO_DEEP);
    },
  );

  describe("POST /api/v1/chat/completions", () => {
    const message = [{ role: "user", content: "hi" }];

    it.each([
      ["arrays", "array"],
      ["objects", "object"],
    ] as const)("10,000 nested %s: 400, nothing forwarded or billed", async (_, kind) => {
      const seen = upstream.requests.length;
      for (const field of ["metadata", "tools", "messages"]) {
        const body =
          field === "messages"
            ? `{"model":"fake/chat","messages":[{"role":"user","content":${nested(10_000, kind)}}]}`
            : `{"model":"fake/chat","messages":${JSON.stringify(message)},"${field}":${nested(10_000, kind)}}`;
        for (const stream of [false, true]) {
          const text = stream ? body.replace('{"model"', '{"stream":true,"model"') : body;
          expect(await refusal(await chat(server, key, text))).toMatchObject({
            ...TOO_DEEP,
            code: 400,
          });
        }
      }
      expect(upstream.requests.length).toBe(seen);
      const usage = await callApi(server, key, "GET", "/api/v1/key");
      expect((await usage.json()).data.usage).toBe(0);
    });

    it("a tool schema nested 20 levels is forwarded as sent", async () => {
      const tool = deepTool(20);
      const response = await chat(server, key, {
        model: "fake/chat",
        messages: message,
        tools: [tool],
      });
      expect(response.status).toBe(200);
      expect(upstream.requests.at(-1)?.body.tools).toEqual([tool]);
    });
  });
});
