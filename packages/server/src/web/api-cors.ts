import type { MiddlewareHandler } from "hono";

/** What the API's CORS answers allow. */
export interface ApiCorsOptions {
  /** Request headers a browser may send (`Access-Control-Allow-Headers`). */
  readonly allowHeaders: readonly string[];
  /** Response headers a page may read (`Access-Control-Expose-Headers`). */
  readonly exposeHeaders: readonly string[];
  /** How long a browser may keep a preflight's answer. */
  readonly maxAgeSeconds: number;
}

/** The methods a preflight allows: what Hono's `cors()` allows by default. */
const ALLOW_METHODS = "GET,HEAD,PUT,POST,DELETE,PATCH,QUERY";

/**
 * CORS for the API, open to every origin (it is called with keys, never with cookies): the
 * headers Hono's `cors({ origin: "*" })` gives, and the same `204` to a preflight. Set with
 * `c.header()` before the handler rather than on `c.res.headers`, as Hono's does: touching
 * `c.res` before the handler makes Hono rebuild every answer around a web `ReadableStream`, which
 * `@hono/node-server` then reads chunk by chunk instead of writing the string at once.
 * @example
 * app.use("/api/*", apiCors({ allowHeaders: ["Authorization"], exposeHeaders: [], maxAgeSeconds: 600 }));
 */
export function apiCors(options: ApiCorsOptions): MiddlewareHandler {
  const allowHeaders = options.allowHeaders.join(",");
  const exposeHeaders = options.exposeHeaders.join(",");
  const maxAge = String(options.maxAgeSeconds);
  return async function apiCors(c, next) {
    c.header("Access-Control-Allow-Origin", "*");
    if (exposeHeaders) c.header("Access-Control-Expose-Headers", exposeHeaders);
    if (c.req.method === "OPTIONS") {
      return c.body(null, 204, {
        "Access-Control-Max-Age": maxAge,
        "Access-Control-Allow-Methods": ALLOW_METHODS,
        "Access-Control-Allow-Headers": allowHeaders,
        Vary: "Access-Control-Request-Headers",
      });
    }
    await next();
  };
}
