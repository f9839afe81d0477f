import { KeyportError } from "../web/errors.js";
import type { ModelCatalog, ModelRoute } from "./catalog.js";
import type { Prices } from "./pricing.js";
import { type ResolvedModel, resolveModel } from "./variants.js";

/** Results one web search returns when the request does not say (OpenRouter's default). */
const DEFAULT_WEB_RESULTS = 5;
/** The most results one web search may ask for. */
const MAX_WEB_RESULTS = 100;
/** The most models a `models` fallback list may name. */
const MAX_FALLBACK_MODELS = 16;

/** Service tiers that cost no more than the default one. */
const STANDARD_SERVICE_TIERS = new Set(["auto", "default", "flex"]);

/** What the request's cost-raising fields add to its worst case. */
export interface CostFields {
  /** Web search results the upstream may fetch (and bill) for this request. */
  readonly webSearchResults: number;
  /** Completion tokens each choice may add: predicted output is billed even where rejected. */
  readonly predictionTokens: number;
}

/** Prices for a request that may be served by any of several models: the worst of each. */
export interface WorstPrices extends Prices {
  /** Credits per web search result; `undefined` when some model offers no priced web search. */
  readonly webSearchPrice: number | undefined;
}

function refuse(field: string, reason: string): KeyportError {
  return new KeyportError(400, `Invalid ${field}: ${reason}`);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Checks the fields of OpenRouter's and OpenAI's request schemas that make an upstream charge
 * more than prompt plus completion tokens (DESIGN invariant 8), and prices what can be priced:
 *
 * - `plugins`: only `{"id": "web", "max_results"?: 1..100}`, on models with a `webSearchPrice`;
 *   `web_search_options` likewise (counted as one search of {@link DEFAULT_WEB_RESULTS});
 * - `prediction`: its bytes bound the rejected prediction tokens each choice may be billed;
 * - `reasoning.max_tokens`: at most the completion bound (reasoning tokens are completion tokens);
 * - refused: `service_tier` above the standard tiers, `modalities` other than text, `audio`
 *   output, and `tools` other than functions (server-side tools such as web search bill per call).
 *
 * @throws KeyportError `400` naming the field.
 */
export function costRaisingFields(
  request: Readonly<Record<string, unknown>>,
  prices: WorstPrices,
  completionBound: number,
): CostFields {
  let webSearchResults = 0;
  const { plugins, web_search_options, reasoning, prediction, service_tier } = request;
  if (plugins != null) {
    if (!Array.isArray(plugins)) throw refuse("plugins", "must be an array");
    for (const plugin of plugins) {
      const id = isRecord(plugin) ? plugin.id : undefined;
      if (id !== "web")
        throw refuse("plugins", `the ${JSON.stringify(id)} plugin is not offered by this server`);
      webSearchResults += webResults((plugin as Record<string, unknown>).max_results);
    }
  }
  if (web_search_options != null) {
    if (!isRecord(web_search_options)) throw refuse("web_search_options", "must be an object");
    webSearchResults += DEFAULT_WEB_RESULTS;
  }
  if (webSearchResults > 0 && prices.webSearchPrice === undefined) {
    throw refuse(
      plugins != null ? "plugins" : "web_search_options",
      "web search is not offered for this model",
    );
  }
  if (reasoning != null) {
    if (!isRecord(reasoning)) throw refuse("reasoning", "must be an object");
    const budget = reasoning.max_tokens;
    if (budget != null && !(Number.isSafeInteger(budget) && (budget as number) >= 0))
      throw refuse("reasoning.max_tokens", "must be a non-negative integer");
    if (typeof budget === "number" && budget > completionBound) {
      throw refuse(
        "reasoning.max_tokens",
        `must be at most the request's completion bound of ${completionBound} tokens`,
      );
    }
  }
  if (service_tier != null && !STANDARD_SERVICE_TIERS.has(service_tier as string))
    throw refuse("service_tier", "only auto, default and flex are offered by this server");
  if (
    request.modalities != null &&
    !(Array.isArray(request.modalities) && request.modalities.every((m) => m === "text"))
  ) {
    throw refuse("modalities", "only text output is offered by this server");
  }
  if (request.audio != null) throw refuse("audio", "audio output is not offered by this server");
  if (request.tools != null) {
    if (!Array.isArray(request.tools)) throw refuse("tools", "must be an array");
    for (const tool of request.tools) {
      if (!isRecord(tool) || tool.type !== "function")
        throw refuse("tools", "only function tools are offered by this server");
    }
  }
  const predictionTokens =
    prediction == null ? 0 : Buffer.byteLength(JSON.stringify(prediction) ?? "");
  return { webSearchResults, predictionTokens };
}

function webResults(value: unknown): number {
  if (value == null) return DEFAULT_WEB_RESULTS;
  if (Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= MAX_WEB_RESULTS)
    return value as number;
  throw refuse("plugins", `max_results must be an integer from 1 to ${MAX_WEB_RESULTS}`);
}

/**
 * The routes of a `models` fallback list, in order: each a model Keyport serves (on any upstream;
 * Keyport tries them one by one), `model` itself skipped, each once. The reservation is priced
 * at the dearest of them all.
 * @throws KeyportError `400` naming `models`.
 */
export async function fallbackRoutes(
  catalog: ModelCatalog,
  route: ModelRoute,
  models: unknown,
): Promise<ModelRoute[]> {
  if (models == null) return [];
  if (!Array.isArray(models) || models.length > MAX_FALLBACK_MODELS)
    throw refuse("models", `must be an array of at most ${MAX_FALLBACK_MODELS} model ids`);
  const routes: ModelRoute[] = [];
  for (const id of models) {
    if (typeof id !== "string") throw refuse("models", "must be an array of model ids");
    let resolved: ResolvedModel;
    try {
      resolved = await resolveModel(catalog, id);
    } catch (error) {
      throw refuse("models", error instanceof Error ? error.message : "unknown model");
    }
    if (resolved.online) throw refuse("models", `${id}: :online is not offered in a fallback list`);
    const fallback = resolved.route;
    if (fallback.id === route.id || routes.some((known) => known.id === fallback.id)) continue;
    routes.push(fallback);
  }
  return routes;
}

/** The dearest of each price among the routes a request may be served by. */
export function worstPrices(routes: readonly [ModelRoute, ...ModelRoute[]]): WorstPrices {
  const webPrices = routes.map((route) => route.webSearchPrice);
  return {
    promptPrice: Math.max(...routes.map((route) => route.promptPrice)),
    completionPrice: Math.max(...routes.map((route) => route.completionPrice)),
    requestPrice: Math.max(...routes.map((route) => route.requestPrice)),
    webSearchPrice: webPrices.every((price) => price !== undefined)
      ? Math.max(...(webPrices as number[]))
      : undefined,
  };
}
