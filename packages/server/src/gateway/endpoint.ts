import type { Readable } from "node:stream";
import type { ApiType, StoredKey } from "../store/store.js";
import type { ModelRoute } from "./catalog.js";
import type { TokenUsage } from "./pricing.js";
import type { PlanSettings, RequestPlan } from "./request-plan.js";
import type { PlannedRequest } from "./request-validation.js";
import type { SseUsage } from "./sse-usage.js";

/** The upstream endpoints Keyport forwards to (relative to an upstream's base URL). */
export type UpstreamPath = "/chat/completions" | "/completions" | "/embeddings";

export type { PlannedRequest };

/** A client's request, read: what is planned and forwarded, and what the client sent. */
export interface ParsedRequest {
  readonly request: PlannedRequest;
  /** The client's own body, for an endpoint that answers in another shape than it forwards. */
  readonly original: Readonly<Record<string, unknown>>;
}

/**
 * What the relay reads an upstream's SSE through: `SseUsage`, or a dialect wrapped around it
 * that writes the client's events in another shape.
 */
export interface SseEvents {
  push(text: string): string;
  end(tail: string): string;
  readonly upstreamError: boolean;
}

/**
 * One metered API (chat completions, the `prompt` form, embeddings, the Responses API): how its
 * requests are read and forwarded and how its answers reach the client. Every one goes through
 * the same steps — plan, reserve, call, relay or read, settle — in `chat.ts`.
 */
export interface Endpoint {
  /** What the request record calls it (`GET /api/v1/generation`'s `api_type`). */
  readonly apiType: ApiType;
  /** Where an upstream serves it. */
  readonly path: UpstreamPath;
  /** `object` of the chunks Keyport writes itself in a stream (usage, errors). */
  readonly chunkObject: string;
  /** Reads the body; a `400` in OpenRouter's shape names what is wrong. */
  parse(text: string): ParsedRequest;
  /** The worst case; chat's `planRequest` unless the endpoint bills otherwise. */
  plan?(
    route: ModelRoute,
    request: PlannedRequest,
    bodyBytes: number,
    key: Pick<StoredKey, "limitMicros">,
    settings: PlanSettings,
    fallbacks: readonly ModelRoute[],
  ): RequestPlan;
  /** `keyport/echo`'s answer, in the upstream's wire format for this endpoint. */
  echo(request: PlannedRequest, maxTokens: number, delayMs: number, signal: AbortSignal): Readable;
  /** Reads the usage of a JSON answer (`undefined` when it carries none). */
  usage?(answer: Record<string, unknown>): TokenUsage | undefined;
  /** Characters of generated text in a JSON answer, for an estimate when usage is missing. */
  generatedChars(answer: Record<string, unknown>): number;
  /** The client's JSON answer from the upstream's (`usage.cost` already set). */
  answer?(upstream: Record<string, unknown>, parsed: ParsedRequest): Record<string, unknown>;
  /** Wraps the stream reader when the client's events differ from the upstream's. */
  stream?(events: SseUsage, parsed: ParsedRequest): SseEvents & { translate(text: string): string };
}
