import { describe, expect, it, vi } from "vitest";
import type { TokenUsage } from "../../src/gateway/pricing.js";
import { SseUsage, type SseUsageOptions, type StreamHead } from "../../src/gateway/sse-usage.js";

/** An upstream's `data:` event for `fields`, as OpenRouter and OpenAI frame them. */
function event(fields: Record<string, unknown>): string {
  return `data: ${JSON.stringify({ object: "chat.completion.chunk", ...fields })}\n\n`;
}

const content = (text: string, id = "gen-1") =>
  event({ id, created: 7, model: "m/x", choices: [{ index: 0, delta: { content: text } }] });

const USAGE = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };

/** A parser whose charge is 0.25 credits per report and whose error line names the head's id. */
function parser(options: Partial<SseUsageOptions> = {}) {
  const chargedCredits = vi.fn((_usage: TokenUsage) => 0.25);
  const errorLine = vi.fn(
    (_payload: string, head: StreamHead) =>
      `data: {"error":{"code":502,"message":"sanitized"},"id":${JSON.stringify(head.id)}}`,
  );
  const usage = new SseUsage({ promptBytes: 40, chargedCredits, errorLine, ...options });
  return { usage, chargedCredits, errorLine };
}

/** What the client gets for `text` pushed in pieces cut at every one of `cuts`, then ended. */
function rewrite(usage: SseUsage, text: string, cuts: readonly number[]): string {
  let out = "";
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    out += usage.push(text.slice(from, cut));
    from = cut;
  }
  return out + usage.end("");
}

describe("SseUsage: framing", () => {
  it("passes whole lines through unchanged however the text is cut, mid-line or mid-CRLF", () => {
    const lf = `: OPENROUTER PROCESSING\n\n${content("Hello")}${content(" world")}`;
    const expected = parser().usage.push(lf);
    // The upstream's comment goes (Keyport sends its own keep-alives); its blank line stays.
    expect(expected).toBe(`\n${content("Hello")}${content(" world")}`);
    const crlf = lf.replaceAll("\n", "\r\n");
    for (let cut = 1; cut < crlf.length; cut++) {
      expect(rewrite(parser().usage, crlf, [cut]), `cut at ${cut}`).toBe(expected);
      expect(rewrite(parser().usage, lf, [cut]), `cut at ${cut}`).toBe(expected);
    }
    // One character at a time.
    const cuts = Array.from({ length: crlf.length - 1 }, (_, i) => i + 1);
    expect(rewrite(parser().usage, crlf, cuts)).toBe(expected);
  });

  it("returns nothing for a partial line until its newline arrives", () => {
    const { usage } = parser();
    expect(usage.push('data: {"id":"gen-1","choi')).toBe("");
    expect(usage.push('ces":[]}\r')).toBe("");
    expect(usage.push("\n")).toBe('data: {"id":"gen-1","choices":[]}\n');
  });

  it("end(tail) flushes a last line that has no newline", () => {
    const { usage } = parser();
    expect(usage.push(`${content("a")}data: {"id":"gen-1","choi`)).toBe(content("a"));
    expect(usage.end('ces":[]}')).toBe('data: {"id":"gen-1","choices":[]}\n');
    expect(parser().usage.end("")).toBe("");
    const crlf = parser().usage;
    expect(crlf.push('data: {"id":"x"}\r')).toBe("");
    expect(crlf.end("")).toBe('data: {"id":"x"}\n');
  });

  it("drops what could carry the upstream's own words: comments, other fields, data that is not a JSON object", () => {
    const { usage, errorLine } = parser();
    const text =
      ": proxy upstream=db.internal.example:5432 acct_8675309\n\ndata: internal error: Bearer sk-upstream-secret\n\ndata: 42\n\ndata: null\n\nevent: ping\n\n";
    expect(usage.push(text)).toBe("\n\n\n\n\n");
    expect(usage.upstreamError).toBe(false);
    expect(usage.head).toEqual({});
    expect(errorLine).not.toHaveBeenCalled();
  });

  it("parses an error spelled with escapes, after the first chunk too", () => {
    const { usage, errorLine } = parser();
    usage.push(content("a"));
    const out = usage.push('data: {"\\u0065rror":{"message":"Bearer sk-upstream-secret"}}\n\n');
    expect(usage.upstreamError).toBe(true);
    expect(errorLine).toHaveBeenCalledOnce();
    expect(out).not.toContain("sk-upstream-secret");
  });

  it("drops `data: [DONE]` together with the blank line that ends it", () => {
    const { usage } = parser();
    expect(usage.push(`${content("Hi")}data: [DONE]\n\n`)).toBe(content("Hi"));
    expect(parser().usage.push(`${content("Hi")}data:[DONE]\r\n\r\n`)).toBe(content("Hi"));
    // Split between the event and its blank line.
    const split = parser().usage;
    expect(split.push("data: [DONE]\n")).toBe("");
    expect(split.push("\n")).toBe("");
    expect(split.end("")).toBe("");
  });
});

