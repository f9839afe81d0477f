import { Hono } from "hono";
import { constantTimeEqual } from "../domain/secrets.js";
import type { AppEnv } from "../web/context.js";
import { jsonError, KeyportError } from "../web/errors.js";
import type { Metrics } from "../web/metrics.js";

/**
 * `GET /metrics` in Prometheus' text format, only with `Authorization: Bearer <token>` (`401`
 * otherwise). Mounted on the main port only when an operator set `KEYPORT_METRICS_TOKEN`; the
 * metrics port (`KEYPORT_METRICS_PORT`) serves the same route.
 * @example
 * app.route("/", metricsRoutes(metrics, config.metrics.token));
 */
export function metricsRoutes(metrics: Metrics, token: string | undefined) {
  const app = new Hono<AppEnv>();
  app.get("/metrics", async (c) => {
    if (token !== undefined) {
      const presented = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
      if (presented === undefined || !constantTimeEqual(presented, token))
        // JSON on the main port too, where errors outside /api/ would be pages.
        return jsonError(
          c,
          new KeyportError(401, "Missing or wrong metrics token", {
            "WWW-Authenticate": 'Bearer realm="metrics"',
          }),
        );
    }
    c.header("Cache-Control", "no-store");
    return c.body(await metrics.registry.metrics(), 200, {
      "Content-Type": metrics.registry.contentType,
    });
  });
  return app;
}
