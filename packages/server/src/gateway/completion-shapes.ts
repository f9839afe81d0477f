import { fromMicros } from "../domain/credits.js";
import { KeyportError } from "../web/errors.js";
import type { ModelRoute } from "./catalog.js";
import type { TokenUsage } from "./pricing.js";
import { completionTexts, type StreamHead } from "./sse-usage.js";

/** Characters of completion text in a JSON completion, for an estimate when usage is missing. */
export function completionChars(completion: Record<string, unknown>): number {
  const choices = completion.choices;
  if (!Array.isArray(choices)) return 0;
  let chars = 0;
  for (const choice of choices) {
    const { message, text } = (choice ?? {}) as {
      message?: Record<string, unknown>;
      text?: unknown;
    };
    if (message) for (const part of completionTexts(message)) chars += part.length;
    // The `prompt` form's choices carry `text`.
    if (typeof text === "string") chars += text.length;
  }
  return chars;
}

/**
 * A JSON completion as OpenRouter answers it: `system_fingerprint` is always present (its SDK
 * requires the field), `null` when the upstream gave none.
 */
export function withFingerprint(completion: Record<string, unknown>): Record<string, unknown> {
  if (completion.system_fingerprint === undefined) completion.system_fingerprint = null;
  return completion;
}

/** The usage object the client gets: the upstream's, its `cost` what the key was charged. */
export function withCost(
  original: unknown,
  usage: TokenUsage,
  charged: number,
): Record<string, unknown> {
  const base =
    typeof original === "object" && original !== null
      ? (original as Record<string, unknown>)
      : {
          prompt_tokens: usage.promptTokens,
          completion_tokens: usage.completionTokens,
          total_tokens: usage.promptTokens + usage.completionTokens,
        };
  return { ...base, cost: fromMicros(charged) };
}

/**
 * The identity of a chunk Keyport writes itself: the upstream's first chunk's, each field only
 * when it has the type OpenRouter's SDK requires, else the request's own (`requestId`, now, the
 * route's model) — an upstream that fails before its first chunk gave none.
 */
function chunkHead(head: StreamHead, route: ModelRoute, requestId: string, object: string) {
  return {
    id: typeof head.id === "string" && head.id !== "" ? head.id : requestId,
    object,
    created:
      typeof head.created === "number" && Number.isSafeInteger(head.created)
        ? head.created
        : Math.floor(Date.now() / 1000),
    model: typeof head.model === "string" && head.model !== "" ? head.model : route.upstreamModel,
  };
}

/** A mid-stream error in OpenRouter's chunk shape: `finish_reason: "error"` and `error`. */
export function errorChunk(
  head: StreamHead,
  route: ModelRoute,
  requestId: string,
  failure: unknown,
  object = "chat.completion.chunk",
): string {
  const error =
    failure instanceof KeyportError
      ? { code: failure.status, message: failure.message }
      : { code: 502, message: "The upstream provider failed" };
  return `data: ${JSON.stringify({
    ...chunkHead(head, route, requestId, object),
    choices: [
      object === "text_completion"
        ? { index: 0, text: "", finish_reason: "error" }
        : { index: 0, delta: { content: "" }, finish_reason: "error" },
    ],
    error,
  })}\n\n`;
}

/** The usage chunk a client gets when the upstream sent none (estimated counts). */
export function usageChunk(
  head: StreamHead,
  route: ModelRoute,
  requestId: string,
  usage: TokenUsage,
  chargedMicros: number,
  object = "chat.completion.chunk",
): string {
  return `data: ${JSON.stringify({
    ...chunkHead(head, route, requestId, object),
    choices: [],
    usage: {
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      total_tokens: usage.promptTokens + usage.completionTokens,
      cost: fromMicros(chargedMicros),
    },
  })}\n\n`;
}
