import type { Context } from "hono";
import { matchedRoutes } from "hono/route";

/**
 * The pattern of the route that handles the request (`/api/v1/keys/:hash`), never the raw path:
 * ids and codes stay out of logs and metric labels, and the labels stay few. `unmatched` when
 * no route but middleware matched (a 404). A middleware that answered first (a rate limit, a
 * cross-site refusal) is labelled with the route it stood in front of.
 */
export function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i];
    // Middleware takes `(c, next)`; handlers take `c`.
    if (route && route.handler.length < 2) return route.path;
  }
  return "unmatched";
}
