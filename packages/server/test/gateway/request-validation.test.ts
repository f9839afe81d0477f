import { describe, expect, it } from "vitest";
import { chatRequestSchema, plainlyValid } from "../../src/gateway/request-validation.js";

const message = { role: "user", content: "hi" };
const base = { model: "m", messages: [message] };

// The hand-written shortcut must never accept a body the schema refuses, and must take the
// ordinary requests (so the schema runs only to name what is wrong).
const bodies: unknown[] = [
  base,
  { ...base, stream: true, max_tokens: 5, stream_options: { include_usage: true } },
  { ...base, stream: null, max_tokens: null, max_completion_tokens: undefined },
  { ...base, messages: [{ role: "user", content: [{ type: "text", text: "x" }] }, { role: "a" }] },
  { ...base, extra: { anything: [1, 2] }, temperature: 0.2 },
  null,
  [],
  "text",
  42,
  [base],
  { ...base, model: "" },
  { ...base, model: "m".repeat(200) },
  { ...base, model: "m".repeat(201) },
  { ...base, model: 7 },
  { model: "m" },
  { ...base, messages: [] },
  { ...base, messages: {} },
  { ...base, messages: [null] },
  { ...base, messages: [[]] },
  { ...base, messages: [{ content: "no role" }] },
  { ...base, messages: [{ role: "" }] },
  { ...base, messages: [{ role: "r".repeat(64) }] },
  { ...base, messages: [{ role: "r".repeat(65) }] },
  { ...base, messages: [{ role: 1 }] },
  { ...base, stream: "true" },
  { ...base, stream: 1 },
  ...[0, -1, -0, 1.5, 1e20, Number.MAX_SAFE_INTEGER, "5", true, {}].flatMap((value) => [
    { ...base, max_tokens: value },
    { ...base, max_completion_tokens: value },
  ]),
  ...[1_000_000, 1_000_001].flatMap((value) => [
    { ...base, max_tokens: value },
    { ...base, max_completion_tokens: value },
  ]),
  ...[1, 2, 128, null, 0, -1, 129, 1.5, 1e20, "2", true, {}].flatMap((value) => [
    { ...base, n: value },
    { ...base, best_of: value },
  ]),
  { ...base, n: 4, best_of: 8, max_tokens: 10, max_completion_tokens: 20 },
  { ...base, stream_options: [] },
  { ...base, stream_options: "yes" },
  { ...base, stream_options: null },
];

describe("chat request validation shortcut", () => {
  it("accepts only what the schema accepts", () => {
    for (const body of bodies) {
      const schema = chatRequestSchema.safeParse(body).success;
      expect(plainlyValid(body), JSON.stringify(body)).toBe(schema);
    }
  });
});
