import { z } from "zod";
import { KeyportError } from "../web/errors.js";
import { parseJsonBody } from "../web/json-body.js";

/**
 * The most completion tokens a request may ask for (`max_tokens`, `max_completion_tokens`).
 * Larger values are refused with `400` rather than clamped: no model produces a million tokens
 * in one answer, and the bound keeps every reservation far inside the safe-integer range.
 */
const MAX_REQUEST_TOKENS = 1_000_000;

/** The most choices (`n`, `best_of`) one request may ask for. */
const MAX_CHOICES = 128;

const tokenCount = z.number().int().positive().max(MAX_REQUEST_TOKENS).nullish();
const choiceCount = z.number().int().min(1).max(MAX_CHOICES).nullish();

/** The fields Keyport reads; everything else is forwarded untouched. */
export const chatRequestSchema = z.looseObject({
  model: z.string().min(1).max(200),
  messages: z
    .array(z.looseObject({ role: z.string().min(1).max(64), content: z.unknown().optional() }))
    .min(1),
  stream: z.boolean().nullish(),
  max_tokens: tokenCount,
  max_completion_tokens: tokenCount,
  n: choiceCount,
  best_of: choiceCount,
  stream_options: z.looseObject({}).nullish(),
});

const plannedRequestSchema = chatRequestSchema.extend({
  messages: chatRequestSchema.shape.messages.optional(),
});

/** A chat-completions request as Keyport reads it. */
export type ChatRequest = z.output<typeof chatRequestSchema>;

/**
 * A request as the metered pipeline plans it: a chat request whose `messages` may be absent
 * (the `prompt` and `input` forms carry their text elsewhere, and their bytes bound it alike).
 */
export type PlannedRequest = z.output<typeof plannedRequestSchema>;

/** Parses and checks a chat request; malformed JSON and wrong types get a `400` naming the field. */
export function parseChatRequest(text: string): ChatRequest {
  const body = parseJsonBody(text);
  // The common case, checked by hand as strictly as the schema; anything else goes through the
  // schema, which names what is wrong.
  if (plainlyValid(body)) return body;
  const parsed = chatRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "body";
    throw new KeyportError(400, `Invalid ${field}: ${issue?.message ?? "malformed"}`);
  }
  return parsed.data;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isCountUpTo = (value: unknown, min: number, max: number) =>
  value == null ||
  (Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max);

/** Whether `body` passes `chatRequestSchema` (a shortcut that never accepts what it refuses). */
export function plainlyValid(body: unknown): body is ChatRequest {
  if (!isRecord(body)) return false;
  const { model, messages, stream, stream_options } = body;
  if (typeof model !== "string" || model.length < 1 || model.length > 200) return false;
  if (!Array.isArray(messages) || messages.length < 1) return false;
  for (const message of messages) {
    if (!isRecord(message)) return false;
    const role = message.role;
    if (typeof role !== "string" || role.length < 1 || role.length > 64) return false;
  }
  return (
    (stream == null || typeof stream === "boolean") &&
    isCountUpTo(body.max_tokens, 1, MAX_REQUEST_TOKENS) &&
    isCountUpTo(body.max_completion_tokens, 1, MAX_REQUEST_TOKENS) &&
    isCountUpTo(body.n, 1, MAX_CHOICES) &&
    isCountUpTo(body.best_of, 1, MAX_CHOICES) &&
    (stream_options == null || isRecord(stream_options))
  );
}
