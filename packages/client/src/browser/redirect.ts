import { type AuthorizationParams, authorizationUrl } from "../authorize.js";
import { normalizeBaseUrl } from "../base-url.js";
import { type CallbackParams, checkCallback } from "../check-callback.js";
import { InvalidCodeError } from "../errors.js";
import { type ExchangeResult, exchangeCode } from "../exchange.js";
import { isObject } from "../http.js";
import type { CodeChallengeMethod } from "../pkce.js";
import { createPkcePair } from "../pkce.js";
import { randomToken } from "../platform.js";
import { pageAddress, readCallback } from "./callback.js";
import { type BrowserEnvironment, resolveEnvironment } from "./environment.js";

const STORAGE_KEY = "keyport:sign-in";

/** The sign-in in progress in this tab, as stored between the redirect and the callback. */
interface PendingSignIn {
  /** code_verifier */
  v: string;
  /** code_challenge_method */
  m: CodeChallengeMethod;
  /** state */
  s: string;
  /** baseUrl */
  b: string;
  /** callbackUrl */
  c: string;
  /** The callback being exchanged: marks the code as submitted, so it is never sent twice. */
  x?: string;
}

type Storage = ReturnType<typeof resolveEnvironment>["storage"];

function readPending(storage: Storage): PendingSignIn | undefined {
  try {
    const value: unknown = JSON.parse(storage.getItem(STORAGE_KEY) ?? "null");
    return isObject(value) && typeof value.v === "string"
      ? (value as unknown as PendingSignIn)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Options of {@link startSignIn}. */
export interface StartSignInOptions
  extends Omit<AuthorizationParams, "state">,
    BrowserEnvironment {}

/**
 * Starts the redirect flow: creates a PKCE pair and a `state` nonce, keeps them in
 * `sessionStorage`, and sends the browser to the consent page. The user comes back to
 * `callbackUrl` (default: this page without query and fragment), where
 * {@link completeSignIn} finishes.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3
 * @example
 * ```ts
 * button.onclick = () => startSignIn({ keyLabel: "My app", callbackUrl: "/callback" });
 * ```
 */
export async function startSignIn(options: StartSignInOptions = {}): Promise<void> {
  const { storage, location } = resolveEnvironment(options);
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  const callbackUrl = new URL(options.callbackUrl ?? pageAddress(location.href), location.href)
    .href;
  const pkce = await createPkcePair();
  const state = randomToken();
  const url = authorizationUrl({ ...options, ...pkce, baseUrl, callbackUrl, state });
  const pending: PendingSignIn = {
    v: pkce.codeVerifier,
    m: pkce.codeChallengeMethod,
    s: state,
    b: baseUrl,
    c: callbackUrl,
  };
  storage.setItem(STORAGE_KEY, JSON.stringify(pending));
  location.assign(url);
}

/** Options of {@link completeSignIn}. */
export interface CompleteSignInOptions extends BrowserEnvironment {
  /** Aborts the code exchange. */
  signal?: AbortSignal;
}

/** The callback being completed in this page, so a second call shares its result. */
let current: { id: string; href: string; result: Promise<ExchangeResult> } | undefined;

function settleOnce(
  id: string,
  callback: CallbackParams,
  pending: PendingSignIn | undefined,
  storage: Storage,
  options: CompleteSignInOptions,
): Promise<ExchangeResult> {
  try {
    checkCallback(callback, pending?.s);
    const { v, m, b } = pending as PendingSignIn;
    // The mark outlives this module (a reload, a second bundle): without it the code could be
    // sent twice, and a replayed code revokes the key it minted.
    if (pending?.x === id) throw new InvalidCodeError("This code was already submitted");
    storage.setItem(STORAGE_KEY, JSON.stringify({ ...pending, x: id }));
    return exchangeCode({
      baseUrl: b,
      code: callback.code,
      codeVerifier: v,
      codeChallengeMethod: m,
      fetch: options.fetch,
      signal: options.signal,
    });
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Finishes the redirect flow on the callback page: checks `state`, removes `code`, `state` and
 * `error` from the address bar, exchanges the code for a key and forgets the verifier.
 *
 * Resolves `null` when the page is not a callback. Calling it again while the first call is
 * pending (React StrictMode runs effects twice) returns the same promise: the code is sent
 * once. After it settles, later calls resolve `null`.
 *
 * Rejects with {@link AccessDeniedError} when the user declined, {@link StateMismatchError}
 * when the callback does not belong to this tab's sign-in, or any error of
 * {@link exchangeCode}.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 * @example
 * ```ts
 * useEffect(() => {
 *   completeSignIn().then((result) => result && setKey(result.key), setError);
 * }, []);
 * ```
 */
export function completeSignIn(
  options: CompleteSignInOptions = {},
): Promise<ExchangeResult | null> {
  const { storage, location, history } = resolveEnvironment(options);
  const callback = readCallback(location.search);
  const pending = readPending(storage);
  if (!callback || (pending && pageAddress(pending.c) !== pageAddress(location.href))) {
    // StrictMode's second call lands here once the first has cleaned the address bar.
    return current?.href === location.href ? current.result : Promise.resolve(null);
  }
  const id = location.search;
  if (current?.id === id) return current.result;

  const params = new URLSearchParams(location.search);
  for (const name of ["code", "state", "error", "error_description"]) params.delete(name);
  const query = params.toString();
  const href = location.pathname + (query ? `?${query}` : "") + location.hash;
  history.replaceState(history.state, "", href);

  const result = settleOnce(id, callback, pending, storage, options);
  const entry = { id, href: location.href, result };
  current = entry;
  const forget = () => {
    storage.removeItem(STORAGE_KEY);
    if (current === entry) current = undefined;
  };
  result.then(forget, forget);
  return result;
}
