import type { UpstreamConfig, UpstreamModelConfig } from "../config/upstreams.js";

/** Built-in models (no upstream) are attributed to this upstream name in request records. */
export const BUILTIN_UPSTREAM = "keyport";

/** The deterministic test model every Keyport serves. */
export const ECHO_MODEL_ID = "keyport/echo";

/** Where a model id is served and what it costs: its configuration, and its upstream. */
export interface ModelRoute extends UpstreamModelConfig {
  /** `undefined` for built-in models. */
  readonly upstream: UpstreamConfig | undefined;
  readonly upstreamName: string;
  /** What a `"discover"` upstream's `GET /models` said of the model, as it said it. */
  readonly listing?: Readonly<Record<string, unknown>>;
}

const ECHO_ROUTE: ModelRoute = Object.freeze({
  id: ECHO_MODEL_ID,
  upstream: undefined,
  upstreamName: BUILTIN_UPSTREAM,
  upstreamModel: ECHO_MODEL_ID,
  promptPrice: 0.000001,
  completionPrice: 0.000002,
  requestPrice: 0,
  maxTokens: 1024,
  contextLength: 65_536,
  name: "Keyport: Echo (test model)",
  supportedParameters: ["max_tokens", "max_completion_tokens"],
  description:
    "TEST MODEL, not a language model: answers with your last message, word by word, " +
    "deterministically and offline. Bills 1 micro-credit per prompt word and 2 per reply word " +
    "so metering and limits can be tried without an upstream.",
});

const DISCOVERY_RETRY_MS = 60_000;
const DISCOVERY_TIMEOUT_MS = 10_000;

/**
 * Which upstream serves which model. Listed models are known at once; `"discover"` upstreams
 * are asked for their `GET /models` on first use, and again (at most once a minute) when a
 * request names a model nobody serves. The first upstream listing an id serves it.
 */
export class ModelCatalog {
  private routes = new Map<string, ModelRoute>();
  private discovery: Promise<void> | undefined;
  private discoveredAt = Number.NEGATIVE_INFINITY;
  private readonly discovering: readonly UpstreamConfig[];

  constructor(
    private readonly upstreams: readonly UpstreamConfig[],
    private readonly fetchFn: typeof fetch = globalThis.fetch,
    private readonly log: (message: string) => void = (message) => console.warn(message),
  ) {
    this.discovering = upstreams.filter((upstream) => upstream.models === "discover");
    this.routes = this.build(new Map());
  }

  /** The route for a model id among those known now (no discovery). */
  known(id: string): ModelRoute | undefined {
    return this.routes.get(id);
  }

  /** The route for a model id, or `undefined` when no upstream serves it. */
  async resolve(id: string): Promise<ModelRoute | undefined> {
    const route = this.routes.get(id);
    if (route || this.discovering.length === 0) return route;
    if (this.discovery === undefined && Date.now() - this.discoveredAt >= DISCOVERY_RETRY_MS) {
      this.discovery = this.discover();
    }
    await this.discovery;
    return this.routes.get(id);
  }

  /** Every model served, built-in first. */
  async list(): Promise<ModelRoute[]> {
    if (this.discovering.length > 0 && this.discoveredAt === Number.NEGATIVE_INFINITY) {
      this.discovery ??= this.discover();
      await this.discovery;
    }
    return [...this.routes.values()];
  }

  private build(discovered: ReadonlyMap<string, ModelRoute[]>): Map<string, ModelRoute> {
    const routes = new Map<string, ModelRoute>([[ECHO_MODEL_ID, ECHO_ROUTE]]);
    for (const upstream of this.upstreams) {
      const models: readonly ModelRoute[] =
        upstream.models === "discover"
          ? (discovered.get(upstream.name) ?? [])
          : upstream.models.map((model) => ({ ...model, upstream, upstreamName: upstream.name }));
      for (const model of models) {
        if (routes.has(model.id)) {
          if (upstream.models !== "discover") {
            this.log(
              `keyport: model ${model.id} of upstream ${upstream.name} is already served by ${routes.get(model.id)?.upstreamName}`,
            );
          }
          continue;
        }
        routes.set(model.id, model);
      }
    }
    return routes;
  }

  private async discover(): Promise<void> {
    const found = new Map<string, ModelRoute[]>();
    await Promise.all(
      this.discovering.map(async (upstream) => {
        try {
          found.set(upstream.name, await this.discoverOne(upstream));
        } catch (error) {
          this.log(
            `keyport: cannot list the models of upstream ${upstream.name}: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }),
    );
    // Keep what an earlier discovery found for upstreams that failed this time.
    for (const upstream of this.discovering) {
      if (!found.has(upstream.name)) {
        found.set(
          upstream.name,
          [...this.routes.values()].filter((route) => route.upstream === upstream),
        );
      }
    }
    this.routes = this.build(found);
    this.discoveredAt = Date.now();
    this.discovery = undefined;
  }

  private async discoverOne(upstream: UpstreamConfig): Promise<ModelRoute[]> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (upstream.apiKey) headers.authorization = `Bearer ${upstream.apiKey.reveal()}`;
    const response = await this.fetchFn(`${upstream.baseUrl}/models`, {
      headers,
      signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`GET /models answered ${response.status}`);
    const body = (await response.json()) as unknown;
    const data =
      typeof body === "object" && body !== null ? (body as { data?: unknown }).data : undefined;
    if (!Array.isArray(data)) throw new Error("GET /models has no data array");
    const routes: ModelRoute[] = [];
    for (const entry of data) {
      if (typeof entry !== "object" || entry === null) continue;
      const model = entry as Record<string, unknown>;
      if (typeof model.id !== "string" || model.id === "") continue;
      const pricing = (
        typeof model.pricing === "object" && model.pricing !== null ? model.pricing : {}
      ) as Record<string, unknown>;
      const topProvider = (
        typeof model.top_provider === "object" && model.top_provider !== null
          ? model.top_provider
          : {}
      ) as Record<string, unknown>;
      // OpenRouter lists routers such as `openrouter/auto` at "-1": their price is unknown, so
      // no worst case can be reserved for them.
      const promptPrice = nonNegative(pricing.prompt);
      const completionPrice = nonNegative(pricing.completion);
      if (promptPrice === undefined || completionPrice === undefined) continue;
      routes.push({
        id: model.id,
        upstream,
        upstreamName: upstream.name,
        upstreamModel: model.id,
        promptPrice,
        // Reasoning tokens are completion tokens; where they are dearer, reserve at their price.
        completionPrice: Math.max(completionPrice, nonNegative(pricing.internal_reasoning) ?? 0),
        requestPrice: nonNegative(pricing.request) ?? 0,
        maxTokens: positiveInt(topProvider.max_completion_tokens),
        contextLength: positiveInt(model.context_length),
        description: typeof model.description === "string" ? model.description : undefined,
        listing: model,
      });
    }
    return routes;
  }
}

function nonNegative(value: unknown): number | undefined {
  const number = typeof value === "string" ? Number(value) : value;
  return typeof number === "number" && Number.isFinite(number) && number >= 0 ? number : undefined;
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}
