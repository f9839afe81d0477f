import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ChatResult, ChatStreamChunk } from "@openrouter/sdk/models";
import { ChatStreamChunk$inboundSchema } from "@openrouter/sdk/models";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { KEEP_ALIVE_COMMENT } from "../../src/gateway/sse-relay.js";
import type { RunningServer } from "../../src/index.js";
import type { TestDatabase } from "../support/databases.js";
import { dialects } from "../support/databases.js";
import { openRouterSdk, sdkParse } from "../support/openrouter-sdk.js";
import {
  chat,
  eventually,
  type FakeUpstream,
  keyInfo,
  mintKeyFor,
  startKeyport,
  startUpstream,
} from "./support.js";

const sqlite = dialects[0];
if (!sqlite) throw new Error("no SQLite dialect");

const hi = [{ role: "user" as const, content: "hello there" }];
const SECRET_TEXT = "db.internal.example:5432";

/** One request the slow upstream holds: nothing at all is sent back until `answer()`. */
interface HeldRequest {
  readonly model: string;
  /** The upstream has written something (headers or body) back. */
  answered: boolean;
  /** Keyport closed the connection before the upstream answered. */
  aborted: boolean;
  answer(): void;
}

/**
 * An OpenAI-compatible upstream that sends not even its response headers until the test lets a
 * request go: `slow/chat` then streams two words and its usage, `slow/500` and `slow/429` refuse.
 */