describe("SseUsage: the usage report", () => {
  it("picks the usage chunk out and rewrites its cost to what the key is charged", () => {
    const { usage, chargedCredits } = parser();
    const out = usage.push(
      content("Hi") + event({ id: "gen-1", choices: [], usage: { ...USAGE, cost: 99 } }),
    );
    const reported: TokenUsage = {
      promptTokens: 10,
      completionTokens: 5,
      reportedCost: 99,
      estimated: false,
    };
    expect(usage.reported).toEqual(reported);
    expect(usage.usage()).toEqual(reported);
    expect(chargedCredits).toHaveBeenCalledOnce();
    expect(chargedCredits).toHaveBeenCalledWith(reported);
    const lines = out.split("\n").filter((line) => line.startsWith("data: "));
    const usageChunk = JSON.parse((lines[1] as string).slice(6));
    expect(usageChunk.usage).toEqual({ ...USAGE, cost: 0.25 });
    expect(out).not.toContain("99");
  });

  it("adds the charged cost to a usage report that had none", () => {
    const { usage } = parser({ chargedCredits: () => 0.000123 });
    const out = usage.push(event({ id: "gen-1", choices: [], usage: USAGE }));
    expect(JSON.parse(out.split("\n")[0]?.slice(6) ?? "").usage.cost).toBe(0.000123);
    expect(usage.reported?.reportedCost).toBeUndefined();
  });

  it("leaves `usage: null` chunks (OpenAI's include_usage) alone and keeps counting", () => {
    const { usage, chargedCredits } = parser();
    const line = event({ id: "gen-1", choices: [{ delta: { content: "abcdefgh" } }], usage: null });
    expect(usage.push(line)).toBe(line);
    expect(chargedCredits).not.toHaveBeenCalled();
    expect(usage.reported).toBeUndefined();
    expect(usage.usage().completionTokens).toBe(2);
  });
});

describe("SseUsage: upstream error events", () => {
  const secret = "sk-upstream-secret at db.internal:5432";
  const errorEvent = (id = "gen-1") =>
    event({ id, error: { code: 500, message: secret, metadata: { raw: secret } } });

  it("replaces the error event with errorLine(payload, head) and never passes the raw payload", () => {
    const { usage, errorLine } = parser();
    const out = usage.push(content("Hi", "gen-9") + errorEvent("gen-other"));
    expect(usage.upstreamError).toBe(true);
    expect(out).not.toContain(secret);
    expect(out).toBe(
      `${content("Hi", "gen-9")}data: {"error":{"code":502,"message":"sanitized"},"id":"gen-9"}\n\n`,
    );
    expect(errorLine).toHaveBeenCalledOnce();
    const [payload, head] = errorLine.mock.calls[0] ?? [];
    expect(JSON.parse(payload as string).error.message).toBe(secret);
    // The head is the first chunk's, not the error event's.
    expect(head).toEqual({ id: "gen-9", created: 7, model: "m/x" });
  });

  it("sanitizes an error event that is the first chunk, cut anywhere", () => {
    const text = errorEvent();
    for (let cut = 1; cut < text.length; cut++) {
      const { usage } = parser();
      const out = rewrite(usage, text, [cut]);
      expect(out, `cut at ${cut}`).not.toContain(secret);
      expect(usage.upstreamError).toBe(true);
    }
  });

  it("treats `error: null` as no error", () => {
    const { usage, errorLine } = parser();
    const line = event({ id: "gen-1", error: null, choices: [] });
    expect(usage.push(line)).toBe(line);
    expect(usage.upstreamError).toBe(false);
    expect(errorLine).not.toHaveBeenCalled();
  });
});

