import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { KeyportConfig } from "../config/config.js";
import { metricsRoutes } from "../http/metrics.js";
import type { AppEnv } from "../web/context.js";
import { jsonError, KeyportError } from "../web/errors.js";
import type { Metrics } from "../web/metrics.js";

/** The metrics listener: where it listens, and its stop. */
export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` alone on `config.metrics.port` of `config.metrics.host` (loopback by
 * default), apart from the public port, so a scraper reaches it and the internet does not; the
 * token, when set, is asked for here too. Anything else is `404`.
 */
export function startMetricsServer(
  config: KeyportConfig,
  metrics: Metrics,
): Promise<MetricsServer> {
  const { host, port, token } = config.metrics;
  const app = new Hono<AppEnv>();
  app.route("/", metricsRoutes(metrics, token));
  app.notFound((c) => jsonError(c, new KeyportError(404, "Not found")));
  app.onError((error, c) => jsonError(c, error));
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
      const shown = host.includes(":") ? `[${host}]` : host;
      resolve({
        url: `http://${shown}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            (server as Server).close(() => done());
            (server as Server).closeAllConnections();
          }),
      });
    });
    server.once("error", reject);
  });
}
