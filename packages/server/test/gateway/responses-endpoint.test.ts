import { describe, expect, it } from "vitest";
import { type Dialect, dialects } from "../support/databases.js";
import { openRouterSdk } from "../support/openrouter-sdk.js";
import { useEndpointsKeyport } from "./endpoints-keyport.js";
import { dataEvents, openaiClient, post } from "./endpoints-support.js";
import { eventually, keyInfo, mintKeyFor } from "./support.js";

describe.each(dialects)(
  "POST /api/v1/responses, translated to chat ($name)",
  (dialect: Dialect) => {
    const running = useEndpointsKeyport(dialect);

    it("answers the openai client's responses.create with keyport/echo, metered and recorded", async () => {
      const { key } = await mintKeyFor(running.server, { limit: 1 });
      const client = openaiClient(running.server.url, key);
      const response = await client.responses.create({
        model: "keyport/echo",
        instructions: "be brief",
        input: "one two three",
        max_output_tokens: 2,
      });
      expect(response.object).toBe("response");
      expect(response.output_text).toBe("one two");
      expect(response.status).toBe("incomplete");
      expect(response.incomplete_details).toEqual({ reason: "max_output_tokens" });
      expect(response.instructions).toBe("be brief");
      // Prompt: 2 + 3 words; answer: 2 words at 2 micro-credits.
      expect(response.usage).toMatchObject({ input_tokens: 5, output_tokens: 2, total_tokens: 7 });
      expect((response.usage as unknown as { cost: number }).cost).toBe(0.000009);
      const generation = await fetch(`${running.server.url}/api/v1/generation?id=${response.id}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(((await generation.json()) as { data: Record<string, unknown> }).data).toMatchObject({
        api_type: "responses",
        total_cost: 0.000009,
      });
    });

    it("streams Responses events to the openai client, from created to completed with usage", async () => {
      const { key } = await mintKeyFor(running.server, { limit: 1 });
      const client = openaiClient(running.server.url, key);
      const stream = await client.responses.create({
        model: "keyport/echo",
        input: [{ role: "user", content: [{ type: "input_text", text: "alpha beta" }] }],
        stream: true,
      });
      const types: string[] = [];
      let text = "";
      let completed: Record<string, unknown> | undefined;
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === "response.output_text.delta") text += event.delta;
        if (event.type === "response.completed")
          completed = event.response as unknown as Record<string, unknown>;
      }
      expect(text).toBe("alpha beta");
      expect(types[0]).toBe("response.created");
      expect(types).toContain("response.output_item.added");
      expect(types.at(-1)).toBe("response.completed");
      expect(completed?.usage).toMatchObject({ input_tokens: 2, output_tokens: 2, cost: 0.000006 });
      expect((await keyInfo(running.server, key)).usage).toBeCloseTo(0.000006, 9);
    });

    it("validates against @openrouter/sdk's responses.send, streamed and not, through an running.upstream's chat", async () => {
      const { key } = await mintKeyFor(running.server, { limit: 1 });
      const sdk = openRouterSdk(running.server, key);
      const before = running.upstream.seen.length;
      const whole = await sdk.responses.send({
        responsesRequest: { model: "up/ok", input: "hi", instructions: "sys", maxOutputTokens: 20 },
      });
      if (Symbol.asyncIterator in whole) throw new Error("a stream where a response was expected");
      expect(whole.status).toBe("completed");
      expect(JSON.stringify(whole.output)).toContain("Hello from the loopback");
      expect(running.upstream.seen[before]).toMatchObject({
        path: "/chat/completions",
        body: {
          model: "up/ok",
          max_tokens: 20,
          messages: [
            { role: "system", content: "sys" },
            { role: "user", content: "hi" },
          ],
        },
      });
      const streamed = await sdk.responses.send({
        responsesRequest: { model: "up/ok", input: "hi", stream: true },
      });
      if (!(Symbol.asyncIterator in streamed))
        throw new Error("a response where a stream was expected");
      const types: string[] = [];
      for await (const event of streamed as AsyncIterable<{ type: string }>) types.push(event.type);
      expect(types.at(-1)).toBe("response.completed");
    });

    it("refuses what it cannot translate or price with 400 in OpenRouter's shape, forwarding nothing", async () => {
      const { key } = await mintKeyFor(running.server, { limit: 1 });
      const before = running.upstream.seen.length;
      for (const [body, field] of [
        [{ model: "up/ok" }, /input/],
        [{ model: "up/ok", input: [] }, /input/],
        [
          {
            model: "up/ok",
            input: [{ role: "user", content: [{ type: "input_image", image_url: "http://x" }] }],
          },
          /input\.0\.content\.0/,
        ],
        [
          { model: "up/ok", input: [{ type: "function_call_output", call_id: "c", output: "x" }] },
          /input\.0/,
        ],
        [{ model: "up/ok", input: [{ role: "tool", content: "x" }] }, /role/],
        [{ model: "up/ok", input: "x", tools: [{ type: "web_search" }] }, /tools/],
        [{ model: "up/ok", input: "x", previous_response_id: "resp_1" }, /previous_response_id/],
        [{ model: "up/ok", input: "x", max_output_tokens: 0 }, /max_output_tokens/],
        [{ model: "up/ok", input: "x", instructions: 5 }, /instructions/],
        [{ model: "up/ok:warp", input: "x" }, /:warp/],
      ] as const) {
        const response = await post(running.server.url, "/responses", key, body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        const error = ((await response.json()) as { error: { code: number; message: string } })
          .error;
        expect(error.code).toBe(400);
        expect(error.message).toMatch(field);
      }
      expect(running.upstream.seen.length).toBe(before);
    });

    it("an running.upstream error mid-way is response.failed; a 200 carrying an error is a 502; both billed nothing", async () => {
      const { key } = await mintKeyFor(running.server, { limit: 1 });
      const json = await post(running.server.url, "/responses", key, {
        model: "up/err200",
        input: "x",
      });
      expect(json.status).toBe(502);
      expect(await json.text()).not.toMatch(/secret-host/);
      const streamed = await post(running.server.url, "/responses", key, {
        model: "up/500",
        input: "x",
        stream: true,
      });
      const text = await streamed.text();
      expect(text).not.toMatch(/db\.internal/);
      if (streamed.status === 200) {
        const last = dataEvents(text).at(-1);
        expect(last?.type).toBe("response.failed");
      } else {
        expect(streamed.status).toBe(502);
      }
      expect((await keyInfo(running.server, key)).usage).toBe(0);
    });

    it("a client hanging up mid-stream cancels the running.upstream; the reservation stays spent (no usage was reported)", async () => {
      const { key } = await mintKeyFor(running.server, { limit: 1 });
      const before = running.upstream.seen.length;
      const raw = JSON.stringify({
        model: "up/endless",
        input: "go",
        max_output_tokens: 50,
        stream: true,
      });
      const controller = new AbortController();
      const response = await fetch(`${running.server.url}/api/v1/responses`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: raw,
        signal: controller.signal,
      });
      const reader = response.body?.getReader();
      if (!reader) throw new Error("no body");
      let seen = "";
      while (!seen.includes("w2")) seen += new TextDecoder().decode((await reader.read()).value);
      expect(seen).toContain("event: response.output_text.delta");
      controller.abort();
      await eventually(() => (running.upstream.seen[before]?.aborted ? true : undefined));
      const usage = await eventually(async () => {
        const info = await keyInfo(running.server, key);
        return info.usage !== 0 ? (info.usage as number) : undefined;
      });
      // The translated chat body is what was reserved for: its bytes, plus 50 tokens at 10 micro.
      const forwarded = running.upstream.seen[before]?.body as Record<string, unknown>;
      expect(forwarded.max_tokens).toBe(50);
      expect(usage).toBeGreaterThanOrEqual((50 * 10) / 1_000_000);
      expect(usage).toBeLessThanOrEqual(0.01);
    });
  },
);
