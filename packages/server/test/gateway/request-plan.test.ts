import { describe, expect, it } from "vitest";
import type { ModelRoute } from "../../src/gateway/catalog.js";
import {
  MAX_RESERVE_MICROS,
  nonTextParts,
  type PlanSettings,
  planRequest,
} from "../../src/gateway/request-plan.js";
import type { ChatRequest } from "../../src/gateway/request-validation.js";
import { KeyportError } from "../../src/web/errors.js";

/** 1 micro-credit per prompt token, 10 per completion token. */
const route = (maxTokens?: number, completionPrice = 0.00001): ModelRoute => ({
  id: "m",
  upstream: undefined,
  upstreamName: "u",
  upstreamModel: "upstream-m",
  promptPrice: 0.000001,
  completionPrice,
  requestPrice: 0,
  ...(maxTokens === undefined ? {} : { maxTokens }),
});
const SETTINGS: PlanSettings = { defaultMaxTokens: 4096, nonTextPartTokens: 10_000 };
const UNLIMITED = { limitMicros: null };
const LIMITED = { limitMicros: 1_000_000 };
const BYTES = 100;

const request = (fields: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "m",
  messages: [{ role: "user", content: "hi" }],
  ...fields,
});

describe("planRequest", () => {
  it("reserves prompt bytes plus max_tokens, forwarding the request to the upstream model", () => {
    const plan = planRequest(route(), request({ max_tokens: 50 }), BYTES, UNLIMITED, SETTINGS);
    expect(plan).toMatchObject({ maxTokens: 50, choices: 1, promptTokens: BYTES });
    expect(plan.reserveMicros).toBe(BYTES + 50 * 10);
    expect(plan.upstreamBody).toEqual({ ...request({ max_tokens: 50 }), model: "upstream-m" });
  });

  it("multiplies the completion worst case by n, or by best_of when that is larger", () => {
    const withN = planRequest(
      route(),
      request({ max_tokens: 20, n: 50 }),
      BYTES,
      LIMITED,
      SETTINGS,
    );
    expect(withN).toMatchObject({ choices: 50, reserveMicros: BYTES + 50 * 20 * 10 });
    expect(withN.upstreamBody.n).toBe(50);
    const bestOf = planRequest(
      route(),
      request({ max_tokens: 20, n: 2, best_of: 8 }),
      BYTES,
      LIMITED,
      SETTINGS,
    );
    expect(bestOf).toMatchObject({ choices: 8, reserveMicros: BYTES + 8 * 20 * 10 });
    const nulls = planRequest(
      route(),
      request({ max_tokens: 20, n: null, best_of: null }),
      BYTES,
      LIMITED,
      SETTINGS,
    );
    expect(nulls.choices).toBe(1);
  });

  it("with both token fields, reserves the larger and forwards it in both", () => {
    const plan = planRequest(
      route(),
      request({ max_completion_tokens: 1, max_tokens: 5000 }),
      BYTES,
      LIMITED,
      SETTINGS,
    );
    expect(plan.maxTokens).toBe(5000);
    expect(plan.reserveMicros).toBe(BYTES + 5000 * 10);
    expect(plan.upstreamBody).toMatchObject({ max_tokens: 5000, max_completion_tokens: 5000 });
    const reversed = planRequest(
      route(),
      request({ max_completion_tokens: 300, max_tokens: 2 }),
      BYTES,
      LIMITED,
      SETTINGS,
    );
    expect(reversed.upstreamBody).toMatchObject({ max_tokens: 300, max_completion_tokens: 300 });
  });

  it("clamps to the model's maximum and rewrites every field the request used", () => {
    const plan = planRequest(
      route(1000),
      request({ max_completion_tokens: 1, max_tokens: 5000 }),
      BYTES,
      UNLIMITED,
      SETTINGS,
    );
    expect(plan.maxTokens).toBe(1000);
    expect(plan.upstreamBody).toMatchObject({ max_tokens: 1000, max_completion_tokens: 1000 });
    const one = planRequest(
      route(1000),
      request({ max_completion_tokens: 5000 }),
      BYTES,
      LIMITED,
      SETTINGS,
    );
    expect(one.upstreamBody.max_completion_tokens).toBe(1000);
    expect("max_tokens" in one.upstreamBody).toBe(false);
  });

  it("without token fields: the model's maximum, else the default, sent only for limited keys", () => {
    const limited = planRequest(route(), request(), BYTES, LIMITED, SETTINGS);
    expect(limited.maxTokens).toBe(4096);
    expect(limited.upstreamBody.max_tokens).toBe(4096);
    const unlimited = planRequest(route(700), request(), BYTES, UNLIMITED, SETTINGS);
    expect(unlimited.maxTokens).toBe(700);
    expect("max_tokens" in unlimited.upstreamBody).toBe(false);
  });

  it("counts each non-text part at the configured worst case on top of the bytes", () => {
    const messages = [
      {
        role: "user",
        content: [
          { type: "text", text: "what is this?" },
          { type: "image_url", image_url: { url: "https://example.com/a.png" } },
          { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } },
        ],
      },
      { role: "user", content: [{ type: "file", file: { file_id: "f" } }] },
    ];
    const plan = planRequest(
      route(),
      request({ messages, max_tokens: 1 }),
      BYTES,
      UNLIMITED,
      SETTINGS,
    );
    expect(plan.promptTokens).toBe(BYTES + 3 * 10_000);
    expect(plan.reserveMicros).toBe(BYTES + 3 * 10_000 + 10);
    const cheap = planRequest(route(), request({ messages, max_tokens: 1 }), BYTES, UNLIMITED, {
      ...SETTINGS,
      nonTextPartTokens: 5,
    });
    expect(cheap.promptTokens).toBe(BYTES + 15);
  });

  it("refuses with 400 a worst case beyond what one request may reserve", () => {
    const attempt = (r: ModelRoute, fields: Partial<ChatRequest>) => () =>
      planRequest(r, request(fields), BYTES, UNLIMITED, SETTINGS);
    // 4096 tokens at 1,000 credits each: 4.1e12 micro-credits.
    expect(attempt(route(undefined, 1000), {})).toThrow(KeyportError);
    try {
      attempt(route(undefined, 1000), {})();
    } catch (error) {
      expect((error as KeyportError).status).toBe(400);
    }
    expect(attempt(route(undefined, Number.MAX_VALUE), { max_tokens: 10 })).toThrow(KeyportError);
    // The largest request validation lets through still fits, far inside the safe range.
    const largest = planRequest(
      route(),
      request({ max_tokens: 1_000_000, n: 128, best_of: 128 }),
      4 * 1024 * 1024,
      UNLIMITED,
      SETTINGS,
    );
    expect(largest.reserveMicros).toBe(4 * 1024 * 1024 + 128 * 1_000_000 * 10);
    expect(largest.reserveMicros).toBeLessThanOrEqual(MAX_RESERVE_MICROS);
    expect(Number.isSafeInteger(MAX_RESERVE_MICROS * 8192)).toBe(true);
  });

  it("asks the upstream for usage on streamed requests", () => {
    const plan = planRequest(
      route(),
      request({ stream: true, stream_options: { other: 1 } }),
      BYTES,
      UNLIMITED,
      SETTINGS,
    );
    expect(plan.upstreamBody.stream_options).toEqual({ other: 1, include_usage: true });
  });
});

describe("nonTextParts", () => {
  it("counts every part whose type is not text, and assistant audio references", () => {
    expect(nonTextParts([{ content: "plain" }, { content: null }, {}])).toBe(0);
    expect(nonTextParts([{ content: ["a string part", { type: "text", text: "x" }] }])).toBe(0);
    expect(
      nonTextParts([
        { content: [{ type: "image_url" }, { type: "video" }, { text: "no type" }, null, 7] },
      ]),
    ).toBe(5);
    expect(nonTextParts([{ content: { type: "image_url" } }])).toBe(1);
    expect(
      nonTextParts([{ content: null, audio: { id: "audio_1" } } as { content: unknown }]),
    ).toBe(1);
  });
});
