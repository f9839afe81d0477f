import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context.js";
import { KeyportError } from "./errors.js";
import type { Metrics } from "./metrics.js";
import { onFinished } from "./on-finished.js";
import { routeLabel } from "./route-label.js";

/**
 * Counts every request and its duration (to the answer's last byte) by route pattern, method and
 * status, and an upstream failure answered as an error by its upstream and status.
 * @example
 * app.use(requestMetrics(metrics));
 */
export function requestMetrics(metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async function requestMetrics(c, next) {
    const started = performance.now();
    await next();
    const upstream = upstreamOf(c.error);
    if (upstream !== undefined) metrics.upstreamError(upstream, c.res.status);
    onFinished(c, () => {
      const seconds = (performance.now() - started) / 1000;
      metrics.request(routeLabel(c), c.req.method, c.res.status, seconds);
    });
  };
}

/** The upstream an error names (the gateway's upstream failures carry it in their metadata). */
function upstreamOf(error: unknown): string | undefined {
  if (!(error instanceof KeyportError)) return undefined;
  const upstream = error.metadata?.upstream;
  return typeof upstream === "string" ? upstream : undefined;
}
