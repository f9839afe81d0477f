import { fromMicros, MICROS_PER_CREDIT } from "../domain/credits.js";
import type { StoredKey } from "../store/store.js";
import { KeyportError } from "../web/errors.js";
import type { ModelRoute } from "./catalog.js";
import { costRaisingFields, type WorstPrices, worstPrices } from "./cost-fields.js";
import { priceMicros, promptTokenBound } from "./pricing.js";
import type { PlannedRequest } from "./request-validation.js";

/**
 * The most one request may reserve: a million credits. A larger worst case is refused with `400`
 * (it can only come from absurd prices or configuration); the bound keeps even thousands of such
 * reservations in flight on one key inside `Number.MAX_SAFE_INTEGER`, far below a 64-bit column.
 */
export const MAX_RESERVE_MICROS = 1_000_000_000_000;

/** The gateway settings a plan depends on. */
export interface PlanSettings {
  /** Completion tokens per choice when neither the request nor the model sets a maximum. */
  readonly defaultMaxTokens: number;
  /** Worst-case prompt tokens of one non-text content part. */
  readonly nonTextPartTokens: number;
}

/** What a request may cost at most, and the body the upstream gets. */
export interface RequestPlan {
  /** Completion tokens each choice may produce. */
  readonly maxTokens: number;
  /** Choices the upstream may generate: the larger of `n` and `best_of`, at least 1. */
  readonly choices: number;
  /** The bound on prompt tokens. */
  readonly promptTokens: number;
  /** The worst-case cost held against the key while the request is in flight. */
  readonly reserveMicros: number;
  /** The prices to bill at: the dearest among the model and its fallbacks. */
  readonly prices: WorstPrices;
  /** Web search results the request may be billed for (priced at the serving model's price). */
  readonly webSearchResults: number;
  /** Fees token counts cannot show (web search results), billed unless the upstream says its cost. */
  readonly feesMicros: number;
  readonly upstreamBody: Record<string, unknown>;
}

const TOKEN_FIELDS = ["max_tokens", "max_completion_tokens"] as const;

/**
 * Works out a request's worst case, so that what the upstream is asked for can never cost more
 * than what is reserved:
 *
 * - prompt tokens: the body's bytes, plus `nonTextPartTokens` per non-text content part;
 * - completion tokens per choice: the larger of `max_tokens` and `max_completion_tokens` when
 *   both are sent (clamped to the model's maximum), and that one value is forwarded in every
 *   field the request used, so an upstream reading either field stays inside the bound; with
 *   neither, the model's maximum, else `defaultMaxTokens` — a key with a limit gets that sent
 *   upstream as `max_tokens`, so the upstream cannot outrun the reservation;
 * - choices: `n` and `best_of` (validated as 1..128) are forwarded untouched and the completion
 *   worst case is multiplied by the larger of them. Multiplying rather than refusing `n > 1`
 *   keeps clients that ask for several choices working; an upstream that ignores `n` simply
 *   settles for less than was reserved;
 * - fallbacks (`models`): every price is the dearest among the model and its fallbacks (Keyport
 *   calls them one by one, see `attemptBody`);
 * - fields that make an upstream charge more than tokens are priced or refused
 *   ({@link costRaisingFields}); the per-request fee is always part of the worst case.
 *
 * @throws KeyportError `400` when the worst case exceeds {@link MAX_RESERVE_MICROS}, or for a
 * cost-raising field that cannot be priced.
 */
export function planRequest(
  route: ModelRoute,
  request: PlannedRequest,
  bodyBytes: number,
  key: Pick<StoredKey, "limitMicros">,
  settings: PlanSettings,
  fallbacks: readonly ModelRoute[] = [],
): RequestPlan {
  const body: Record<string, unknown> = { ...request, model: route.upstreamModel };
  const prices = worstPrices([route, ...fallbacks]);
  const used = TOKEN_FIELDS.filter((field) => request[field] != null);
  let maxTokens: number;
  if (used.length > 0) {
    maxTokens = Math.max(...used.map((field) => request[field] as number));
    if (route.maxTokens !== undefined) maxTokens = Math.min(maxTokens, route.maxTokens);
    for (const field of used) body[field] = maxTokens;
  } else {
    maxTokens = route.maxTokens ?? settings.defaultMaxTokens;
    if (key.limitMicros !== null) body.max_tokens = maxTokens;
  }
  if (request.stream) body.stream_options = { ...request.stream_options, include_usage: true };
  const choices = Math.max(request.n ?? 1, request.best_of ?? 1);
  const fields = costRaisingFields(request, prices, maxTokens);
  const promptTokens = promptTokenBound(
    bodyBytes,
    nonTextParts(request.messages ?? []),
    settings.nonTextPartTokens,
  );
  const feesMicros = Math.ceil(
    fields.webSearchResults * (prices.webSearchPrice ?? 0) * MICROS_PER_CREDIT - 1e-6,
  );
  const reserveMicros =
    priceMicros(prices, promptTokens, choices * (maxTokens + fields.predictionTokens)) + feesMicros;
  // `!(a <= b)` also refuses NaN and Infinity.
  if (!(reserveMicros <= MAX_RESERVE_MICROS)) {
    throw new KeyportError(
      400,
      `This request may cost more than the ${fromMicros(MAX_RESERVE_MICROS)} credits one request may reserve. Lower max_tokens or n.`,
      {},
      { limit: fromMicros(MAX_RESERVE_MICROS) },
    );
  }
  return {
    maxTokens,
    choices,
    promptTokens,
    reserveMicros,
    prices,
    webSearchResults: fields.webSearchResults,
    feesMicros,
    upstreamBody: body,
  };
}

/**
 * Content parts that are not text — `image_url`, `input_audio`, `file`, anything whose `type`
 * is not `"text"` — plus assistant `audio` references: each may cost far more tokens than its
 * bytes. Plain strings, in a content array or as the content, are text.
 */
export function nonTextParts(messages: readonly { readonly content?: unknown }[]): number {
  let parts = 0;
  for (const message of messages) {
    const content = message.content;
    if (Array.isArray(content)) {
      for (const part of content) if (!isTextPart(part)) parts++;
    } else if (content != null && !isTextPart(content)) {
      parts++;
    }
    if ((message as { audio?: unknown }).audio != null) parts++;
  }
  return parts;
}

function isTextPart(part: unknown): boolean {
  return (
    typeof part === "string" ||
    (typeof part === "object" && part !== null && (part as { type?: unknown }).type === "text")
  );
}
