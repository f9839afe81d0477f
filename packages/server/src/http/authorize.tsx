import type { Context } from "hono";
import { Hono } from "hono";
import { type AuthRequest, authRequestParams, parseAuthRequest } from "../domain/auth-request.js";
import { withQuery } from "../domain/callback-policy.js";
import { MAX_KEY_LABEL } from "../domain/constants.js";
import { issueCode, issueHeadlessCode } from "../services/issue-code.js";
import { ConsentPage } from "../views/consent-page.js";
import { consentStamp, shownLongEnough } from "../web/consent-stamp.js";
import type { AppDeps, AppEnv } from "../web/context.js";
import { assertCsrf, csrfToken } from "../web/csrf.js";
import { KeyportError } from "../web/errors.js";
import { type FormFields, readForm, single } from "../web/form.js";
import { redirectToCode } from "./headless-result.js";

/** `GET /auth` (consent page) and `POST /auth` (the user's decision). */
export function authorizeRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  // Every error of /auth comes before a code exists (an approval's code is issued last).
  app.use("/auth", async function nothingSharedYet(c, next) {
    c.set("nothingShared", true);
    await next();
  });

  app.get("/auth", (c) => {
    const checked = checkRequest(deps, (name) => c.req.queries(name));
    const user = c.get("session").user;
    if (!user) {
      const back = `/auth${new URL(c.req.url).search}`;
      return c.redirect(`/signin?next=${encodeURIComponent(back)}`, 303);
    }
    return showConsent(c, deps, checked, user.email);
  });

  app.post("/auth", async (c) => {
    const form = await readForm(c);
    assertCsrf(c, deps, form);
    const checked = checkRequest(deps, (name) => form[name]);
    const { request } = checked;
    const user = c.get("session").user;
    if (!user) {
      const back = `/auth?${new URLSearchParams(authRequestParams(request))}`;
      return c.redirect(`/signin?next=${encodeURIComponent(back)}`, 303);
    }
    const decision = decisionOf(form);
    if (decision === "deny") {
      if (!request.callback) return c.redirect("/auth/denied", 303);
      return c.redirect(
        withQuery(request.callback.url, { error: "access_denied", state: request.state }),
        303,
      );
    }
    if (checked.longLabel) return showConsent(c, deps, checked, user.email, LABEL_TOO_LONG);
    if (!shownLongEnough(c, deps, form)) {
      return showConsent(c, deps, checked, user.email, TOO_SOON);
    }
    if (!request.callback) {
      const userCode = await issueHeadlessCode(deps, user.id, request);
      return redirectToCode(c, deps, { code: userCode, keyLabel: request.keyLabel });
    }
    const { code } = await issueCode(deps, user.id, request);
    return c.redirect(withQuery(request.callback.url, { code, state: request.state }), 303);
  });

  return app;
}

const LABEL_TOO_LONG = "Nothing was approved: shorten the key label, then press Authorize again.";

const TOO_SOON =
  "Authorize was pressed too soon after this page appeared, so nothing was approved. " +
  "Check what you are approving, then press Authorize again.";

/**
 * The consent form, stamped with the time it was shown. After an approval that came too soon
 * (or carried no valid stamp) the same form comes back with a `notice` and a `400`.
 */
function showConsent(
  c: Context<AppEnv>,
  deps: AppDeps,
  checked: CheckedRequest,
  email: string,
  notice?: string,
) {
  const { request, longLabel } = checked;
  allowRedirectTo(c, request);
  const params = authRequestParams(request);
  return c.html(
    <ConsentPage
      request={request}
      hiddenParams={params}
      csrfToken={csrfToken(c, deps)}
      email={email}
      shownAt={consentStamp(c, deps)}
      delayMs={deps.config.consentDelayMs}
      now={deps.clock()}
      notice={notice}
      labelValue={longLabel}
      labelError={
        longLabel
          ? `A key label can be at most ${MAX_KEY_LABEL} characters; this one has ${longLabel.length}. Shorten it.`
          : undefined
      }
      switchAccountNext={`/auth?${new URLSearchParams({ ...params, ...(longLabel ? { key_label: longLabel } : {}) })}`}
    />,
    notice ? 400 : 200,
  );
}

/** A request, and the label the user must shorten when the one given is too long. */
interface CheckedRequest {
  readonly request: AuthRequest;
  /** The whole label as given, when it is over {@link MAX_KEY_LABEL}: a field error. */
  readonly longLabel?: string;
}

/**
 * Validates the request; a bad one (above all a bad callback) gets an error page, never a
 * redirect. A label that is merely too long is the user's to fix on the form, so it comes back
 * as `longLabel` (the request carries it cut to size) rather than as an error page.
 */
function checkRequest(deps: AppDeps, get: (name: string) => string[] | undefined): CheckedRequest {
  const given = get("key_label");
  const label = given?.length === 1 ? given[0]?.trim() : undefined;
  const longLabel = label !== undefined && label.length > MAX_KEY_LABEL ? label : undefined;
  const read = longLabel
    ? (name: string) => (name === "key_label" ? [longLabel.slice(0, MAX_KEY_LABEL)] : get(name))
    : get;
  const parsed = parseAuthRequest(read, deps.clock(), deps.config);
  if ("message" in parsed) throw new KeyportError(400, parsed.message);
  return { request: parsed, longLabel };
}

function decisionOf(form: FormFields): "approve" | "deny" {
  const decision = single(form, "decision");
  if (decision === "approve" || decision === "deny") return decision;
  throw new KeyportError(400, "Choose Authorize or Deny.");
}

/**
 * Chromium applies the consent page's CSP `form-action` to the redirect that follows the form,
 * so the page allows exactly the callback it will redirect to.
 */
function allowRedirectTo(c: Context<AppEnv>, request: AuthRequest): void {
  const callback = request.callback;
  if (!callback) return;
  if (callback.kind === "custom-scheme") c.set("formActions", [callback.url.protocol]);
  else if (callback.url.hostname === "[::1]") c.set("formActions", ["http:"]);
  else c.set("formActions", [callback.url.origin]);
}
