import { type Context, Hono, type Next } from "hono";
import { isPostgresUrl } from "../store/open.js";
import { limitBody } from "../web/body.js";
import type { AppDeps, AppEnv } from "../web/context.js";
import { nodeIncoming } from "../web/node-request.js";
import { memoryRateLimits } from "../web/rate-limit.js";
import { ModelCatalog, type ModelRoute } from "./catalog.js";
import { chatCompletions, meteredEndpoint } from "./chat.js";
import { COMPLETIONS_ENDPOINT } from "./completions.js";
import { Meter } from "./metering.js";

/** The gateway's metered endpoints; the app's small global body limit does not apply to them. */
const CHAT_COMPLETIONS_PATH = "/api/v1/chat/completions";
const COMPLETIONS_PATH = "/api/v1/completions";

/**
 * The OpenAI-compatible gateway: `POST /api/v1/chat/completions` (JSON or SSE) and
 * `GET /api/v1/models`. Upstreams come from `config.gateway`; `fetch` is injectable for tests.
 * @example
 * app.route("/", gatewayRoutes(deps));
 */
export function gatewayRoutes(deps: AppDeps, fetchFn: typeof fetch = globalThis.fetch) {
  const gateway = deps.config.gateway;
  const catalog = new ModelCatalog(gateway.upstreams, fetchFn);
  const limiter =
    gateway.rateLimit > 0
      ? (deps.rateLimits ?? memoryRateLimits(deps.clock)).limit(
          "gateway",
          gateway.rateLimit,
          "chat completion",
        )
      : undefined;
  const meter = new Meter(deps.store, deps.clock, {
    leaseMs: gateway.leaseMs,
    maxInFlightPerKey: gateway.maxInFlightPerKey,
    answerBeforeSettle: !isPostgresUrl(deps.config.database),
  });
  const app = new Hono<AppEnv>();

  const limit = limitBody(gateway.maxBodyBytes);
  // Served by Node, a handler reads the body itself and applies the limit while reading;
  // `app.request()` and other runtimes go through Hono's body limit, which streams.
  const bodyLimit = (c: Context<AppEnv>, next: Next) => (nodeIncoming(c) ? next() : limit(c, next));
  const chatDeps = { app: deps, catalog, meter, limiter, fetch: fetchFn };
  app.post(CHAT_COMPLETIONS_PATH, bodyLimit, chatCompletions(chatDeps));
  app.post(COMPLETIONS_PATH, bodyLimit, meteredEndpoint(chatDeps, COMPLETIONS_ENDPOINT));

  app.get("/api/v1/models", async (c) => {
    const routes = await catalog.list();
    return c.json({ object: "list", data: routes.map(describeModel) });
  });
  return app;
}

/** A model in OpenRouter's `/models` shape (which is also OpenAI's, plus pricing). */
function describeModel(route: ModelRoute) {
  return {
    id: route.id,
    object: "model",
    created: 0,
    owned_by: route.upstreamName,
    name: route.id,
    description:
      route.description ?? `${route.upstreamModel} through upstream ${route.upstreamName}`,
    context_length: route.contextLength ?? null,
    pricing: {
      prompt: decimal(route.promptPrice),
      completion: decimal(route.completionPrice),
      request: decimal(route.requestPrice),
      ...(route.webSearchPrice === undefined ? {} : { web_search: decimal(route.webSearchPrice) }),
    },
    top_provider: {
      context_length: route.contextLength ?? null,
      max_completion_tokens: route.maxTokens ?? null,
    },
  };
}

/** A price as OpenRouter writes it: a plain decimal string, never `1e-7`. */
function decimal(value: number): string {
  return value.toFixed(12).replace(/\.?0+$/, "") || "0";
}
