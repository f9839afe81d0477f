import type { Context } from "hono";
import { constantTimeEqual, hmac } from "../domain/secrets.js";
import type { AppDeps, AppEnv } from "./context.js";
import { type FormFields, single } from "./form.js";

/** The hidden field of the consent form that says when the server showed it. */
export const SHOWN_AT_FIELD = "shown_at";

/**
 * The consent form's signed issued-at: `<ms since epoch>.<HMAC>`, the HMAC over the time and the
 * session cookie (like the CSRF token), so nothing is stored and no client can move it back.
 */
export function consentStamp(c: Context<AppEnv>, deps: AppDeps): string {
  const at = String(deps.clock().getTime());
  return `${at}.${sign(c, deps, at)}`;
}

/**
 * Whether the form carries a stamp this server signed for this session at least
 * `config.consentDelayMs` ago (DESIGN invariant 5): the server's half of the double-click
 * defence, which holds whatever the page's script did or did not do.
 * @example
 * if (!shownLongEnough(c, deps, form)) return showConsentAgain();
 */
export function shownLongEnough(c: Context<AppEnv>, deps: AppDeps, form: FormFields): boolean {
  const [at, mac, extra] = (single(form, SHOWN_AT_FIELD) ?? "").split(".");
  if (!at || !mac || extra !== undefined || !/^\d{1,15}$/.test(at)) return false;
  if (!constantTimeEqual(mac, sign(c, deps, at))) return false;
  return deps.clock().getTime() - Number(at) >= deps.config.consentDelayMs;
}

function sign(c: Context<AppEnv>, deps: AppDeps, at: string): string {
  return hmac(deps.secret, `consent-shown:${c.get("session").cookieValue}:${at}`);
}
