import type { Context } from "hono";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { gatewayRoutes } from "./gateway/routes.js";
import { accountRoutes } from "./http/account.js";
import { adminRoutes } from "./http/admin.js";
import { authorizeRoutes } from "./http/authorize.js";
import { codeApiRoutes } from "./http/code-api.js";
import { dashboardAccountRoutes } from "./http/dashboard-account.js";
import { dashboardAppsRoutes } from "./http/dashboard-apps.js";
import { dashboardAssetRoutes } from "./http/dashboard-assets.js";
import { dashboardKeysRoutes } from "./http/dashboard-keys.js";
import { dashboardUsageRoutes } from "./http/dashboard-usage.js";
import { exchangeRoutes } from "./http/exchange.js";
import { headlessResultRoutes } from "./http/headless-result.js";
import { healthRoutes } from "./http/health.js";
import { keyApiRoutes } from "./http/key-api.js";
import { keysApiRoutes } from "./http/keys-api.js";
import { metricsRoutes } from "./http/metrics.js";
import { passwordResetRoutes } from "./http/password-reset.js";
import { usageApiRoutes } from "./http/usage-api.js";
import { CONSENT_SCRIPT_SOURCE } from "./views/consent-script.js";
import { ErrorPage } from "./views/error-page.js";
import { FAVICON_SVG } from "./views/favicon.js";
import { STYLESHEET } from "./views/styles.js";
import { apiCors } from "./web/api-cors.js";
import { limitBody } from "./web/body.js";
import type { AppDeps, AppEnv } from "./web/context.js";
import { jsonError, KeyportError } from "./web/errors.js";
import { requestId } from "./web/request-id.js";
import { requestLog } from "./web/request-log.js";
import { requestMetrics } from "./web/request-metrics.js";
import { refuseCrossSite } from "./web/same-origin.js";
import { securityHeaders } from "./web/security-headers.js";
import { browserSession } from "./web/session.js";
import { answerStorageFault } from "./web/storage-unavailable.js";

/**
 * Request headers a page on another origin may send to `/api/*`: the bearer key and JSON, the
 * `x-stainless-*` headers openai-node sends on every call, and OpenRouter's app attribution
 * headers its own SDK sends. Listed rather than reflected: the API takes bearer keys, never
 * cookies (no credentials are allowed), but an explicit list keeps what pages may send known.
 */
const API_REQUEST_HEADERS = [
  "Authorization",
  "Content-Type",
  "HTTP-Referer",
  "X-Title",
  "X-OpenRouter-Title",
  "X-OpenRouter-Categories",
  "X-OpenRouter-Metadata",
  "Idempotency-Key",
  ...[
    "arch",
    "custom-poll-interval",
    "helper-method",
    "lang",
    "os",
    "package-version",
    "poll-helper",
    "retry-count",
    "runtime",
    "runtime-version",
    "timeout",
  ].map((name) => `X-Stainless-${name}`),
];

/**
 * Builds the Keyport HTTP application: pages, the PKCE exchange, the key API and the gateway.
 * @example
 * const app = createApp({ config, store, clock: systemClock, secret });
 * serve({ fetch: app.fetch, port: config.port });
 */
export function createApp(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  app.use(requestId());
  if (deps.logger) app.use(requestLog(deps.logger));
  if (deps.metrics) app.use(requestMetrics(deps.metrics));
  if (deps.metrics && deps.config.metrics.token !== undefined)
    app.route("/", metricsRoutes(deps.metrics, deps.config.metrics.token));
  // 'self': the usage chart's script and uPlot, served from /assets (never inline).
  app.use(securityHeaders({ scriptSources: [CONSENT_SCRIPT_SOURCE, "'self'"] }));
  app.route("/", healthRoutes(deps));
  app.get("/assets/keyport.css", (c) => {
    c.header("Cache-Control", "public, max-age=3600");
    return c.body(STYLESHEET, 200, { "Content-Type": "text/css; charset=utf-8" });
  });
  const favicon = (c: Context) => {
    c.header("Cache-Control", "public, max-age=86400");
    return c.body(FAVICON_SVG, 200, { "Content-Type": "image/svg+xml" });
  };
  app.get("/assets/favicon.svg", favicon);
  // Browsers and tools that ask for the conventional path get the same icon.
  app.get("/favicon.ico", favicon);
  app.route("/", dashboardAssetRoutes());

  app.use(
    "/api/*",
    apiCors({
      allowHeaders: API_REQUEST_HEADERS,
      exposeHeaders: ["X-Request-Id", "Retry-After"],
      maxAgeSeconds: 86_400,
    }),
  );
  app.route("/", exchangeRoutes(deps));
  app.route("/", keyApiRoutes(deps));
  app.route("/", keysApiRoutes(deps));
  app.route("/", codeApiRoutes(deps));
  app.route("/", usageApiRoutes(deps));
  app.route("/", gatewayRoutes(deps));

  const pages = new Hono<AppEnv>();
  // Only form pages need the limit as middleware (Hono parses their bodies): the JSON endpoints
  // read theirs through readBody, which enforces it without materialising a web Request.
  pages.use(refuseCrossSite({ publicUrl: deps.config.publicUrl }));
  pages.use(limitBody());
  pages.use(browserSession(deps));
  pages.route("/", accountRoutes(deps));
  pages.route("/", authorizeRoutes(deps));
  pages.route("/", headlessResultRoutes(deps));
  pages.route("/", adminRoutes(deps));
  pages.route("/", dashboardKeysRoutes(deps));
  pages.route("/", dashboardAppsRoutes(deps));
  pages.route("/", dashboardAccountRoutes(deps));
  pages.route("/", dashboardUsageRoutes(deps));
  pages.route("/", passwordResetRoutes(deps));
  app.route("/", pages);

  app.notFound((c) => renderError(c, new KeyportError(404, "Not found")));
  app.onError((error, c) => renderError(c, error));
  return app;
}

function renderError(c: Context<AppEnv>, error: unknown): Response | Promise<Response> {
  const failure =
    error instanceof HTTPException
      ? new KeyportError(error.status as 400, error.message || "Bad request")
      : answerStorageFault(error);
  if (c.req.path.startsWith("/api/")) return jsonError(c, failure);
  const user = c.get("session")?.user;
  const viewer = user && { email: user.email, isAdmin: user.isAdmin };
  const nothingShared = c.get("nothingShared") === true;
  if (!(failure instanceof KeyportError)) {
    console.error(failure);
    return c.html(
      <ErrorPage
        status={500}
        message="The server failed to answer this request."
        viewer={viewer}
        nothingShared={nothingShared}
      />,
      500,
    );
  }
  for (const [name, value] of Object.entries(failure.headers)) c.header(name, value);
  return c.html(
    <ErrorPage
      status={failure.status}
      message={failure.message}
      retryAfter={failure.headers["Retry-After"]}
      viewer={viewer}
      nothingShared={nothingShared}
    />,
    failure.status,
  );
}
