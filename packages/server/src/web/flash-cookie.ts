import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { constantTimeEqual, hmac } from "../domain/secrets.js";
import type { AppDeps, AppEnv } from "./context.js";

/**
 * A value carried from a form's `303` to the one page that shows it (a new key, shown once):
 * a short-lived cookie signed with the server secret and bound to the session, to that one
 * path, never in a URL or the browser's history. Taking it deletes it.
 */
export class FlashCookie<T> {
  constructor(
    private readonly name: string,
    private readonly path: string,
    private readonly maxAgeSeconds: number,
    private readonly isValue: (value: unknown) => value is T,
  ) {}

  /** Sets the cookie and answers the `303` to its page. */
  redirect(c: Context<AppEnv>, deps: AppDeps, value: T): Response {
    const payload = Buffer.from(JSON.stringify(value)).toString("base64url");
    setCookie(c, this.name, `${payload}.${this.sign(c, deps, payload)}`, {
      path: this.path,
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
      maxAge: this.maxAgeSeconds,
    });
    return c.redirect(this.path, 303);
  }

  /** The value, once: the cookie is deleted; `undefined` when absent, forged or another session's. */
  take(c: Context<AppEnv>, deps: AppDeps): T | undefined {
    const [payload, signature, extra] = getCookie(c, this.name)?.split(".") ?? [];
    deleteCookie(c, this.name, { path: this.path, secure: true });
    if (!payload || !signature || extra !== undefined) return undefined;
    if (!constantTimeEqual(signature, this.sign(c, deps, payload))) return undefined;
    const value: unknown = JSON.parse(Buffer.from(payload, "base64url").toString());
    return this.isValue(value) ? value : undefined;
  }

  private sign(c: Context<AppEnv>, deps: AppDeps, payload: string): string {
    return hmac(deps.secret, `flash:${this.name}:${c.get("session").cookieValue}:${payload}`);
  }
}
