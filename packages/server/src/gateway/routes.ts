import { type Context, Hono, type Next } from "hono";
import { isPostgresUrl } from "../store/open.js";
import { limitBody } from "../web/body.js";
import type { AppDeps, AppEnv } from "../web/context.js";
import { nodeIncoming } from "../web/node-request.js";
import { memoryRateLimits } from "../web/rate-limit.js";
import { ModelCatalog } from "./catalog.js";
import { chatCompletions, meteredEndpoint } from "./chat.js";
import { COMPLETIONS_ENDPOINT } from "./completions.js";
import { EMBEDDINGS_ENDPOINT } from "./embeddings.js";
import { Meter } from "./metering.js";
import { modelsApiRoutes } from "./models-api.js";
import { providersApiRoutes } from "./providers-api.js";
import { RESPONSES_ENDPOINT } from "./responses.js";

/** The gateway's metered endpoints; the app's small global body limit does not apply to them. */
const CHAT_COMPLETIONS_PATH = "/api/v1/chat/completions";
const COMPLETIONS_PATH = "/api/v1/completions";
const EMBEDDINGS_PATH = "/api/v1/embeddings";
const RESPONSES_PATH = "/api/v1/responses";

/**
 * The OpenAI-compatible gateway: `POST /api/v1/chat/completions`, `/api/v1/completions` and
 * `/api/v1/responses` (JSON or SSE), `POST /api/v1/embeddings`, OpenRouter's model catalogue (`GET /api/v1/models` and its kin) and
 * `GET /api/v1/providers`. Upstreams come from `config.gateway`; `fetch` is injectable for tests.
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
    onCharge: deps.metrics && ((model, micros) => deps.metrics?.charged(model, micros)),
  });
  deps.metrics?.countReservations(() => meter.reservationsInFlight);
  const app = new Hono<AppEnv>();

  const limit = limitBody(gateway.maxBodyBytes);
  // Served by Node, a handler reads the body itself and applies the limit while reading;
  // `app.request()` and other runtimes go through Hono's body limit, which streams.
  const bodyLimit = (c: Context<AppEnv>, next: Next) => (nodeIncoming(c) ? next() : limit(c, next));
  const chatDeps = { app: deps, catalog, meter, limiter, fetch: fetchFn };
  app.post(CHAT_COMPLETIONS_PATH, bodyLimit, chatCompletions(chatDeps));
  app.post(COMPLETIONS_PATH, bodyLimit, meteredEndpoint(chatDeps, COMPLETIONS_ENDPOINT));
  app.post(EMBEDDINGS_PATH, bodyLimit, meteredEndpoint(chatDeps, EMBEDDINGS_ENDPOINT));
  app.post(RESPONSES_PATH, bodyLimit, meteredEndpoint(chatDeps, RESPONSES_ENDPOINT));

  app.route("/", modelsApiRoutes(deps, catalog));
  app.route("/", providersApiRoutes(gateway.upstreams));
  return app;
}
