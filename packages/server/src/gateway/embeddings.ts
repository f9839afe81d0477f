import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { z } from "zod";
import { fromMicros } from "../domain/credits.js";
import { KeyportError } from "../web/errors.js";
import { parseJsonBody } from "../web/json-body.js";
import { invalidInput } from "../web/zod-error.js";
import { ECHO_MODEL_ID } from "./catalog.js";
import { worstPrices } from "./cost-fields.js";
import { words } from "./echo.js";
import type { Endpoint, PlannedRequest } from "./endpoint.js";
import { priceMicros, type TokenUsage } from "./pricing.js";
import { MAX_RESERVE_MICROS } from "./request-plan.js";
import { chatRequestSchema } from "./request-validation.js";

/** The most inputs one request may embed. */
const MAX_INPUTS = 2048;
/** Dimensions of `keyport/echo`'s embeddings. */
const ECHO_DIMENSIONS = 8;

const tokens = z.array(z.number().int().nonnegative());

/**
 * What Keyport reads of an embeddings request: text or token arrays (each token at least a byte
 * of the body, so the body's size bounds them). Images and other parts cost more than their
 * bytes and are not offered.
 */
const embeddingsRequestSchema = z.looseObject({
  model: chatRequestSchema.shape.model,
  models: z.unknown().optional(),
  input: z.union(
    [
      z.string(),
      z.array(z.string()).min(1).max(MAX_INPUTS),
      tokens.min(1),
      z.array(tokens.min(1)).min(1).max(MAX_INPUTS),
    ],
    { error: "must be a string, a list of strings, or token arrays (text only)" },
  ),
  stream: z.literal(false).nullish(),
});

/** The texts to embed, as `keyport/echo` reads them (token arrays as their numbers). */
function inputsOf(request: PlannedRequest): string[] {
  const input = request.input;
  if (typeof input === "string") return [input];
  if (!Array.isArray(input)) return [];
  if (input.every((item) => typeof item === "number")) return [input.join(" ")];
  return input.map((item) => (Array.isArray(item) ? item.join(" ") : String(item)));
}

/**
 * `POST /api/v1/embeddings`: `input` text (or token arrays) forwarded to an upstream's
 * `/embeddings`, billed by prompt tokens — reserved as the body's bytes at the model's prompt
 * price (the dearest of a `models` list) plus its per-request fee — and answered as
 * `{object: "list", data: [{object: "embedding", embedding, index}], model, usage}` with
 * `usage.cost`. `keyport/echo` embeds too: a deterministic unit vector of 8 numbers per input,
 * from the SHA-256 of its text.
 */
export const EMBEDDINGS_ENDPOINT: Endpoint = {
  apiType: "embeddings",
  path: "/embeddings",
  chunkObject: "list",
  parse(text) {
    const parsed = embeddingsRequestSchema.safeParse(parseJsonBody(text));
    if (!parsed.success) throw invalidInput(parsed.error);
    const request = parsed.data as unknown as PlannedRequest;
    return { request, original: request };
  },
  plan(route, request, bodyBytes, _key, _settings, fallbacks) {
    const prices = worstPrices([route, ...fallbacks]);
    const reserveMicros = priceMicros(prices, bodyBytes, 0);
    if (!(reserveMicros <= MAX_RESERVE_MICROS)) {
      throw new KeyportError(
        400,
        `This request may cost more than the ${fromMicros(MAX_RESERVE_MICROS)} credits one request may reserve.`,
      );
    }
    return {
      maxTokens: 0,
      choices: 1,
      promptTokens: bodyBytes,
      reserveMicros,
      prices,
      webSearchResults: 0,
      feesMicros: 0,
      upstreamBody: { ...request, model: route.upstreamModel },
    };
  },
  echo: (request) => echoEmbeddings(inputsOf(request)),
  usage: embeddingUsage,
  generatedChars: () => 0,
  answer(upstream) {
    // Chat's `system_fingerprint` has no place in an embeddings answer.
    delete upstream.system_fingerprint;
    return upstream;
  },
};

/**
 * An embeddings `usage`: prompt tokens only (completion tokens an upstream might claim are not
 * what embeddings bill), and its `cost` when it states one.
 */
function embeddingUsage(answer: Record<string, unknown>): TokenUsage | undefined {
  const usage = answer.usage;
  if (typeof usage !== "object" || usage === null) return undefined;
  const { prompt_tokens: prompt, cost } = usage as Record<string, unknown>;
  if (!(typeof prompt === "number" && Number.isSafeInteger(prompt) && prompt >= 0))
    return undefined;
  return {
    promptTokens: prompt,
    completionTokens: 0,
    reportedCost: typeof cost === "number" && Number.isFinite(cost) && cost >= 0 ? cost : undefined,
    estimated: false,
  };
}

/** `keyport/echo`'s embeddings: one word per token, a unit vector from each text's hash. */
function echoEmbeddings(inputs: readonly string[]): Readable {
  const promptTokens = Math.max(
    1,
    inputs.reduce((sum, text) => sum + words(text).length, 0),
  );
  const data = inputs.map((text, index) => ({
    object: "embedding",
    embedding: unitVector(text),
    index,
  }));
  const body = {
    id: `gen-echo-${randomBytes(8).toString("hex")}`,
    object: "list",
    data,
    model: ECHO_MODEL_ID,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
  return Readable.from([Buffer.from(JSON.stringify(body))]);
}

function unitVector(text: string): number[] {
  const digest = createHash("sha256").update(text).digest();
  const raw = Array.from({ length: ECHO_DIMENSIONS }, (_, i) => (digest[i] ?? 0) / 127.5 - 1);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((value) => Number((value / norm).toFixed(6)));
}
