import { describe, expect, it } from "vitest";
import { type Dialect, dialects } from "../support/databases.js";
import { openRouterSdk } from "../support/openrouter-sdk.js";
import { useEndpointsKeyport } from "./endpoints-keyport.js";
import { openaiClient, post } from "./endpoints-support.js";
import { keyInfo, mintKeyFor } from "./support.js";

describe.each(dialects)("POST /api/v1/embeddings ($name)", (dialect: Dialect) => {
  const running = useEndpointsKeyport(dialect);

  it("keyport/echo embeds deterministically (openai client), billed by prompt tokens", async () => {
    const { key } = await mintKeyFor(running.server, { limit: 1 });
    const client = openaiClient(running.server.url, key);
    const first = await client.embeddings.create({
      model: "keyport/echo",
      input: ["one two", "three"],
      encoding_format: "float",
    });
    expect(first.object).toBe("list");
    expect(first.data.map((item) => [item.object, item.index, item.embedding.length])).toEqual([
      ["embedding", 0, 8],
      ["embedding", 1, 8],
    ]);
    const norm = Math.hypot(...(first.data[0]?.embedding ?? []));
    expect(norm).toBeCloseTo(1, 5);
    // 3 words at 1 micro-credit each.
    expect(first.usage).toMatchObject({ prompt_tokens: 3, total_tokens: 3, cost: 0.000003 });
    const again = await client.embeddings.create({
      model: "keyport/echo",
      input: "one two",
      encoding_format: "float",
    });
    expect(again.data[0]?.embedding).toEqual(first.data[0]?.embedding);
    expect((await keyInfo(running.server, key)).usage).toBeCloseTo(0.000005, 9);
  });

  it("validates against @openrouter/sdk's schema, through an running.upstream's /embeddings", async () => {
    const { key } = await mintKeyFor(running.server, { limit: 1 });
    const before = running.upstream.seen.length;
    const answer = await openRouterSdk(running.server, key).embeddings.generate({
      requestBody: { model: "up/ok", input: ["a", "b"] },
    });
    if (typeof answer === "string") throw new Error("a string answer");
    expect(answer.data).toHaveLength(2);
    // 10 prompt tokens at 1 micro-credit; completion tokens are not part of embeddings.
    expect(answer.usage?.cost).toBe(0.00001);
    expect(running.upstream.seen[before]).toMatchObject({
      path: "/embeddings",
      body: { model: "up/ok", input: ["a", "b"] },
    });
  });

  it("a greedy running.upstream is charged at most the reservation: the body's bytes at the prompt price", async () => {
    const { key } = await mintKeyFor(running.server, { limit: 1 });
    const raw = JSON.stringify({ model: "up/greedy", input: "x" });
    const response = await post(running.server.url, "/embeddings", key, raw);
    expect(response.status).toBe(200);
    // It reports 900,000 prompt tokens for one letter: the key pays the body's bytes at most.
    const cap = Buffer.byteLength(raw) / 1_000_000;
    expect(((await response.json()) as { usage: { cost: number } }).usage.cost).toBeCloseTo(cap, 9);
    expect((await keyInfo(running.server, key)).usage).toBeCloseTo(cap, 9);
  });

  it("refuses bad input with 400 in OpenRouter's shape, forwarding and billing nothing", async () => {
    const { key } = await mintKeyFor(running.server, { limit: 1 });
    const before = running.upstream.seen.length;
    for (const body of [
      { model: "up/ok" },
      { model: "up/ok", input: 7 },
      { model: "up/ok", input: [] },
      { model: "up/ok", input: [{ type: "image_url", image_url: { url: "http://x/y.png" } }] },
      { model: "up/ok", input: "x", stream: true },
      { model: "up/ok", input: "x", provider: "fast" },
    ]) {
      const response = await post(running.server.url, "/embeddings", key, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const error = ((await response.json()) as { error: { code: number; message: string } }).error;
      expect(error.code).toBe(400);
      expect(error.message).toMatch(/input|stream|provider/);
    }
    expect(running.upstream.seen.length).toBe(before);
    expect((await keyInfo(running.server, key)).usage).toBe(0);
  });

  it("an running.upstream's 500 and a 200 carrying an error are sanitized 502s billed nothing", async () => {
    const { key } = await mintKeyFor(running.server, { limit: 1 });
    for (const model of ["up/500", "up/err200"]) {
      const response = await post(running.server.url, "/embeddings", key, { model, input: "x" });
      expect(response.status, model).toBe(502);
      expect(await response.text()).not.toMatch(/db\.internal|secret-host/);
    }
    expect((await keyInfo(running.server, key)).usage).toBe(0);
  });
});
