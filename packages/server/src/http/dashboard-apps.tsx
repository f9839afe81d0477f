import { Hono } from "hono";
import { connectedApps, keyOverview } from "../services/key-overview.js";
import { AppsPage, DisconnectAppPage } from "../views/apps-page.js";
import type { AppDeps, AppEnv } from "../web/context.js";
import { assertCsrf, csrfToken } from "../web/csrf.js";
import { KeyportError } from "../web/errors.js";
import { readForm, single } from "../web/form.js";
import { withUser } from "../web/require-user.js";

/**
 * `/apps`: the apps holding the user's keys (PKCE keys grouped by callback origin);
 * disconnecting one, after a confirmation page, revokes all of its keys in one statement.
 */
export function dashboardAppsRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const appsOf = async (userId: string) => connectedApps(await keyOverview(deps, userId));

  app.get(
    "/apps",
    withUser(async (c, user) => {
      c.header("Cache-Control", "no-store");
      const done = c.req.query("done") === "disconnected";
      return c.html(
        <AppsPage
          email={user.email}
          csrfToken={csrfToken(c, deps)}
          apps={await appsOf(user.id)}
          notice={done ? "App disconnected: its keys no longer work." : undefined}
        />,
      );
    }),
  );

  app.get(
    "/apps/disconnect",
    withUser(async (c, user) => {
      const origin = c.req.query("app");
      const found = (await appsOf(user.id)).find((candidate) => candidate.origin === origin);
      if (!found) throw notConnected();
      return c.html(
        <DisconnectAppPage email={user.email} csrfToken={csrfToken(c, deps)} app={found} />,
      );
    }),
  );

  app.post(
    "/apps/disconnect",
    withUser(async (c, user) => {
      const form = await readForm(c);
      assertCsrf(c, deps, form);
      const origin = single(form, "app") ?? "";
      if (!(await deps.store.revokeAppKeys(user.id, origin, deps.clock()))) throw notConnected();
      return c.redirect("/apps?done=disconnected", 303);
    }),
  );

  return app;
}

function notConnected(): KeyportError {
  return new KeyportError(404, "That app holds no key of yours. It may be disconnected already.");
}
