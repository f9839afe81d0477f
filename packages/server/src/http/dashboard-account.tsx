import type { Context } from "hono";
import { Hono } from "hono";
import { sha256Hex } from "../domain/secrets.js";
import { changePassword, deleteAccount } from "../services/account-settings.js";
import type { User } from "../store/store.js";
import { type AccountForm, AccountPage } from "../views/account-page.js";
import type { AppDeps, AppEnv } from "../web/context.js";
import { assertCsrf, csrfToken } from "../web/csrf.js";
import { readForm, single } from "../web/form.js";
import { memoryRateLimits } from "../web/rate-limit.js";
import { withUser } from "../web/require-user.js";
import { endSession } from "../web/session.js";

/**
 * `/account` (and `/settings`, its other name): change the password (the current one required),
 * sign out everywhere, delete the account (the password required; every key revoked).
 * Password checks count against the sign-in rate limit, per account.
 */
export function dashboardAccountRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const limits = deps.rateLimits ?? memoryRateLimits(deps.clock);
  const passwordChecks = limits.limit("sign-in", deps.config.rateLimits.signIn, "password");

  const page = (
    c: Context<AppEnv>,
    user: User,
    extra: { notice?: string; error?: { form: AccountForm; message: string } } = {},
  ) => {
    c.header("Cache-Control", "no-store");
    return <AccountPage email={user.email} csrfToken={csrfToken(c, deps)} {...extra} />;
  };

  app.get("/settings", (c) => c.redirect("/account", 301));
  app.get(
    "/account",
    withUser((c, user) => {
      const changed = c.req.query("done") === "password";
      return c.html(page(c, user, { notice: changed ? "Password changed." : undefined }));
    }),
  );

  app.post(
    "/account/password",
    withUser(async (c, user) => {
      await passwordChecks.hit(`account:${user.id}`);
      const form = await readForm(c);
      assertCsrf(c, deps, form);
      const keep = sha256Hex(c.get("session").cookieValue);
      const current = single(form, "current_password") ?? "";
      const next = single(form, "new_password") ?? "";
      const problem = await changePassword(deps, user, current, next, keep);
      if (problem)
        return c.html(page(c, user, { error: { form: "password", message: problem } }), 400);
      return c.redirect("/account?done=password", 303);
    }),
  );

  app.post(
    "/account/sessions/end",
    withUser(async (c, user) => {
      assertCsrf(c, deps, await readForm(c));
      await deps.store.endSessions(user.id);
      await endSession(c, deps);
      return c.redirect("/signin", 303);
    }),
  );

  app.post(
    "/account/delete",
    withUser(async (c, user) => {
      await passwordChecks.hit(`account:${user.id}`);
      const form = await readForm(c);
      assertCsrf(c, deps, form);
      const fail = (message: string) =>
        c.html(page(c, user, { error: { form: "delete", message } }), 400);
      if (single(form, "confirm") !== "yes") {
        return fail("Tick the box to confirm that the account and its keys go.");
      }
      const problem = await deleteAccount(deps, user, single(form, "password") ?? "");
      if (problem) return fail(problem);
      await endSession(c, deps);
      return c.redirect("/?deleted=1", 303);
    }),
  );

  return app;
}
