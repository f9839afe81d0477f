import { describe, expect, it } from "vitest";
import { type Dialect, dialects } from "../support/databases.js";
import { useEndpointsKeyport } from "./endpoints-keyport.js";
import { dataEvents, generation, openaiClient, post } from "./endpoints-support.js";
import { eventually, keyInfo, mintKeyFor } from "./support.js";

describe.each(dialects)("POST /api/v1/completions, the prompt form ($name)", (dialect: Dialect) => {
  const running = useEndpointsKeyport(dialect);

  it("keyport/echo answers a string prompt and a list of prompts through the openai client, metered", async () => {
    const { key } = await mintKeyFor(running.server, { limit: 1 });
    const client = openaiClient(running.server.url, key);
    const one = await client.completions.create({ model: "keyport/echo", prompt: "one two three" });
    expect(one.object).toBe("text_completion");
    expect(one.choices[0]?.text).toBe("one two three");
    // 3 prompt words × 1 micro + 3 reply words × 2 micro.
    expect(one.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 3, cost: 0.000009 });
    const many = await client.completions.create({ model: "keyport/echo", prompt: ["a b", "c"] });
    expect(many.choices.map((choice) => [choice.index, choice.text])).toEqual([
      [0, "a b"],
      [1, "c"],
    ]);
    const record = await generation(running.server.url, key, one.id);
    expect(record).toMatchObject({
      api_type: "completions",
      total_cost: 0.000009,
      model: "keyport/echo",
    });
    expect((await keyInfo(running.server, key)).usage).toBeCloseTo(0.000009 + 0.000009, 9);
  });

  it("streams keyport/echo's text chunks, ending with usage and [DONE]", async () => {
    const { key } = await mintKeyFor(running.server, { limit: 1 });
    const client = openaiClient(running.server.url, key);
    const stream = await client.completions.create({
      model: "keyport/echo",
      prompt: "alpha beta gamma",
      stream: true,
    });
    let text = "";
    let usage: Record<string, unknown> | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("text_completion");
      text += chunk.choices[0]?.text ?? "";
      if (chunk.usage) usage = chunk.usage as unknown as Record<string, unknown>;
    }
    expect(text).toBe("alpha beta gamma");
    expect(usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 3, cost: 0.000009 });
  });

  it("forwards to the running.upstream's /completions, with max_tokens bounding a key with a limit", async () => {
    const { key } = await mintKeyFor(running.server, { limit: 1 });
    const before = running.upstream.seen.length;
    const response = await post(running.server.url, "/completions", key, {
      model: "up/ok",
      prompt: "hi",
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      object: "text_completion",
      choices: [{ text: "Hello from the loopback" }],
    });
    // 10 prompt tokens × 1 micro + 5 completion × 10 micro.
    expect((body.usage as Record<string, unknown>).cost).toBe(0.00006);
    const seen = running.upstream.seen[before];
    expect(seen?.path).toBe("/completions");
    expect(seen?.body).toMatchObject({ model: "up/ok", prompt: "hi", max_tokens: 100 });
  });

  it("bills a greedy running.upstream no more than the reservation", async () => {
    const { key } = await mintKeyFor(running.server, { limit: 1 });
    const response = await post(running.server.url, "/completions", key, {
      model: "up/greedy",
      prompt: "hi",
      max_tokens: 10,
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { usage: { cost: number } };
    const raw = JSON.stringify({ model: "up/greedy", prompt: "hi", max_tokens: 10 });
    // The reservation: the body's bytes as prompt tokens + 10 completion tokens.
    const reserved = (Buffer.byteLength(raw) * 1 + 10 * 10) / 1_000_000;
    expect(body.usage.cost).toBeCloseTo(reserved, 9);
    expect((await keyInfo(running.server, key)).usage).toBeCloseTo(reserved, 9);
  });

  it("a list of prompts reserves its worst case once per prompt", async () => {
    // Room for one prompt's worst case, not for two.
    const raw = JSON.stringify({ model: "up/ok", prompt: ["a", "b"], max_tokens: 100 });
    const perPrompt = Buffer.byteLength(raw) + 100 * 10;
    const { key } = await mintKeyFor(running.server, { limit: (perPrompt + 500) / 1_000_000 });
    const before = running.upstream.seen.length;
    const refused = await post(running.server.url, "/completions", key, raw);
    expect(refused.status).toBe(402);
    expect(running.upstream.seen.length).toBe(before);
    const single = await post(running.server.url, "/completions", key, {
      model: "up/ok",
      prompt: "a",
      max_tokens: 100,
    });
    expect(single.status).toBe(200);
  });

  it("refuses bad input with 400 in OpenRouter's shape, forwarding nothing", async () => {
    const { key } = await mintKeyFor(running.server, { limit: 1 });
    const before = running.upstream.seen.length;
    for (const [body, field] of [
      [{ model: "up/ok" }, /prompt/],
      [{ model: "up/ok", prompt: 42 }, /prompt/],
      [{ model: "up/ok", prompt: [1, 2, 3] }, /prompt/],
      [{ model: "up/ok", prompt: [] }, /prompt/],
      [{ model: "up/ok", prompt: "x", max_tokens: -1 }, /max_tokens/],
      [{ model: "up/ok:turbo", prompt: "x" }, /:turbo/],
      ["{not json", /JSON/],
    ] as const) {
      const response = await post(running.server.url, "/completions", key, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const error = ((await response.json()) as { error: { code: number; message: string } }).error;
      expect(error.code).toBe(400);
      expect(error.message).toMatch(field);
    }
    expect(running.upstream.seen.length).toBe(before);
    expect((await keyInfo(running.server, key)).usage).toBe(0);
  });

  it("a 200 carrying an error is a sanitized 502 billed nothing", async () => {
    const { key } = await mintKeyFor(running.server, { limit: 1 });
    const response = await post(running.server.url, "/completions", key, {
      model: "up/err200",
      prompt: "x",
    });
    expect(response.status).toBe(502);
    expect(await response.text()).not.toMatch(/secret-host/);
    expect((await keyInfo(running.server, key)).usage).toBe(0);
  });

  it("a client hanging up mid-stream cancels the running.upstream and keeps the reservation spent (no usage reported yet)", async () => {
    const { key } = await mintKeyFor(running.server, { limit: 1 });
    const before = running.upstream.seen.length;
    const raw = JSON.stringify({ model: "up/endless", prompt: "go", max_tokens: 50, stream: true });
    const controller = new AbortController();
    const response = await fetch(`${running.server.url}/api/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: raw,
      signal: controller.signal,
    });
    const reader = response.body?.getReader();
    if (!reader) throw new Error("no body");
    let seenText = "";
    while (!seenText.includes("w2"))
      seenText += new TextDecoder().decode((await reader.read()).value);
    expect(dataEvents(seenText.slice(0, seenText.lastIndexOf("\n\n") + 2))[0]).toMatchObject({
      object: "text_completion",
    });
    controller.abort();
    await eventually(() => (running.upstream.seen[before]?.aborted ? true : undefined));
    const reserved = (Buffer.byteLength(raw) + 50 * 10) / 1_000_000;
    const usage = await eventually(async () => {
      const info = await keyInfo(running.server, key);
      return info.usage !== 0 ? (info.usage as number) : undefined;
    });
    expect(usage).toBeCloseTo(reserved, 9);
  });
});
