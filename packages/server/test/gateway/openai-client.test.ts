import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/index.js";
import { type Dialect, dialects, type TestDatabase } from "../support/databases.js";
import { type FakeUpstream, keyInfo, mintKeyFor, startKeyport, startUpstream } from "./support.js";

describe.each(dialects)(
  "the official openai client against Keyport ($name)",
  (dialect: Dialect) => {
    let db: TestDatabase;
    let upstream: FakeUpstream;
    let server: RunningServer;
    let key: string;
    let client: OpenAI;

    beforeAll(async () => {
      db = await dialect.fresh();
      upstream = await startUpstream();
      server = await startKeyport(db, upstream);
      ({ key } = await mintKeyFor(server, { limit: 5 }));
      client = new OpenAI({ baseURL: `${server.url}/api/v1`, apiKey: key, maxRetries: 0 });
    });
    afterAll(async () => {
      await server.close();
      await upstream.close();
      await db.drop();
    });

    it("lists keyport/echo, labelled as a test model, and the configured models with prices", async () => {
      const models = [];
      for await (const model of client.models.list())
        models.push(model as unknown as Record<string, unknown>);
      const echo = models.find((model) => model.id === "keyport/echo");
      expect(echo?.description).toMatch(/TEST MODEL/);
      const chat = models.find((model) => model.id === "fake/chat");
      expect(chat?.pricing).toEqual({ prompt: "0.000001", completion: "0.00001", request: "0" });
    });

    it("completes without streaming, forwarding with the upstream's key and adding usage.cost", async () => {
      const before = upstream.requests.length;
      const completion = await client.chat.completions.create({
        model: "fake/chat",
        messages: [{ role: "user", content: "Say hello" }],
      });
      expect(completion.choices[0]?.message.content).toBe("Hello from the fake upstream");
      expect(completion.usage).toMatchObject({
        prompt_tokens: 10,
        completion_tokens: 5,
        cost: 0.00006,
      });
      const seen = upstream.requests[before];
      expect(seen?.headers.authorization).toBe("Bearer sk-upstream-secret");
      expect(seen?.body.model).toBe("fake/chat");
    });

    it("streams, ending with usage (tokens and cost) in the final chunk", async () => {
      const stream = await client.chat.completions.create({
        model: "fake/chat",
        messages: [{ role: "user", content: "Say hello" }],
        stream: true,
      });
      let text = "";
      let usage: Record<string, unknown> | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        if (chunk.usage) usage = chunk.usage as unknown as Record<string, unknown>;
      }
      expect(text).toBe("Hello from the fake upstream");
      expect(usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 5, cost: 0.00006 });
    });

    it("talks to keyport/echo offline, word by word, deterministically", async () => {
      const stream = await client.chat.completions.create({
        model: "keyport/echo",
        messages: [{ role: "user", content: "one two three four" }],
        stream: true,
      });
      const deltas: string[] = [];
      let cost: unknown;
      for await (const chunk of stream) {
        const content = chunk.choices[0]?.delta.content;
        if (content) deltas.push(content);
        if (chunk.usage) cost = (chunk.usage as unknown as { cost: unknown }).cost;
      }
      expect(deltas).toEqual(["one", " two", " three", " four"]);
      expect(cost).toBe(0.000012); // 4 prompt words × 1 + 4 reply words × 2 micro-credits
      const plain = await client.chat.completions.create({
        model: "keyport/echo",
        messages: [{ role: "user", content: "one two three four" }],
        max_tokens: 2,
      });
      expect(plain.choices[0]).toMatchObject({
        message: { content: "one two" },
        finish_reason: "length",
      });
    });

    it("reports what was spent in GET /api/v1/key, in every window", async () => {
      const data = await keyInfo(server, key);
      const spent = 0.00006 * 2 + 0.000012 + (4 * 1 + 2 * 2) / 1e6;
      expect(data.usage).toBeCloseTo(spent, 9);
      expect(data.usage_daily).toBeCloseTo(spent, 9);
      expect(data.usage_weekly).toBeCloseTo(spent, 9);
      expect(data.usage_monthly).toBeCloseTo(spent, 9);
      expect(data.limit_remaining).toBeCloseTo(5 - spent, 9);
    });

    it("surfaces Keyport's errors as the client's typed errors", async () => {
      const error = await client.chat.completions
        .create({ model: "nobody/serves-this", messages: [{ role: "user", content: "hi" }] })
        .catch((e: unknown) => e);
      // A 400 as on OpenRouter, which the client does not retry (a 503 it would, three times).
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
      expect((error as Error).message).toContain("nobody/serves-this is not a valid model ID");
      const anonymous = new OpenAI({
        baseURL: `${server.url}/api/v1`,
        apiKey: "sk-kp-v1-nope",
        maxRetries: 0,
      });
      await expect(
        anonymous.chat.completions.create({
          model: "keyport/echo",
          messages: [{ role: "user", content: "hi" }],
        }),
      ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    });

    it("gets a mid-stream upstream failure as an error from the stream", async () => {
      const stream = await client.chat.completions.create({
        model: "fake/die",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
      });
      const consume = async () => {
        for await (const _ of stream) {
          // read on
        }
      };
      await expect(consume()).rejects.toBeInstanceOf(OpenAI.APIError);
    });
  },
);
