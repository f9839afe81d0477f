/**
 * `@keyport/client`: connect a user to OpenRouter (or any Keyport server) in one click through
 * OAuth PKCE and get an API key. Runs wherever WebCrypto and `fetch` do; no dependencies.
 *
 * Browser apps: `@keyport/client/browser`. CLIs and scripts: `@keyport/client/node`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636
 * @packageDocumentation
 */

export {
  type AuthorizationParams,
  type AuthorizationPkce,
  type AuthorizationUrlOptions,
  authorizationUrl,
  nopkce,
  type UsageLimitType,
} from "./authorize.js";
export { OPENROUTER_BASE_URL } from "./base-url.js";
export { type DisconnectOptions, disconnect } from "./disconnect.js";
export {
  AccessDeniedError,
  CodeExpiredError,
  type InvalidArgumentError,
  InvalidCodeChallengeMethodError,
  InvalidCodeError,
  KeyportError,
  type KeyportErrorOptions,
  MethodNotAllowedError,
  NetworkError,
  ProtocolError,
  RateLimitedError,
  RevocationUnsupportedError,
  ServerError,
  StateMismatchError,
  TimeoutError,
  UnauthorizedError,
} from "./errors.js";
export {
  type ExchangeCodeOptions,
  type ExchangeResult,
  exchangeCode,
} from "./exchange.js";
export type { RequestOptions } from "./http.js";
export { type GetKeyInfoOptions, getKeyInfo, type KeyInfo } from "./key-info.js";
export {
  type CodeChallengeMethod,
  createCodeChallenge,
  createPkcePair,
  type PkcePair,
} from "./pkce.js";
export type { AbortSignalLike, FetchInit, FetchLike, ResponseLike } from "./platform.js";
