import { MICROS_PER_CREDIT } from "../domain/credits.js";

/** What a model costs, in credits: per token, and per request. */
export interface Prices {
  readonly promptPrice: number;
  readonly completionPrice: number;
  readonly requestPrice: number;
}

/** Token counts a request is billed for. */
export interface TokenUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Credits the upstream says the request cost (OpenRouter's `usage.cost`), when it says so. */
  readonly reportedCost?: number;
  /** True when the counts are Keyport's estimate rather than the upstream's report. */
  readonly estimated: boolean;
}

/**
 * Tokens × prices plus the per-request fee, in micro-credits, rounded up so a request is never
 * billed less than it cost (a tolerance absorbs floating-point noise such as
 * 10 × 0.000001 = 0.000010000000000000002).
 */
export function priceMicros(
  prices: Prices,
  promptTokens: number,
  completionTokens: number,
): number {
  const micros =
    promptTokens * prices.promptPrice * MICROS_PER_CREDIT +
    completionTokens * prices.completionPrice * MICROS_PER_CREDIT +
    prices.requestPrice * MICROS_PER_CREDIT;
  return Math.max(0, Math.ceil(micros - 1e-6));
}

/**
 * The cost to bill: the upstream's own `usage.cost` when it reported one (it includes every fee),
 * else our prices plus `feesMicros` — fees the plan priced that token counts cannot show, such as
 * web search results.
 */
export function costMicros(prices: Prices, usage: TokenUsage, feesMicros = 0): number {
  if (usage.reportedCost !== undefined)
    return Math.max(0, Math.ceil(usage.reportedCost * MICROS_PER_CREDIT - 1e-6));
  return priceMicros(prices, usage.promptTokens, usage.completionTokens) + feesMicros;
}

/**
 * An upper bound on a request's prompt tokens without a tokenizer: its body's UTF-8 length,
 * plus `tokensPerPart` for each non-text content part (an image, audio or file costs far more
 * tokens than its bytes — a URL of 40 bytes can be a 1,000-token image). Byte-level BPE
 * tokenizers never make more tokens than bytes of text, and the JSON syntax around the messages
 * more than covers the few tokens chat templates add per message.
 */
export function promptTokenBound(bodyBytes: number, nonTextParts = 0, tokensPerPart = 0): number {
  return bodyBytes + nonTextParts * tokensPerPart;
}

/**
 * Keyport's estimate when an upstream reports no usage (it ended without a usage chunk, or the
 * client went away first): about 4 bytes of text per token (OpenAI's rule of thumb for English),
 * and for completions at least one token per streamed content chunk (servers stream a token or
 * more per chunk).
 */
export function estimateUsage(
  promptBytes: number,
  completionChars: number,
  contentChunks: number,
): TokenUsage {
  return {
    promptTokens: Math.ceil(promptBytes / 4),
    completionTokens: Math.max(contentChunks, Math.ceil(completionChars / 4)),
    estimated: true,
  };
}

/**
 * Narrows an upstream's `usage` object (untrusted JSON) field by field; `undefined` unless it
 * carries both token counts.
 */
export function readUsage(value: unknown): TokenUsage | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const usage = value as Record<string, unknown>;
  const prompt = usage.prompt_tokens;
  const completion = usage.completion_tokens;
  if (!isCount(prompt) || !isCount(completion)) return undefined;
  const cost = usage.cost;
  return {
    promptTokens: Math.min(prompt, Number.MAX_SAFE_INTEGER),
    completionTokens: Math.min(completion, Number.MAX_SAFE_INTEGER),
    reportedCost: typeof cost === "number" && Number.isFinite(cost) && cost >= 0 ? cost : undefined,
    estimated: false,
  };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}
