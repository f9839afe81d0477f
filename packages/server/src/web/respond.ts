import type { Context } from "hono";

/**
 * Makes `response` (built with `c.json()` or `c.body()`, so it already carries the headers
 * middleware set before the handler, such as CORS) the context's response. Returned the ordinary
 * way, Hono would rebuild it around its body — a web `ReadableStream` even for a string — because
 * a middleware touched `c.res` before; installed here it reaches `@hono/node-server` as it is, and
 * is written without web streams. Hot API paths use it.
 */
export function respond(c: Context, response: Response): Response {
  c.res = undefined;
  c.res = response;
  return response;
}
