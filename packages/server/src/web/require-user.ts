import type { Context } from "hono";
import type { User } from "../store/store.js";
import type { AppEnv } from "./context.js";

/** Thrown to send a signed-out visitor to sign in and back; answered by {@link withUser}. */
class SignInFirst extends Error {}

/**
 * The signed-in user of a dashboard request; a signed-out visitor is sent to sign in, then back
 * to the page (`GET`) or to the dashboard's start (a form POST's page would be gone).
 */
function signedInUser(c: Context<AppEnv>): User {
  const user = c.get("session").user;
  if (!user) throw new SignInFirst();
  return user;
}

/**
 * Runs a dashboard handler; a signed-out visitor gets a `303` to `/signin` with `next` set.
 * @example
 * app.get("/keys", withUser(async (c, user) => c.html(<KeysPage … />)));
 */
export function withUser(
  handler: (c: Context<AppEnv>, user: User) => Response | Promise<Response>,
) {
  return async (c: Context<AppEnv>) => {
    try {
      return await handler(c, signedInUser(c));
    } catch (error) {
      if (!(error instanceof SignInFirst)) throw error;
      c.header("Cache-Control", "no-store");
      const back = c.req.method === "GET" ? c.req.path : "/keys";
      return c.redirect(`/signin?next=${encodeURIComponent(back)}`, 303);
    }
  };
}
