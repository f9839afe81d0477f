import type { ModelRoute } from "./catalog.js";

/**
 * Request parameters a configured model is listed with when its configuration names none: the
 * ones every OpenAI-compatible server honours (`max_tokens` Keyport itself enforces).
 */
const COMMON_PARAMETERS = Object.freeze([
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "stop",
]);

type Json = Record<string, unknown>;

const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isString = (value: unknown): value is string => typeof value === "string";
const isInt = (value: unknown): value is number => Number.isSafeInteger(value);
const isStrings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every(isString);
const orNull =
  <T>(check: (value: unknown) => value is T) =>
  (value: unknown): value is T | null =>
    value === null || check(value);

/** `value` when `check` accepts it, else `fallback`: an upstream's odd field never goes out. */
function checked<T>(value: unknown, check: (value: unknown) => value is T, fallback: T): T {
  return check(value) ? value : fallback;
}

/** A price as OpenRouter writes it: a plain decimal string, never `1e-7`. */
function decimal(value: number): string {
  return value.toFixed(12).replace(/\.?0+$/, "") || "0";
}

/** The path of a model's endpoints list, which `links.details` points at. */
function endpointsPath(id: string): string {
  return `/api/v1/models/${id.split("/").map(encodeURIComponent).join("/")}/endpoints`;
}

/** The model's architecture: its modalities (default text to text), family and prompt format. */
function architecture(route: ModelRoute) {
  const listed = isRecord(route.listing?.architecture) ? route.listing.architecture : {};
  const inputs = checked(listed.input_modalities, isStrings, [
    ...(route.inputModalities ?? ["text"]),
  ]);
  const outputs = checked(listed.output_modalities, isStrings, [
    ...(route.outputModalities ?? ["text"]),
  ]);
  return {
    input_modalities: inputs,
    output_modalities: outputs,
    tokenizer: checked(listed.tokenizer, isString, route.tokenizer ?? "Other"),
    instruct_type: checked(listed.instruct_type, orNull(isString), route.instructType ?? null),
    modality: checked(
      listed.modality,
      orNull(isString),
      `${inputs.join("+")}->${outputs.join("+")}`,
    ),
  };
}

/**
 * What a request costs on the model, in credits per token as decimal strings: what the upstream
 * listed (every price it gave as a string), else Keyport's own figures, which it bills.
 */
function pricing(route: ModelRoute): Json {
  const listed = isRecord(route.listing?.pricing) ? route.listing.pricing : {};
  const prices: Json = {};
  for (const [name, value] of Object.entries(listed))
    if (isString(value) && name !== "overrides") prices[name] = value;
  if (typeof listed.discount === "number") prices.discount = listed.discount;
  if (Array.isArray(listed.overrides) && listed.overrides.every(isOverride))
    prices.overrides = listed.overrides;
  prices.prompt = checked(listed.prompt, isString, decimal(route.promptPrice));
  prices.completion = checked(listed.completion, isString, decimal(route.completionPrice));
  if (route.listing === undefined) {
    prices.request = decimal(route.requestPrice);
    if (route.webSearchPrice !== undefined) prices.web_search = decimal(route.webSearchPrice);
  }
  return prices;
}

/** A time- or size-dependent price (OpenRouter's `PricingOverride`): words, numbers, day names. */
const isOverride = (value: unknown): boolean =>
  isRecord(value) &&
  Object.values(value).every(
    (entry) => isString(entry) || typeof entry === "number" || isStrings(entry),
  );

/** The provider that serves the model: Keyport has one per model, its upstream. */
function topProvider(route: ModelRoute) {
  const listed = isRecord(route.listing?.top_provider) ? route.listing.top_provider : {};
  return {
    context_length: checked(listed.context_length, orNull(isInt), route.contextLength ?? null),
    max_completion_tokens: checked(
      listed.max_completion_tokens,
      orNull(isInt),
      route.maxTokens ?? null,
    ),
    is_moderated: checked(
      listed.is_moderated,
      (value): value is boolean => typeof value === "boolean",
      route.isModerated ?? false,
    ),
  };
}

