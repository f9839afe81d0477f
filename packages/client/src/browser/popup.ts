import { type AuthorizationParams, authorizationUrl } from "../authorize.js";
import { type CallbackParams, checkCallback } from "../check-callback.js";
import { KeyportError, TimeoutError } from "../errors.js";
import { type ExchangeResult, exchangeCode } from "../exchange.js";
import { isObject } from "../http.js";
import { createPkcePair } from "../pkce.js";
import type { FetchLike } from "../platform.js";
import { randomToken } from "../platform.js";
import { pageAddress, readCallback } from "./callback.js";

const MESSAGE_TYPE = "keyport:callback";

/**
 * The popup could not be opened: `window.open` returned `null` (a blocker, or a call outside a
 * user gesture). Fall back to {@link startSignIn}.
 *
 * @example
 * ```ts
 * signInWithPopup().catch((e) => e instanceof PopupBlockedError && startSignIn());
 * ```
 */
export class PopupBlockedError extends KeyportError {
  override name = "PopupBlockedError";
}

/**
 * The user closed the popup before finishing.
 *
 * @example
 * ```ts
 * signInWithPopup().catch((e) => e instanceof PopupClosedError || showError(e));
 * ```
 */
export class PopupClosedError extends KeyportError {
  override name = "PopupClosedError";
}

/** What the popup flow needs of the opener's `window`. */
export interface PopupHost {
  location: Pick<Location, "href" | "origin">;
  open(url: string, target: string, features: string): PopupWindow | null;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  removeEventListener(type: "message", listener: (event: MessageEvent) => void): void;
}

/** What the popup flow needs of the popup's `WindowProxy`. */
export interface PopupWindow {
  readonly closed: boolean;
  close(): void;
  location: { href: string };
}

/** Options of {@link signInWithPopup}. */
export interface PopupSignInOptions extends Omit<AuthorizationParams, "state"> {
  /** The opener. Default `window`. */
  window?: PopupHost;
  /** Default 300 000 (5 minutes). */
  timeoutMs?: number;
  /** Closes the popup and rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Third argument of `window.open`. Default `"popup,width=520,height=720"`. */
  features?: string;
  /** Replaces the platform `fetch` for the code exchange. */
  fetch?: FetchLike;
}

/**
 * Signs in through a popup, leaving the app's page in place. Call it from a click handler: the
 * popup opens synchronously, inside the user gesture, before any `await`. The callback page
 * (same origin, default this page) must call {@link completePopupCallback}.
 *
 * Rejects with {@link PopupBlockedError}, {@link PopupClosedError}, {@link TimeoutError},
 * {@link AccessDeniedError}, {@link StateMismatchError} or any error of {@link exchangeCode}.
 * An authorization server sending `Cross-Origin-Opener-Policy` severs the popup from its
 * opener; use {@link startSignIn} there.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636
 * @example
 * ```ts
 * button.onclick = async () => {
 *   const { key } = await signInWithPopup({ callbackUrl: "/popup-callback.html" });
 * };
 * ```
 */
export function signInWithPopup(options: PopupSignInOptions = {}): Promise<ExchangeResult> {
  const host = options.window ?? (window as PopupHost);
  const { timeoutMs = 300_000, signal } = options;
  const popup = signal?.aborted
    ? null
    : host.open("about:blank", "keyport", options.features ?? "popup,width=520,height=720");
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (!popup) return Promise.reject(new PopupBlockedError("The browser blocked the popup"));

  return new Promise((resolve, reject) => {
    const state = randomToken();
    let verifier: string | undefined;
    let answered = false;
    const finish = (error: unknown, result?: ExchangeResult) => {
      clearInterval(poll);
      clearTimeout(timer);
      host.removeEventListener("message", onMessage);
      signal?.removeEventListener("abort", onAbort);
      if (!popup.closed) popup.close();
      if (result) resolve(result);
      else reject(error);
    };
    const onAbort = () => finish(signal?.reason);
    const onMessage = (event: MessageEvent) => {
      const data: unknown = event.data;
      // Only our own popup, on our own origin, may hand us a code.
      if (answered || event.origin !== host.location.origin || event.source !== popup) return;
      if (!isObject(data) || data.type !== MESSAGE_TYPE) return;
      answered = true;
      const callback = data as unknown as CallbackParams;
      try {
        checkCallback(callback, state);
      } catch (error) {
        return finish(error);
      }
      exchangeCode({
        baseUrl: options.baseUrl,
        code: callback.code,
        codeVerifier: verifier as string,
        fetch: options.fetch,
        signal,
      }).then((result) => finish(undefined, result), finish);
    };
    // The callback page posts its code and closes itself at once. The message may still be
    // queued behind this timer (tasks of different sources have no set order), so a popup seen
    // closed gets one more tick before the user is taken to have closed it.
    let seenClosed = false;
    const poll = setInterval(() => {
      if (answered || !popup.closed) return;
      if (seenClosed) finish(new PopupClosedError("The popup was closed"));
      seenClosed = true;
    }, 500);
    const timer = setTimeout(() => finish(new TimeoutError("Sign-in timed out")), timeoutMs);
    host.addEventListener("message", onMessage);
    signal?.addEventListener("abort", onAbort);

    createPkcePair()
      .then((pkce) => {
        verifier = pkce.codeVerifier;
        const callbackUrl = options.callbackUrl ?? pageAddress(host.location.href);
        popup.location.href = authorizationUrl({
          ...options,
          ...pkce,
          callbackUrl: new URL(callbackUrl, host.location.href).href,
          state,
        });
      })
      .catch(finish);
  });
}

/** Options of {@link completePopupCallback}. */
export interface PopupCallbackOptions {
  /** The popup's own window. Default `window`. */
  window?: {
    location: Pick<Location, "search" | "origin">;
    opener: { postMessage(message: unknown, targetOrigin: string): void } | null;
    close(): void;
  };
}

/**
 * Runs on the popup's callback page: hands `code`, `state` and `error` to the opener (only if
 * the opener is on this same origin) and closes the popup. Returns `false`, doing nothing,
 * when the page is not a popup callback.
 *
 * @see https://html.spec.whatwg.org/multipage/web-messaging.html#dom-window-postmessage
 * @example
 * ```html
 * <!-- popup-callback.html -->
 * <script type="module">
 *   import { completePopupCallback } from "@keyport/client/browser";
 *   completePopupCallback();
 * </script>
 * ```
 */
export function completePopupCallback(options: PopupCallbackOptions = {}): boolean {
  const popup = options.window ?? window;
  const callback = readCallback(popup.location.search);
  if (!callback || !popup.opener) return false;
  popup.opener.postMessage({ type: MESSAGE_TYPE, ...callback }, popup.location.origin);
  popup.close();
  return true;
}