async function slowUpstream(): Promise<{ server: Server; held: HeldRequest[] }> {
  const held: HeldRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = "";
    req.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    req.on("end", () => {
      const model = String((JSON.parse(text) as { model: string }).model);
      const request: HeldRequest = {
        model,
        answered: false,
        aborted: false,
        answer() {
          request.answered = true;
          if (model === "slow/chat") {
            res.writeHead(200, { "content-type": "text/event-stream" });
            for (const word of ["slow", " answer"])
              res.write(
                `data: ${JSON.stringify({ id: "gen-slow", object: "chat.completion.chunk", created: 1, model, choices: [{ index: 0, delta: { content: word }, finish_reason: null }] })}\n\n`,
              );
            res.write(
              `data: ${JSON.stringify({ id: "gen-slow", object: "chat.completion.chunk", created: 1, model, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } })}\n\n`,
            );
            res.end("data: [DONE]\n\n");
            return;
          }
          const status = model === "slow/429" ? 429 : 500;
          res.writeHead(status, { "content-type": "application/json", "retry-after": "7" });
          res.end(JSON.stringify({ error: { message: `${SECRET_TEXT} is down` } }));
        },
      };
      res.on("close", () => {
        if (!request.answered) request.aborted = true;
      });
      held.push(request);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, held };
}

/** Reads an SSE body until `until` matches what came so far. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  seen: { text: string },
  until: (text: string) => boolean,
): Promise<void> {
  const decoder = new TextDecoder();
  while (!until(seen.text)) {
    const { done, value } = await reader.read();
    if (done) return;
    seen.text += decoder.decode(value, { stream: true });
  }
}

/** The SDK's answer to a streamed request. */
function streamed(
  answer: ChatResult | AsyncIterable<ChatStreamChunk>,
): AsyncIterable<ChatStreamChunk> {
  if (!(Symbol.asyncIterator in answer))
    throw new Error("a completion where a stream was expected");
  return answer;
}

/**
 * Keep-alives before the upstream's first byte: a client that streams gets the response headers
 * and `: KEYPORT PROCESSING` comments while the upstream has not even sent its headers; an upstream
 * that then refuses ends the stream with OpenRouter's error chunk, billed nothing.
 */
describe("SSE keep-alives while the upstream has not answered", () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let slow: { server: Server; held: HeldRequest[] };
  let server: RunningServer;

  beforeAll(async () => {
    db = await sqlite.fresh();
    upstream = await startUpstream();
    slow = await slowUpstream();
    const { port } = slow.server.address() as AddressInfo;
    server = await startKeyport(db, upstream, {
      // One request in flight per key: a slot a refused stream kept would block the next call.
      config: { gatewayMaxInFlight: 1, upstreamTimeoutMs: 30_000 },
      extraUpstreams: [
        {
          name: "slow",
          baseUrl: `http://127.0.0.1:${port}/v1`,
          models: ["slow/chat", "slow/500", "slow/429"].map((id) => ({
            id,
            promptPrice: 0.000001,
            completionPrice: 0.00001,
            maxTokens: 100,
          })),
        },
      ],
    });
  });

  afterAll(async () => {
    await server?.close();
    await upstream?.close();
    slow?.server.close();
    await db?.drop();
  });

  /** The request the slow upstream holds for `model`, once it has arrived. */
  const heldFor = (model: string) =>
    eventually(() => slow.held.find((request) => request.model === model && !request.answered));

  it("the client gets headers and a keep-alive before the upstream sent anything, then the answer", async () => {
    const { key, hash } = await mintKeyFor(server, { limit: 1 });
    const response = await chat(server, key, { model: "slow/chat", messages: hi, stream: true });
    // Headers are here, and the upstream has not answered: it only does when the test says so.
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const request = await heldFor("slow/chat");
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const seen = { text: "" };
    await readUntil(reader, seen, (text) => text.includes(KEEP_ALIVE_COMMENT));
    expect(seen.text.startsWith(KEEP_ALIVE_COMMENT)).toBe(true);
    expect(request.answered).toBe(false);

    request.answer();
    await readUntil(reader, seen, () => false);
    const data = seen.text.split("\n").filter((line) => line.startsWith("data: "));
    expect(data.at(-1)).toBe("data: [DONE]");
    const chunks = data
      .slice(0, -1)
      .map((line) => sdkParse(ChatStreamChunk$inboundSchema, JSON.parse(line.slice(6))));
    expect(
      chunks.map((chunk) => (chunk as ChatStreamChunk).choices[0]?.delta.content).join(""),
    ).toBe("slow answer");
    // 10 prompt tokens at 1 micro-credit, 2 completion tokens at 10.
    expect(await keyInfo(server, key)).toMatchObject({ usage: 0.00003, limit_remaining: 0.99997 });
    const [record] = await server.store.listRequests(hash, 1);
    expect(record).toMatchObject({ model: "slow/chat", status: 200, costMicros: 30 });
  });

  it.each([
    ["slow/500", 502],
    ["slow/429", 429],
  ])(
    "%s refusing after the headers went out is an error chunk the SDK reads, billed nothing",
    async (model, code) => {
      vi.spyOn(console, "error").mockImplementation(() => {});
      const { key, hash } = await mintKeyFor(server, { limit: 1 });
      // The SDK's call resolves once the response headers are in: the upstream is still held.
      const answer = await openRouterSdk(server, key).chat.send({
        chatRequest: { model, messages: hi, stream: true },
      });
      const request = await heldFor(model);
      expect(request.answered).toBe(false);
      request.answer();
      const chunks: ChatStreamChunk[] = [];
      for await (const chunk of streamed(answer)) chunks.push(chunk);
      expect(chunks).toHaveLength(1);
      expect(chunks[0]?.choices[0]?.finishReason).toBe("error");
      expect(chunks[0]?.error).toMatchObject({ code });
      expect(JSON.stringify(chunks)).not.toContain(SECRET_TEXT);

      // Nothing billed, nothing held: the reservation is released and the in-flight slot free.
      expect(await keyInfo(server, key)).toMatchObject({ usage: 0, limit_remaining: 1 });
      expect((await server.store.findKey(hash))?.reservedMicros).toBe(0);
      const [record] = await server.store.listRequests(hash, 1);
      expect(record).toMatchObject({ model, status: code, costMicros: 0 });
      const next = await chat(server, key, { model: "keyport/echo", messages: hi });
      expect(next.status).toBe(200);
      vi.restoreAllMocks();
    },
  );

  it("a client that leaves while the upstream has not answered cancels it and frees its slot", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { key, hash } = await mintKeyFor(server, { limit: 1 });
    const controller = new AbortController();
    const response = await chat(
      server,
      key,
      { model: "slow/chat", messages: hi, stream: true, max_tokens: 100 },
      { signal: controller.signal },
    );
    const request = await heldFor("slow/chat");
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await readUntil(reader, { text: "" }, (text) => text.includes(KEEP_ALIVE_COMMENT));
    controller.abort();
    await eventually(() => (request.aborted ? true : undefined));
    // Billed as a stream cut before the upstream's first byte: the whole reservation stays spent
    // (the upstream may have been generating), and nothing stays reserved or in flight.
    const record = await eventually(async () => (await server.store.listRequests(hash, 1))[0]);
    expect(record).toMatchObject({ status: 499 });
    const stored = await server.store.findKey(hash);
    expect(stored?.reservedMicros).toBe(0);
    expect(stored?.usageMicros).toBe(record.costMicros);
    expect(record.costMicros).toBeGreaterThan(0);
    const next = await chat(server, key, { model: "keyport/echo", messages: hi });
    expect(next.status).toBe(200);
    vi.restoreAllMocks();
  });
});
