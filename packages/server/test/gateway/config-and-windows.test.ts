import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { loadUpstreams, Secret } from "../../src/config/upstreams.js";
import { usageInWindows, windowStarts } from "../../src/domain/credits.js";
import { costMicros, priceMicros } from "../../src/gateway/pricing.js";

describe("upstreams configuration", () => {
  const good = [
    {
      name: "openrouter",
      baseUrl: "https://openrouter.ai/api/v1/",
      apiKeyEnv: "OR_KEY",
      models: "discover",
    },
  ];

  it("resolves API keys from the given environment once, and never prints them", () => {
    const [upstream] = loadUpstreams(JSON.stringify(good), { OR_KEY: "sk-or-secret" });
    expect(upstream?.baseUrl).toBe("https://openrouter.ai/api/v1");
    expect(upstream?.apiKey?.reveal()).toBe("sk-or-secret");
    const printed = [JSON.stringify(upstream), inspect(upstream), String(upstream?.apiKey)].join(
      " ",
    );
    expect(printed).not.toContain("sk-or-secret");
    expect(printed).toContain("[redacted]");
  });

  it("names the entry and field that is wrong", () => {
    expect(() => loadUpstreams(JSON.stringify(good), {})).toThrow(/OR_KEY, which is not set/);
    expect(() =>
      loadUpstreams('[{"name":"x","baseUrl":"ftp://x","models":"discover"}]', {}),
    ).toThrow(/upstreams\[0\]\.baseUrl/);
    expect(() =>
      loadUpstreams(
        '[{"name":"x","baseUrl":"http://x","models":[{"id":"m","promptPrice":-1}]}]',
        {},
      ),
    ).toThrow(/upstreams\[0\]\.models\[0\]\.promptPrice/);
    expect(() => loadUpstreams("[oops", {})).toThrow(/not JSON/);
    expect(() => loadUpstreams("/nonexistent/upstreams.json", {})).toThrow(
      /Cannot read upstreams file/,
    );
  });

  it("takes a model's catalogue fields and an upstream's pages, refusing odd ones by name", () => {
    const upstream = (model: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      JSON.stringify([
        { name: "x", baseUrl: "http://x", models: [{ id: "m", ...model }], ...extra },
      ]);
    const [parsed] = loadUpstreams(
      upstream(
        { inputModalities: ["text", "image"], supportedParameters: ["tools"], contextLength: 8 },
        { privacyPolicyUrl: "https://x.example/privacy" },
      ),
      {},
    );
    expect(parsed?.privacyPolicyUrl).toBe("https://x.example/privacy");
    expect(parsed?.models).toEqual([
      expect.objectContaining({ inputModalities: ["text", "image"], contextLength: 8 }),
    ]);
    for (const [model, field] of [
      [{ inputModalities: ["Text Input"] }, "inputModalities[0]"],
      [{ inputModalities: [] }, "inputModalities"],
      [{ contextLength: 0 }, "contextLength"],
      [{ created: -1 }, "created"],
    ] as const) {
      expect(() => loadUpstreams(upstream(model), {})).toThrow(`upstreams[0].models[0].${field}`);
    }
    for (const defaults of [{ temperature: "hot" }, { seed: 1 }])
      expect(() => loadUpstreams(upstream({ defaultParameters: defaults }), {})).toThrow(
        "upstreams[0].models",
      );
    expect(() => loadUpstreams(upstream({}, { statusPageUrl: "javascript:alert(1)" }), {})).toThrow(
      "upstreams[0].statusPageUrl",
    );
  });

  it("reaches parseConfig as --upstreams / KEYPORT_UPSTREAMS with the gateway defaults", () => {
    const config = parseConfig({}, { KEYPORT_UPSTREAMS: JSON.stringify(good), OR_KEY: "k" });
    expect(config.gateway).toMatchObject({
      keepAliveMs: 10_000,
      upstreamTimeoutMs: 120_000,
      // Abuse limits are on by default (DESIGN invariant 7).
      rateLimit: 600,
      maxInFlightPerKey: 20,
      leaseMs: 30_000,
    });
    expect(config.gateway.upstreams[0]?.name).toBe("openrouter");
    expect(() => parseConfig({ upstreams: "[{}]" }, {})).toThrow(/--upstreams/);
    expect(Secret.name).toBe("Secret");
  });

  it("takes the worst case of a non-text content part from KEYPORT_NON_TEXT_PART_TOKENS", () => {
    expect(parseConfig({}, {}).gateway.nonTextPartTokens).toBe(10_000);
    const env = { KEYPORT_NON_TEXT_PART_TOKENS: "2500" };
    expect(parseConfig({}, env).gateway.nonTextPartTokens).toBe(2500);
    expect(() => parseConfig({}, { KEYPORT_NON_TEXT_PART_TOKENS: "0" })).toThrow(
      /KEYPORT_NON_TEXT_PART_TOKENS/,
    );
  });
});

describe("usage windows (UTC; weeks from Monday, as OpenRouter counts)", () => {
  it("puts a moment in its day, week and month", () => {
    const starts = windowStarts(new Date("2026-11-29T23:59:59.999Z")); // a Sunday
    expect(new Date(starts.day).toISOString()).toBe("2026-11-29T00:00:00.000Z");
    expect(new Date(starts.week).toISOString()).toBe("2026-11-23T00:00:00.000Z");
    expect(new Date(starts.month).toISOString()).toBe("2026-11-01T00:00:00.000Z");
    expect(new Date(windowStarts(new Date("2026-11-30T00:00:00Z")).week).toISOString()).toBe(
      "2026-11-30T00:00:00.000Z",
    );
  });

  it("reads a counter of a window that is over as zero", () => {
    const start = windowStarts(new Date("2026-11-27T12:00:00Z"));
    const counters = {
      dayStart: start.day,
      dayMicros: 5,
      weekStart: start.week,
      weekMicros: 7,
      monthStart: start.month,
      monthMicros: 9,
    };
    expect(usageInWindows(counters, new Date("2026-11-27T23:00:00Z"))).toEqual({
      daily: 5,
      weekly: 7,
      monthly: 9,
    });
    expect(usageInWindows(counters, new Date("2026-11-28T00:00:00Z"))).toEqual({
      daily: 0,
      weekly: 7,
      monthly: 9,
    });
    expect(usageInWindows(counters, new Date("2026-12-01T00:00:00Z"))).toEqual({
      daily: 0,
      weekly: 0,
      monthly: 0,
    });
  });
});

describe("prices", () => {
  it("bills tokens × prices in micro-credits, rounding up but not floating-point noise", () => {
    expect(
      priceMicros({ promptPrice: 0.000001, completionPrice: 0.000002, requestPrice: 0 }, 10, 5),
    ).toBe(20);
    expect(
      priceMicros({ promptPrice: 0.00000015, completionPrice: 0, requestPrice: 0 }, 10, 0),
    ).toBe(2);
    expect(
      costMicros(
        { promptPrice: 1, completionPrice: 1, requestPrice: 0 },
        { promptTokens: 1, completionTokens: 1, reportedCost: 0.0042, estimated: false },
      ),
    ).toBe(4200);
  });
});
