import type { Context } from "hono";
import { constantTimeEqual, hmac } from "../domain/secrets.js";
import type { AppDeps, AppEnv } from "./context.js";
import { KeyportError } from "./errors.js";
import { type FormFields, single } from "./form.js";

/** The hidden form field every POST form carries. */
export const CSRF_FIELD = "csrf_token";

/** The token for the current session's forms: an HMAC of the session cookie, so nothing is stored. */
export function csrfToken(c: Context<AppEnv>, deps: AppDeps): string {
  return hmac(deps.secret, `csrf:${c.get("session").cookieValue}`);
}

/** Refuses a form POST whose token does not belong to the session that sent it. */
export function assertCsrf(c: Context<AppEnv>, deps: AppDeps, form: FormFields): void {
  const sent = single(form, CSRF_FIELD);
  if (typeof sent !== "string" || !constantTimeEqual(sent, csrfToken(c, deps))) {
    throw new KeyportError(
      403,
      "This form has expired or did not come from this site. Go back, reload the page and try again.",
    );
  }
}
