import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { randomToken, sha256Hex } from "../domain/secrets.js";
import type { AppDeps, AppEnv } from "./context.js";

const SESSION_DAYS = 30;

/** `__Host-` binds the cookie to this exact origin, but browsers accept it over https only. */
function sessionCookieName(publicUrl: string): string {
  return publicUrl.startsWith("https:") ? "__Host-keyport_session" : "keyport_session";
}

/**
 * Resolves the session cookie to a user. A visitor without a cookie gets an anonymous one, which
 * the CSRF token of the sign-in form is bound to; signing in replaces it (session fixation).
 */
export function browserSession(deps: AppDeps): MiddlewareHandler<AppEnv> {
  const name = sessionCookieName(deps.config.publicUrl);
  return async function browserSession(c, next) {
    const cookieValue = getCookie(c, name);
    if (cookieValue && cookieValue.length <= 64) {
      const session = await deps.store.findSession(sha256Hex(cookieValue), deps.clock());
      const found = session && (await deps.store.findUserById(session.userId));
      // A disabled account's sessions are deleted as it is disabled; this covers any other.
      const user = found && !found.disabledAt ? found : undefined;
      c.set("session", { cookieValue, user });
    } else {
      const fresh = randomToken();
      writeCookie(c, name, fresh);
      c.set("session", { cookieValue: fresh });
    }
    await next();
  };
}

/** Signs a user in on a brand-new session id (the old cookie value is never reused). */
export async function startSession(c: Context<AppEnv>, deps: AppDeps, userId: string) {
  await deps.store.deleteSession(sha256Hex(c.get("session").cookieValue));
  const id = randomToken();
  const now = deps.clock();
  await deps.store.createSession({
    idHash: sha256Hex(id),
    userId,
    createdAt: now,
    expiresAt: new Date(now.getTime() + SESSION_DAYS * 86_400_000),
  });
  writeCookie(c, sessionCookieName(deps.config.publicUrl), id);
}

/** Forgets the session server-side and leaves the browser an anonymous one. */
export async function endSession(c: Context<AppEnv>, deps: AppDeps) {
  await deps.store.deleteSession(sha256Hex(c.get("session").cookieValue));
  const fresh = randomToken();
  writeCookie(c, sessionCookieName(deps.config.publicUrl), fresh);
  c.set("session", { cookieValue: fresh });
}

function writeCookie(c: Context, name: string, value: string) {
  setCookie(c, name, value, {
    path: "/",
    httpOnly: true,
    secure: true,
    sameSite: "Lax",
    maxAge: SESSION_DAYS * 86_400,
  });
}
