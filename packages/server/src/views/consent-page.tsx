import type { AuthRequest } from "../domain/auth-request.js";
import { SHOWN_AT_FIELD } from "../web/consent-stamp.js";
import { CONSENT_SCRIPT } from "./consent-script.js";
import { inWords } from "./expiry.js";
import { CsrfField, FieldError, FormError, Layout } from "./layout.js";

interface ConsentProps {
  request: AuthRequest;
  /** The request's own parameters, carried through the form unchanged. */
  hiddenParams: Record<string, string>;
  csrfToken: string;
  email: string;
  /** The signed time the server showed this form (see `consentStamp`). */
  shownAt: string;
  /** How long Authorize stays disabled once the page is visible. */
  delayMs: number;
  /** Now, for the expiry in words. */
  now: Date;
  /** Why the page is shown again, after an approval that came too soon. */
  notice?: string;
  /** The label field's value when it differs from the request's (too long, to be shortened). */
  labelValue?: string;
  labelError?: string;
  /** Where "Switch account" comes back to after signing in: this same request. */
  switchAccountNext: string;
}

const RESETS = { daily: "every day", weekly: "every week", monthly: "every month" } as const;

/** The expiry in UTC as the page says it without script. */
function utcText(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Who is asking: the app's own name beside its origin (a name alone could pass for another). */
function Requester(props: { request: AuthRequest }) {
  const callback = props.request.callback;
  if (!callback) return null;
  return props.request.appName ? (
    <span class="app">
      {props.request.appName} <span class="muted">({callback.displayName})</span>
    </span>
  ) : (
    <span class="app">{callback.displayName}</span>
  );
}

/**
 * Asks the signed-in user whether the app may have a key, and on which terms: who asks (its
 * name, if it gave one, always beside its origin), the full callback the code goes to, the
 * limit in credits and how it resets, and the expiry in words and local time. Authorize waits
 * `delayMs` of visibility (DESIGN invariant 5).
 */
export function ConsentPage(props: ConsentProps) {
  const { request } = props;
  const callback = request.callback;
  const fixed = Object.entries(props.hiddenParams).filter(
    ([name]) => name !== "key_label" && name !== "limit",
  );
  const limitHint = request.usageLimitType
    ? `Credits; the limit resets ${RESETS[request.usageLimitType]} (UTC). Empty: no limit.`
    : "Credits the key may spend in all. Empty: no limit.";
  return (
    <Layout title="Authorize app">
      <h1>Authorize access</h1>
      {callback ? (
        <p>
          <Requester request={request} />
          <br />
          wants an API key for your account <strong>{props.email}</strong>.
        </p>
      ) : (
        <p>
          A device or terminal wants an API key for your account <strong>{props.email}</strong>. You
          will be shown a code to paste into it.
        </p>
      )}
      <form method="post" action={`/signout?next=${encodeURIComponent(props.switchAccountNext)}`}>
        <CsrfField token={props.csrfToken} />
        <p class="muted">
          Not you?{" "}
          <button type="submit" class="link">
            Switch account
          </button>
        </p>
      </form>
      {callback?.kind === "loopback" ? (
        <p class="warning" role="note">
          This app runs on your own computer ({callback.url.href}). Only continue if you just
          started it yourself.
        </p>
      ) : null}
      {callback?.kind === "custom-scheme" ? (
        <p class="warning" role="note">
          This is an installed app ({callback.url.href}). Any app on your device can claim that
          name: only continue if you just started it yourself.
        </p>
      ) : null}
      <FormError message={props.notice} />
      <form method="post" action="/auth">
        <CsrfField token={props.csrfToken} />
        <input type="hidden" name={SHOWN_AT_FIELD} value={props.shownAt} />
        {fixed.map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <dl>
          {callback ? (
            <>
              <dt>Sends you back to</dt>
              <dd>
                <code data-testid="callback">{callback.url.href}</code>
              </dd>
            </>
          ) : null}
          <dt>Expires</dt>
          <dd>
            {request.expiresAt ? (
              <>
                {inWords(request.expiresAt, props.now)},{" "}
                <time datetime={request.expiresAt.toISOString()} data-local>
                  {utcText(request.expiresAt)}
                </time>
              </>
            ) : (
              "Never (until you revoke it)"
            )}
          </dd>
        </dl>
        <label for="key_label">Key label</label>
        <input
          id="key_label"
          name="key_label"
          type="text"
          required
          value={props.labelValue ?? request.keyLabel}
          aria-invalid={props.labelError ? "true" : undefined}
          aria-describedby={props.labelError ? "key_label-error" : undefined}
        />
        <FieldError id="key_label-error" message={props.labelError} />
        <label for="limit">Credit limit</label>
        <input
          id="limit"
          name="limit"
          type="number"
          min="0"
          step="any"
          placeholder="No limit"
          aria-describedby="limit-hint"
          value={request.limit === undefined ? "" : String(request.limit)}
        />
        <small id="limit-hint">{limitHint}</small>
        <div class="actions">
          {/* Shown and enabled by CONSENT_SCRIPT; without script, the one in <noscript>. */}
          <button
            type="submit"
            name="decision"
            value="approve"
            id="approve"
            data-delay={String(props.delayMs)}
            hidden
            disabled
          >
            Authorize
          </button>
          <noscript>
            <button type="submit" name="decision" value="approve">
              Authorize
            </button>
          </noscript>
          <button type="submit" name="decision" value="deny" class="secondary" formnovalidate>
            Deny
          </button>
        </div>
      </form>
      <script dangerouslySetInnerHTML={{ __html: CONSENT_SCRIPT }} />
    </Layout>
  );
}

/** Headless mode: the code the user pastes into the terminal that asked. */
export function HeadlessCodePage(props: { code: string; keyLabel: string }) {
  return (
    <Layout title="Your code">
      <h1>Paste this code into your terminal</h1>
      <p>
        It creates the key <strong>{props.keyLabel}</strong>. It works once, within 10 minutes.
      </p>
      <p class="code" id="code" data-testid="code">
        {props.code}
      </p>
      <p class="muted">Do not share it with anyone: it is as good as a key until it is used.</p>
    </Layout>
  );
}

/** Headless mode, denied: nothing was created. */
export function HeadlessDeniedPage() {
  return (
    <Layout title="Access denied">
      <h1>You denied access</h1>
      <p>No key was created. You can close this page; the terminal that asked gets nothing.</p>
    </Layout>
  );
}
