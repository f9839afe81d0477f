import type { MiddlewareHandler } from "hono";
import type { Logger } from "pino";
import type { AppEnv } from "./context.js";
import { onFinished } from "./on-finished.js";
import { routeLabel } from "./route-label.js";

/** How much of a key's hash a log line shows: enough to find the key, useless as a secret. */
const KEY_HASH_PREFIX = 16;

/**
 * Writes one JSON line per request once its answer has been sent (a stream's last byte
 * included): `method`, `route` (the pattern, never the path), `status`, `duration_ms`,
 * `request_id`, and `key` (a prefix of the key's SHA-256) when a key authenticated. Nothing
 * else of the request (no query, header, cookie or body) is logged, so no secret can be.
 * @example
 * app.use(requestLog(pino()));
 */
export function requestLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async function requestLog(c, next) {
    const started = performance.now();
    await next();
    const write = () => {
      const keyHash = c.get("keyHash");
      logger.info(
        {
          method: c.req.method,
          route: routeLabel(c),
          status: c.res.status,
          duration_ms: Math.round((performance.now() - started) * 10) / 10,
          request_id: c.get("requestId"),
          ...(keyHash && { key: keyHash.slice(0, KEY_HASH_PREFIX) }),
        },
        "request",
      );
    };
    onFinished(c, write);
  };
}
