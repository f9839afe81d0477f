import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ChatResult, ChatStreamChunk } from "@openrouter/sdk/models";
import { ChatResult$inboundSchema, ChatStreamChunk$inboundSchema } from "@openrouter/sdk/models";
import { BadRequestResponseError } from "@openrouter/sdk/models/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/index.js";
import type { TestDatabase } from "../support/databases.js";
import { dialects } from "../support/databases.js";
import { openRouterSdk, sdkParse } from "../support/openrouter-sdk.js";
import { chat, type FakeUpstream, mintKeyFor, startKeyport, startUpstream } from "./support.js";

const sqlite = dialects[0];
if (!sqlite) throw new Error("no SQLite dialect");

const hi = [{ role: "user" as const, content: "hello there" }];

/** An upstream whose stream fails before its first chunk: an error event with no id at all. */
async function errorFirstUpstream(): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end(
      `data: ${JSON.stringify({ error: { code: 500, message: "internal.example down" } })}\n\n`,
    );
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return server;
}

/** The SDK's answer to a request that did not stream (its type is a union of both kinds). */
function whole(answer: ChatResult | AsyncIterable<ChatStreamChunk>): ChatResult {
  if (Symbol.asyncIterator in answer) throw new Error("a stream where a completion was expected");
  return answer;
}

/** The SDK's answer to a streamed request. */
function streamed(
  answer: ChatResult | AsyncIterable<ChatStreamChunk>,
): AsyncIterable<ChatStreamChunk> {
  if (!(Symbol.asyncIterator in answer))
    throw new Error("a completion where a stream was expected");
  return answer;
}

/** The `data:` events of an SSE body, parsed. */
function events(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("data: ") && line !== "data: [DONE]")
    .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
}

/** Chat completions as `@openrouter/sdk` reads them, through its own client and schemas. */
describe("chat completions against @openrouter/sdk", () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let broken: Server;
  let server: RunningServer;
  let key: string;

  beforeAll(async () => {
    db = await sqlite.fresh();
    upstream = await startUpstream();
    broken = await errorFirstUpstream();
    const { port } = broken.address() as AddressInfo;
    server = await startKeyport(db, upstream, {
      extraUpstreams: [
        {
          name: "broken",
          baseUrl: `http://127.0.0.1:${port}/v1`,
          models: [{ id: "broken/first", promptPrice: 0, completionPrice: 0 }],
        },
      ],
    });
    ({ key } = await mintKeyFor(server, { limit: 1 }));
  });

  afterAll(async () => {
    await server?.close();
    await upstream?.close();
    broken?.close();
    await db?.drop();
  });

  it("a JSON completion parses in the SDK, system_fingerprint present", async () => {
    const result = whole(
      await openRouterSdk(server, key).chat.send({
        chatRequest: { model: "keyport/echo", messages: hi },
      }),
    );
    expect(result.choices[0]?.message.content).toBe("hello there");
    expect(result.systemFingerprint).toBeNull();
    const raw = await (await chat(server, key, { model: "fake/chat", messages: hi })).json();
    expect(raw).toHaveProperty("system_fingerprint", null);
    sdkParse(ChatResult$inboundSchema, raw);
  });

  it("a stream parses chunk by chunk in the SDK, usage last", async () => {
    const stream = streamed(
      await openRouterSdk(server, key).chat.send({
        chatRequest: { model: "keyport/echo", messages: hi, stream: true },
      }),
    );
    let text = "";
    let cost: number | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) cost = chunk.usage.cost;
    }
    expect(text).toBe("hello there");
    expect(cost).toBeGreaterThan(0);
  });

  it("a mid-stream upstream error is a chunk in OpenRouter's shape, its text withheld", async () => {
    const stream = streamed(
      await openRouterSdk(server, key).chat.send({
        chatRequest: { model: "fake/leaky", messages: hi, stream: true },
      }),
    );
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1);
    expect(last?.choices[0]?.finishReason).toBe("error");
    expect(last?.error).toMatchObject({ code: 502 });
    expect(last?.error?.message).toMatch(/upstream provider failed mid-stream/);
    expect(JSON.stringify(chunks)).not.toContain("db.internal");
  });

  it("an upstream that fails before its first chunk: the error chunk carries the request's id", async () => {
    const response = await chat(server, key, { model: "broken/first", messages: hi, stream: true });
    const requestId = response.headers.get("x-request-id");
    const [chunk, ...rest] = events(await response.text());
    expect(rest).toEqual([]);
    sdkParse(ChatStreamChunk$inboundSchema, chunk);
    expect(chunk).toMatchObject({
      id: requestId,
      object: "chat.completion.chunk",
      model: "broken/first",
      choices: [{ finish_reason: "error" }],
      error: { code: 502 },
    });
    expect(JSON.stringify(chunk)).not.toContain("internal.example");
  });

  it("an unknown model is a 400 the SDK reports as a bad request (not retried)", async () => {
    const error = await openRouterSdk(server, key)
      .chat.send({ chatRequest: { model: "nobody/serves-this", messages: hi } })
      .catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(BadRequestResponseError);
    expect((error as BadRequestResponseError).statusCode).toBe(400);
    expect((error as Error).message).toContain("nobody/serves-this is not a valid model ID");
  });
});
