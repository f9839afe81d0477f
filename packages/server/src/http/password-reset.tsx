import type { Context } from "hono";
import { Hono } from "hono";
import { normalizeEmail } from "../services/accounts.js";
import { smtpMailer } from "../services/mailer.js";
import {
  DEAD_LINK,
  resetLinkIsLive,
  resetPassword,
  sendResetLink,
} from "../services/password-reset.js";
import { ForgotPasswordPage, ResetPasswordPage } from "../views/reset-pages.js";
import { clientAddress } from "../web/client-address.js";
import type { AppDeps, AppEnv } from "../web/context.js";
import { assertCsrf, csrfToken } from "../web/csrf.js";
import { KeyportError } from "../web/errors.js";
import { readForm, single } from "../web/form.js";
import { memoryRateLimits } from "../web/rate-limit.js";

/** A reset token as the link carries it: 32 random bytes, base64url. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Password reset by email: `/forgot` sends a single-use link valid 30 minutes to an address
 * with an account, and answers every address alike (no account enumeration; the mail leaves
 * after the answer, so timing tells nothing either); `/reset/:token` sets the new password.
 * Requests are rate-limited per client address and per email. Without SMTP, `/forgot` says
 * how an operator resets a password with the CLI.
 */
export function passwordResetRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const mailer = deps.config.smtp && smtpMailer(deps.config.smtp);
  const limits = deps.rateLimits ?? memoryRateLimits(deps.clock);
  const perMinute = deps.config.rateLimits.passwordReset;
  const byAddress = limits.limit("password-reset", perMinute, "password reset");
  const byEmail = limits.limit("password-reset", perMinute, "password reset");

  const forgotPage = (c: Context<AppEnv>, extra: { sent?: boolean; email?: string } = {}) =>
    c.html(
      <ForgotPasswordPage
        csrfToken={csrfToken(c, deps)}
        mailConfigured={mailer !== undefined}
        {...extra}
      />,
    );

  app.get("/forgot", (c) => forgotPage(c));

  app.post("/forgot", async (c) => {
    if (!mailer) return forgotPage(c);
    // Before the body is read, so a client over its limit cannot hold the connection.
    await byAddress.hit(clientAddress(c, deps.config.trustProxy));
    const form = await readForm(c);
    assertCsrf(c, deps, form);
    const email = normalizeEmail(single(form, "email") ?? "").slice(0, 254);
    if (email) {
      await byEmail.hit(`email:${email}`);
      const link = (token: string) => `${deps.config.publicUrl}/reset/${token}`;
      sendResetLink(deps, mailer, email, link).catch((error: unknown) => {
        console.error(`keyport: the password reset mail could not be sent: ${String(error)}`);
      });
    }
    return forgotPage(c, { sent: true, email });
  });

  app.get("/reset/:token", async (c) => {
    c.header("Cache-Control", "no-store");
    const token = tokenParam(c);
    const live = await resetLinkIsLive(deps, token);
    return c.html(
      <ResetPasswordPage
        csrfToken={csrfToken(c, deps)}
        token={token}
        dead={!live}
        error={live ? undefined : DEAD_LINK}
      />,
      live ? 200 : 410,
    );
  });

  app.post("/reset/:token", async (c) => {
    await byAddress.hit(clientAddress(c, deps.config.trustProxy));
    const token = tokenParam(c);
    const form = await readForm(c);
    assertCsrf(c, deps, form);
    const outcome = await resetPassword(deps, token, single(form, "password") ?? "");
    if (outcome.done) return c.redirect("/signin?reset=1", 303);
    return c.html(
      <ResetPasswordPage
        csrfToken={csrfToken(c, deps)}
        token={token}
        dead={outcome.linkDead}
        error={outcome.problem}
      />,
      outcome.linkDead ? 410 : 400,
    );
  });

  return app;
}

function tokenParam(c: Context): string {
  const token = c.req.param("token") ?? "";
  if (!TOKEN.test(token)) throw new KeyportError(404, DEAD_LINK);
  return token;
}
