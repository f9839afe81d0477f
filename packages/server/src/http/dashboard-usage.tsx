import { Hono } from "hono";
import { usageOverview } from "../services/usage-overview.js";
import { UsagePage } from "../views/usage-page.js";
import type { AppDeps, AppEnv } from "../web/context.js";
import { csrfToken } from "../web/csrf.js";
import { withUser } from "../web/require-user.js";

/** `/usage`: the account's spend per UTC day over 30 days, by key and by model. */
export function dashboardUsageRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.get(
    "/usage",
    withUser(async (c, user) => {
      c.header("Cache-Control", "no-store");
      const usage = await usageOverview(deps, user.id);
      return c.html(<UsagePage email={user.email} csrfToken={csrfToken(c, deps)} usage={usage} />);
    }),
  );
  return app;
}
