import { nopkce } from "./authorize.js";
import { normalizeBaseUrl } from "./base-url.js";
import {
  CodeExpiredError,
  InvalidCodeChallengeMethodError,
  InvalidCodeError,
  invalidArgument,
  ProtocolError,
} from "./errors.js";
import { type ErrorMapper, isObject, type RequestOptions, requestJson } from "./http.js";
import { assertMethod, assertPkceValue, type CodeChallengeMethod } from "./pkce.js";

/** Options of {@link exchangeCode}. */
export interface ExchangeCodeOptions extends RequestOptions {
  /** Default `https://openrouter.ai`. */
  baseUrl?: string;
  /** The `code` query parameter of the callback, or the code the user pasted. */
  code: string;
  /** The verifier whose challenge went to `/auth`, or {@link nopkce} if none did. */
  codeVerifier: string | typeof nopkce;
  /** Must equal the method sent to `/auth`. Default `S256`. */
  codeChallengeMethod?: CodeChallengeMethod;
}

/** The API key minted for the user. */
export interface ExchangeResult {
  /** The API key, shown once: store it now. */
  key: string;
  /** The user's id; `undefined` where the server does not say (OpenRouter may not). */
  userId: string | undefined;
}

const mapExchangeError: ErrorMapper = (status, message, options) => {
  if (status === 400 && /code_challenge_method/i.test(message)) {
    return new InvalidCodeChallengeMethodError(message, options);
  }
  if (status === 403) {
    return /expired/i.test(message)
      ? new CodeExpiredError(message, options)
      : new InvalidCodeError(message, options);
  }
  return undefined;
};

/**
 * Exchanges an authorization code (and its PKCE verifier) for an API key:
 * `POST /api/v1/auth/keys`. Codes are single-use: call it once per code.
 *
 * Rejects with {@link InvalidCodeChallengeMethodError} (400), {@link InvalidCodeError} (403),
 * {@link CodeExpiredError} (403), {@link MethodNotAllowedError} (405),
 * {@link RateLimitedError} (429), {@link ServerError} (other statuses), {@link NetworkError}
 * (`fetch` threw), {@link ProtocolError} (unusable `2xx` body), or `signal.reason` on abort.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.5
 * @see https://openrouter.ai/docs/use-cases/oauth-pkce
 * @example
 * ```ts
 * const code = new URLSearchParams(location.search).get("code");
 * const { key } = await exchangeCode({ code, codeVerifier: pkce.codeVerifier });
 * ```
 */
export async function exchangeCode(options: ExchangeCodeOptions): Promise<ExchangeResult> {
  const base = normalizeBaseUrl(options.baseUrl);
  const { code, codeVerifier } = options;
  if (typeof code !== "string" || !code) invalidArgument("code", "must be a non-empty string");
  let body: Record<string, string> = { code };
  if (codeVerifier !== nopkce) {
    assertPkceValue(codeVerifier, "codeVerifier");
    const method = assertMethod(options.codeChallengeMethod ?? "S256");
    body = { code, code_verifier: codeVerifier, code_challenge_method: method };
  }
  const data = await requestJson(
    `${base}/api/v1/auth/keys`,
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    },
    options,
    mapExchangeError,
  );
  const key = isObject(data) ? data.key : undefined;
  const userId = isObject(data) ? data.user_id : undefined;
  if (typeof key !== "string" || !key) {
    throw new ProtocolError('"key" is missing from the response', { cause: data });
  }
  if (userId != null && typeof userId !== "string") {
    // The response carries a live key: keep it out of an error that may well be logged.
    throw new ProtocolError('"user_id" must be a string', { cause: { user_id: userId } });
  }
  return { key, userId: userId ?? undefined };
}
