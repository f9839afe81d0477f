/**
 * Two tiers, after oauth4webapi: misuse of this API throws a `TypeError` with
 * `code: "ERR_INVALID_ARG_VALUE"`; everything the server, the network or the user did throws a
 * {@link KeyportError} subclass a caller can tell apart with `instanceof`.
 */

/** A `TypeError` thrown when a caller passes an argument this API cannot use. */
export type InvalidArgumentError = TypeError & { code: "ERR_INVALID_ARG_VALUE" };

/** Throws the caller-misuse error, quoting the argument: `"codeVerifier" must be …`. */
export function invalidArgument(name: string, requirement: string): never {
  throw Object.assign(new TypeError(`"${name}" ${requirement}`), {
    code: "ERR_INVALID_ARG_VALUE",
  }) as InvalidArgumentError;
}

/** What a {@link KeyportError} carries besides its message. */
export interface KeyportErrorOptions {
  /** HTTP status of the answer that caused the error. */
  status?: number;
  /** The parsed response body, the thrown network error, or whatever else explains it. */
  cause?: unknown;
}

/**
 * Base class of every error that is not caller misuse. `message` is the server's own message
 * when there is one (`"Invalid code or code_verifier"`), `status` its HTTP status, `cause` the
 * parsed response body or the underlying error.
 *
 * @example
 * ```ts
 * try {
 *   await exchangeCode({ code, codeVerifier });
 * } catch (error) {
 *   if (error instanceof CodeExpiredError) return restartSignIn();
 *   if (error instanceof KeyportError) showError(error.message);
 *   throw error;
 * }
 * ```
 */
export class KeyportError extends Error {
  override name = "KeyportError";
  /** HTTP status of the server's answer; `undefined` when no answer caused the error. */
  readonly status: number | undefined;

  constructor(message: string, options: KeyportErrorOptions = {}) {
    super(message, options);
    this.status = options.status;
  }
}

/**
 * `400 Invalid code_challenge_method`: the method sent to the exchange differs from the one
 * sent to `/auth`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.6
 * @example
 * ```ts
 * await exchangeCode({ code, codeVerifier, codeChallengeMethod: "S256" }); // same as at /auth
 * ```
 */
export class InvalidCodeChallengeMethodError extends KeyportError {
  override name = "InvalidCodeChallengeMethodError";
}

/**
 * `403 Invalid code or code_verifier`: unknown or already used code, or a verifier that does
 * not match its challenge. Codes are single-use: start the sign-in again.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.6
 * @example
 * ```ts
 * if (error instanceof InvalidCodeError) await startSignIn();
 * ```
 */
export class InvalidCodeError extends KeyportError {
  override name = "InvalidCodeError";
}

/**
 * `403 Authorization code expired`: codes live 10 minutes. Start the sign-in again.
 *
 * @example
 * ```ts
 * if (error instanceof CodeExpiredError) await startSignIn();
 * ```
 */
export class CodeExpiredError extends KeyportError {
  override name = "CodeExpiredError";
}

/**
 * `401`: the API key is unknown, revoked or expired.
 *
 * @example
 * ```ts
 * if (error instanceof UnauthorizedError) await deleteKey(baseUrl);
 * ```
 */
export class UnauthorizedError extends KeyportError {
  override name = "UnauthorizedError";
}

/**
 * `405 Method Not Allowed`: usually a proxy or a `baseUrl` that rewrites the POST into a GET
 * (an `http://` URL redirected to `https://`).
 *
 * @example
 * ```ts
 * if (error instanceof MethodNotAllowedError) console.error("check baseUrl uses https://");
 * ```
 */
export class MethodNotAllowedError extends KeyportError {
  override name = "MethodNotAllowedError";
}

/**
 * `429`: too many attempts. `retryAfterSeconds` comes from the `Retry-After` header.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
 * @example
 * ```ts
 * if (error instanceof RateLimitedError) await sleep((error.retryAfterSeconds ?? 60) * 1000);
 * ```
 */
export class RateLimitedError extends KeyportError {
  override name = "RateLimitedError";
  /** Seconds to wait before retrying, or `undefined` when the server did not say. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    message: string,
    options: KeyportErrorOptions & { retryAfterSeconds?: number | undefined } = {},
  ) {
    super(message, options);
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/**
 * The server answered with a status that has no class of its own: a `5xx`, or a `4xx` the
 * protocol does not define for this endpoint.
 *
 * @example
 * ```ts
 * if (error instanceof ServerError && error.status! >= 500) retryLater();
 * ```
 */
export class ServerError extends KeyportError {
  override name = "ServerError";
}

/**
 * `fetch` threw: DNS, refused connection, TLS, CORS. `cause` is what it threw.
 *
 * @example
 * ```ts
 * if (error instanceof NetworkError) console.error("offline?", error.cause);
 * ```
 */
export class NetworkError extends KeyportError {
  override name = "NetworkError";
}

/**
 * The server answered `2xx` with a body this client cannot use (not JSON, or a field missing or
 * of the wrong type); the message names the field.
 *
 * @example
 * ```ts
 * if (error instanceof ProtocolError) report(error.message, error.cause);
 * ```
 */
export class ProtocolError extends KeyportError {
  override name = "ProtocolError";
}

/**
 * The user declined on the consent page (`error=access_denied` on the callback).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
 * @example
 * ```ts
 * if (error instanceof AccessDeniedError) showSignInButton();
 * ```
 */
export class AccessDeniedError extends KeyportError {
  override name = "AccessDeniedError";
}

/**
 * The callback's `state` differs from the one this client sent, or no sign-in was started
 * here: the callback may be forged (CSRF), so its code is not exchanged.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-10.12
 * @example
 * ```ts
 * if (error instanceof StateMismatchError) showSignInButton();
 * ```
 */
export class StateMismatchError extends KeyportError {
  override name = "StateMismatchError";
}

/**
 * The user did not finish signing in within the allowed time.
 *
 * @example
 * ```ts
 * await signInWithLoopback({ timeoutMs: 120_000 }).catch((e) => {
 *   if (e instanceof TimeoutError) console.error("Sign-in timed out");
 * });
 * ```
 */
export class TimeoutError extends KeyportError {
  override name = "TimeoutError";
}

/**
 * The server cannot revoke a key at the app's request: `DELETE /api/v1/key` is a Keyport
 * extension, which OpenRouter does not have (it answers `404` or `405`). The key still works;
 * the user revokes it in the server's key settings.
 *
 * @example
 * ```ts
 * await disconnect({ key }).catch((e) => {
 *   if (e instanceof RevocationUnsupportedError) alert("Revoke the key in your key settings");
 * });
 * ```
 */
export class RevocationUnsupportedError extends KeyportError {
  override name = "RevocationUnsupportedError";
}
