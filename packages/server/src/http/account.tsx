import { Hono } from "hono";
import { verifyPassword } from "../domain/passwords.js";
import { accountProblem, createAccount, normalizeEmail } from "../services/accounts.js";
import { MAX_PASSWORD_LENGTH, passwordLength } from "../services/password-policy.js";
import { HomePage, SignInPage, SignUpPage } from "../views/account-pages.js";
import { clientAddress } from "../web/client-address.js";
import type { AppDeps, AppEnv } from "../web/context.js";
import { assertCsrf, csrfToken } from "../web/csrf.js";
import { KeyportError } from "../web/errors.js";
import { readForm, safeNext, single } from "../web/form.js";
import { memoryRateLimits } from "../web/rate-limit.js";
import { endSession, startSession } from "../web/session.js";

/** Sign-in, sign-up, sign-out and the landing page. */
export function accountRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const limits = deps.rateLimits ?? memoryRateLimits(deps.clock);
  const signInLimiter = limits.limit("sign-in", deps.config.rateLimits.signIn, "sign-in");
  const signUpLimiter = limits.limit("sign-up", deps.config.rateLimits.signUp, "sign-up");
  const signupOpen = deps.config.signup === "open";

  app.get("/", (c) =>
    c.html(
      <HomePage
        email={c.get("session").user?.email}
        isAdmin={c.get("session").user?.isAdmin}
        csrfToken={csrfToken(c, deps)}
      />,
    ),
  );

  app.get("/signin", (c) =>
    c.html(
      <SignInPage
        csrfToken={csrfToken(c, deps)}
        next={safeNext(c.req.query("next"))}
        signupOpen={signupOpen}
        signedUp={c.req.query("signed_up") === "1"}
      />,
    ),
  );

  app.post("/signin", async (c) => {
    // Before the body is read, so a client over its limit cannot hold the connection.
    await signInLimiter.hit(clientAddress(c, deps.config.trustProxy));
    const form = await readForm(c);
    assertCsrf(c, deps, form);
    const next = safeNext(c.req.query("next"));
    const email = normalizeEmail(single(form, "email") ?? "");
    const password = single(form, "password") ?? "";
    // Too long a password matches nothing, but still costs the decoy's verify (on a bounded
    // prefix), like an unknown email does: the answer's timing says nothing either way.
    const within = passwordLength(password) <= MAX_PASSWORD_LENGTH;
    const user = within ? await deps.store.findUserByEmail(email) : undefined;
    const checked = within ? password : password.slice(0, 2 * MAX_PASSWORD_LENGTH);
    const refuse = (error: string, status: 401 | 403) =>
      c.html(
        <SignInPage
          csrfToken={csrfToken(c, deps)}
          next={next}
          email={email}
          signupOpen={signupOpen}
          error={error}
        />,
        status,
      );
    if (!(await verifyPassword(user?.passwordHash, checked)) || !user) {
      return refuse("That email and password do not match an account.", 401);
    }
    if (user.disabledAt) {
      // Told only to whoever knows the password: the operator disabled this account.
      return refuse("This account is disabled. Ask the operator of this server to enable it.", 403);
    }
    await startSession(c, deps, user.id);
    return c.redirect(next, 303);
  });

  app.get("/signup", (c) => {
    if (!signupOpen)
      throw new KeyportError(
        403,
        "Sign-up is closed on this server. Ask its operator for an account.",
      );
    return c.html(
      <SignUpPage csrfToken={csrfToken(c, deps)} next={safeNext(c.req.query("next"))} signupOpen />,
    );
  });

  app.post("/signup", async (c) => {
    if (!signupOpen)
      throw new KeyportError(
        403,
        "Sign-up is closed on this server. Ask its operator for an account.",
      );
    // Before the body is read, so a client over its limit cannot hold the connection.
    await signUpLimiter.hit(clientAddress(c, deps.config.trustProxy));
    const form = await readForm(c);
    assertCsrf(c, deps, form);
    const next = safeNext(c.req.query("next"));
    const email = normalizeEmail(single(form, "email") ?? "");
    const password = single(form, "password") ?? "";
    const again = (error: string) =>
      c.html(
        <SignUpPage
          csrfToken={csrfToken(c, deps)}
          next={next}
          email={email}
          signupOpen
          error={error}
        />,
        400,
      );
    const problem = accountProblem(email, password);
    if (problem) return again(problem);
    // A taken email gets the answer a new one gets, after the same argon2id hash: sign-up never
    // signs in, it sends everyone to sign in (where a wrong password and an unknown email look
    // alike too). Signing in a new account at once would tell a taken email by the missing
    // session.
    await createAccount(deps, email, password, deps.config.firstUserAdmin ? "if-first" : "never");
    return c.redirect(`/signin?next=${encodeURIComponent(next)}&signed_up=1`, 303);
  });

  app.post("/signout", async (c) => {
    assertCsrf(c, deps, await readForm(c));
    await endSession(c, deps);
    // "Not you? Switch account": sign in as someone else, then back to the same page.
    const next = c.req.query("next");
    if (next === undefined) return c.redirect("/", 303);
    return c.redirect(`/signin?next=${encodeURIComponent(safeNext(next))}`, 303);
  });

  return app;
}
