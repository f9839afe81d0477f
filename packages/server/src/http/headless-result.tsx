import type { Context } from "hono";
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { CODE_LIFETIME_MS } from "../domain/constants.js";
import { constantTimeEqual, hmac } from "../domain/secrets.js";
import { HeadlessCodePage, HeadlessDeniedPage } from "../views/consent-page.js";
import type { AppDeps, AppEnv } from "../web/context.js";
import { KeyportError } from "../web/errors.js";

const COOKIE = "keyport_headless_code";
const PATH = "/auth/code";
/** The cookie showing a code lasts as long as the code itself. */
const LIFETIME_S = CODE_LIFETIME_MS / 1000;

interface ShownCode {
  readonly code: string;
  readonly keyLabel: string;
}

/**
 * Headless mode answers the consent POST with a `303` like every form (a reload must not mint a
 * second code): the code travels to the `GET` page in a short-lived cookie sealed with the
 * server secret, bound to that one path, never in a URL or the browser's history.
 */
export function redirectToCode(c: Context<AppEnv>, deps: AppDeps, shown: ShownCode): Response {
  const payload = Buffer.from(JSON.stringify(shown)).toString("base64url");
  setCookie(c, COOKIE, `${payload}.${seal(deps, payload)}`, {
    path: PATH,
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    maxAge: LIFETIME_S,
  });
  return c.redirect(PATH, 303);
}

/** `GET /auth/code` (the code to paste) and `GET /auth/denied` (headless deny). */
export function headlessResultRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.get(PATH, (c) => {
    const shown = unseal(deps, getCookie(c, COOKIE));
    if (!shown) {
      throw new KeyportError(404, "There is no code to show here. Start again from your terminal.");
    }
    c.header("Cache-Control", "no-store");
    return c.html(<HeadlessCodePage code={shown.code} keyLabel={shown.keyLabel} />);
  });
  app.get("/auth/denied", (c) => {
    deleteCookie(c, COOKIE, { path: PATH, secure: true });
    return c.html(<HeadlessDeniedPage />);
  });
  return app;
}

function seal(deps: AppDeps, payload: string): string {
  return hmac(deps.secret, `headless-code:${payload}`);
}

function unseal(deps: AppDeps, value: string | undefined): ShownCode | undefined {
  const [payload, signature] = value?.split(".") ?? [];
  if (!payload || !signature || !constantTimeEqual(signature, seal(deps, payload)))
    return undefined;
  const shown = JSON.parse(Buffer.from(payload, "base64url").toString()) as ShownCode;
  return typeof shown.code === "string" && typeof shown.keyLabel === "string" ? shown : undefined;
}