const isLimits = (value: unknown): value is Json =>
  isRecord(value) &&
  typeof value.prompt_tokens === "number" &&
  typeof value.completion_tokens === "number";

const isDefaults = (value: unknown): value is Json =>
  isRecord(value) &&
  Object.values(value).every((entry) => entry === null || typeof entry === "number");

/**
 * A model as OpenRouter's `GET /api/v1/models` lists it (`@openrouter/sdk`'s `Model`): every field
 * present, `null` where nothing is known. A model a `"discover"` upstream listed keeps what the
 * upstream said wherever it has the right type; the rest comes from Keyport's configuration.
 * `object` and `owned_by` stay for OpenAI clients.
 * @see https://openrouter.ai/docs/api-reference/list-available-models
 */
export function modelCard(route: ModelRoute): Json {
  const listed = route.listing ?? {};
  const id = route.id;
  return {
    id,
    canonical_slug: checked(listed.canonical_slug, isString, id),
    object: "model",
    owned_by: route.upstreamName,
    name: checked(listed.name, isString, route.name ?? id),
    created: checked(listed.created, isInt, route.created ?? 0),
    description: checked(
      listed.description,
      isString,
      route.description ?? `${route.upstreamModel} through upstream ${route.upstreamName}`,
    ),
    context_length: checked(listed.context_length, orNull(isInt), route.contextLength ?? null),
    architecture: architecture(route),
    pricing: pricing(route),
    top_provider: topProvider(route),
    per_request_limits: checked(listed.per_request_limits, orNull(isLimits), null),
    supported_parameters: checked(listed.supported_parameters, isStrings, [
      ...(route.supportedParameters ?? (route.listing ? [] : COMMON_PARAMETERS)),
    ]),
    default_parameters: checked(
      listed.default_parameters,
      orNull(isDefaults),
      route.defaultParameters ? { ...route.defaultParameters } : null,
    ),
    supported_voices: checked(listed.supported_voices, orNull(isStrings), null),
    hugging_face_id: checked(listed.hugging_face_id, orNull(isString), route.huggingFaceId ?? null),
    knowledge_cutoff: checked(listed.knowledge_cutoff, orNull(isString), null),
    expiration_date: checked(listed.expiration_date, orNull(isString), null),
    links: { details: endpointsPath(id) },
  };
}

/**
 * The model's one endpoint, as OpenRouter's `GET /api/v1/models/{author}/{slug}/endpoints` lists
 * endpoints (`@openrouter/sdk`'s `PublicEndpoint`): Keyport routes a model to exactly one
 * upstream. It keeps no latency, throughput or uptime statistics, so those are `null`; an
 * unknown context length is `0`.
 */
function modelEndpoint(route: ModelRoute, card: Json = modelCard(route)): Json {
  const parameters = card.supported_parameters as string[];
  const toolChoice = parameters.includes("tool_choice");
  const top = card.top_provider as ReturnType<typeof topProvider>;
  return {
    name: `${route.upstreamName} | ${route.id}`,
    model_id: route.id,
    model_name: card.name,
    context_length: (card.context_length as number | null) ?? top.context_length ?? 0,
    pricing: card.pricing,
    provider_name: route.upstreamName,
    tag: route.upstreamName,
    quantization: null,
    max_completion_tokens: top.max_completion_tokens ?? null,
    max_prompt_tokens: null,
    supported_parameters: parameters,
    status: 0,
    uptime_last_30m: null,
    uptime_last_5m: null,
    uptime_last_1d: null,
    latency_last_30m: null,
    throughput_last_30m: null,
    supports_implicit_caching: false,
    supports_tool_choice: {
      auto: toolChoice,
      none: toolChoice,
      required: toolChoice,
      function: toolChoice,
    },
    supports_voice_cloning: false,
  };
}

/** A model with its endpoints, the `data` of OpenRouter's endpoints list. */
export function modelEndpoints(route: ModelRoute): Json {
  const card = modelCard(route);
  return {
    id: route.id,
    name: card.name,
    created: card.created,
    description: card.description,
    architecture: card.architecture,
    endpoints: [modelEndpoint(route, card)],
  };
}
