import { MICROS_PER_CREDIT } from "../domain/credits.js";
import { KeyportError } from "../web/errors.js";
import type { ModelRoute } from "./catalog.js";
import { costMicros, type TokenUsage } from "./pricing.js";
import type { RequestPlan } from "./request-plan.js";
import type { UpstreamCall } from "./upstream-call.js";

/** Fields only OpenRouter reads: other upstreams never get them (some refuse unknown fields). */
const OPENROUTER_FIELDS = ["provider", "route", "transforms"] as const;

/**
 * The body one model of a request gets: the planned body with that model's upstream id, without
 * `models` (Keyport walks the fallback list itself, one model per upstream call) and, unless
 * the upstream is OpenRouter, without OpenRouter's routing fields (`provider`, `route`,
 * `transforms`).
 */
export function attemptBody(
  planned: Readonly<Record<string, unknown>>,
  route: ModelRoute,
): Record<string, unknown> {
  const body: Record<string, unknown> = { ...planned, model: route.upstreamModel };
  delete body.models;
  if (!route.upstream?.openRouter) for (const field of OPENROUTER_FIELDS) delete body[field];
  return body;
}

/**
 * Whether a failed call may go on to the next model of its `models` list: the upstream answered
 * `429`, a `5xx` (mapped to `502`), a timeout status (`408`/`504`), or a `2xx` carrying an
 * error, or could not be reached — in each case it said it did no work. A call Keyport cut (a
 * timeout, the client leaving) may have been generating, so it keeps its reservation spent and
 * is not retried; a refused request (`400`) would be refused by the next model too.
 */
export function mayFallBack(error: unknown, call: UpstreamCall): boolean {
  if (call.cause !== undefined || !(error instanceof KeyportError)) return false;
  return error.status === 429 || error.status === 502 || error.status === 408;
}

/**
 * What usage costs on the model that served: its own prices (the reservation was priced at the
 * dearest of the list), plus the web search results the plan priced, at its web search price.
 */
export function servedCost(plan: RequestPlan, route: ModelRoute, usage: TokenUsage): number {
  const fees = Math.ceil(
    plan.webSearchResults * (route.webSearchPrice ?? 0) * MICROS_PER_CREDIT - 1e-6,
  );
  return costMicros(route, usage, Math.max(0, fees));
}
