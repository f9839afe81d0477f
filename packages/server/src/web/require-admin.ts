import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context.js";
import { KeyportError } from "./errors.js";

/**
 * Lets only admins through. Everyone else gets the same `404` an unknown page gets, so the
 * admin pages' existence tells a signed-in stranger nothing; a signed-out visitor is sent to
 * sign in first (an admin then comes back here).
 * @example
 * app.use("/admin/*", requireAdmin());
 */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdmin(c, next) {
    const user = c.get("session").user;
    if (!user) {
      const back = `${c.req.path}${new URL(c.req.url).search}`;
      return c.redirect(`/signin?next=${encodeURIComponent(back)}`, 303);
    }
    if (!user.isAdmin) throw new KeyportError(404, "Not found");
    await next();
  };
}