describe("SseUsage: the stream head", () => {
  it("is taken from the first parsed chunk and kept", () => {
    const { usage } = parser();
    usage.push("data: not json\n\n");
    expect(usage.head).toEqual({});
    usage.push(
      event({ id: "gen-first", created: 1, model: "a/first", choices: [] }) +
        event({ id: "gen-second", created: 2, model: "a/second", choices: [] }),
    );
    expect(usage.head).toEqual({ id: "gen-first", created: 1, model: "a/first" });
  });
});

describe("SseUsage: the estimate when the upstream reports no usage", () => {
  it("counts content, delta.reasoning and reasoning_content (about 4 characters a token)", () => {
    const { usage } = parser({ promptBytes: 41 });
    usage.push(
      content("12345678") + // 8 characters, first chunk: parsed at once
        content("abcd") + // deferred
        event({ id: "gen-1", choices: [{ delta: { reasoning: "thinking" } }] }) +
        event({ id: "gen-1", choices: [{ delta: { reasoning_content: "more thought" } }] }) +
        event({ id: "gen-1", choices: [{ delta: { role: "assistant" } }] }) +
        event({ id: "gen-1", choices: [{ delta: { content: "" } }] }),
    );
    // 8 + 4 + 8 + 12 = 32 characters in 4 chunks: max(4, ceil(32 / 4)) = 8 tokens.
    expect(usage.usage()).toEqual({ promptTokens: 11, completionTokens: 8, estimated: true });
  });

  it("counts at least one token per content chunk", () => {
    const { usage } = parser();
    for (let i = 0; i < 6; i++) usage.push(content("a"));
    expect(usage.usage().completionTokens).toBe(6);
  });

  it("counts every chunk of a long stream, past the 256 KiB of deferred lines", () => {
    const { usage } = parser();
    const piece = "x".repeat(1000);
    const chunks = 600; // about 650 KB of lines: more than twice the 256 KiB kept deferred
    for (let i = 0; i < chunks; i++) usage.push(content(piece));
    expect(usage.usage()).toEqual({
      promptTokens: 10,
      completionTokens: (chunks * piece.length) / 4,
      estimated: true,
    });
    // Asking twice counts nothing twice.
    expect(usage.usage().completionTokens).toBe((chunks * piece.length) / 4);
  });

  // Tool-call arguments are completion tokens too: a tool-call stream without a usage chunk (or
  // one that fails mid-stream) is still billed for them.
  it("counts streamed tool-call arguments in the estimate", () => {
    const { usage } = parser();
    const call = (args: string) =>
      event({
        id: "gen-1",
        choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: args } }] } }],
      });
    usage.push(call('{"city":') + call('"Paris, France",') + call('"unit":"celsius"}'));
    // 41 characters of arguments in 3 chunks: at least 11 tokens.
    expect(usage.usage().completionTokens).toBeGreaterThanOrEqual(11);
  });

  it("gives the upstream's report instead once one comes, whatever was counted", () => {
    const { usage } = parser();
    for (let i = 0; i < 10; i++) usage.push(content("x".repeat(400)));
    expect(usage.usage().estimated).toBe(true);
    usage.push(event({ id: "gen-1", choices: [], usage: USAGE }));
    expect(usage.usage()).toEqual({
      promptTokens: 10,
      completionTokens: 5,
      reportedCost: undefined,
      estimated: false,
    });
  });
});
