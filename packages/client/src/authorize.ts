import { normalizeBaseUrl } from "./base-url.js";
import { invalidArgument } from "./errors.js";
import { assertMethod, assertPkceValue, type CodeChallengeMethod } from "./pkce.js";

/**
 * Opt-out of PKCE, for a server that cannot do it. Pass it as `codeChallenge` (and as
 * `codeVerifier` to {@link exchangeCode}) so that skipping PKCE is visible where it happens.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.1.1
 * @example
 * ```ts
 * authorizationUrl({ callbackUrl, codeChallenge: nopkce });
 * ```
 */
export const nopkce: unique symbol = Symbol("keyport.nopkce");

/** The period after which a key's `limit` starts over. */
export type UsageLimitType = "daily" | "weekly" | "monthly";

/** What the consent page shows and what the minted key gets. */
export interface AuthorizationParams {
  /** Default `https://openrouter.ai`. */
  baseUrl?: string;
  /** Where the browser returns with `code`. Omit it for headless mode: the code is shown to copy. */
  callbackUrl?: string;
  /** Name of the key in the user's dashboard, at most 100 characters. */
  keyLabel?: string;
  /** Spending limit of the key, in credits. */
  limit?: number;
  /** When `limit` resets. */
  usageLimitType?: UsageLimitType;
  /** When the key stops working; sent as ISO 8601 UTC. */
  expiresAt?: Date | string;
  /** Opaque value echoed back on the callback, to bind it to this browser session. */
  state?: string;
}

/** PKCE is required unless explicitly declined with {@link nopkce}. */
export type AuthorizationPkce =
  | { codeChallenge: string; codeChallengeMethod: CodeChallengeMethod }
  | { codeChallenge: typeof nopkce; codeChallengeMethod?: undefined };

/** Options of {@link authorizationUrl}. */
export type AuthorizationUrlOptions = AuthorizationParams & AuthorizationPkce;

const USAGE_LIMIT_TYPES: readonly unknown[] = ["daily", "weekly", "monthly"];

function isoUtc(value: Date | string): string {
  const time = new Date(value).getTime();
  if (Number.isNaN(time)) invalidArgument("expiresAt", "must be a valid date");
  return new Date(time).toISOString();
}

/**
 * Builds the URL of the consent page (`GET /auth`). Without `callbackUrl` it is headless mode,
 * where the page shows the code to paste and `S256` is required.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3
 * @see https://openrouter.ai/docs/use-cases/oauth-pkce
 * @example
 * ```ts
 * const pkce = await createPkcePair();
 * const url = authorizationUrl({
 *   ...pkce,
 *   callbackUrl: "https://app.example/callback",
 *   keyLabel: "My app",
 *   limit: 5,
 *   usageLimitType: "monthly",
 * });
 * ```
 */
export function authorizationUrl(options: AuthorizationUrlOptions): string {
  const base = normalizeBaseUrl(options.baseUrl);
  const { callbackUrl, codeChallenge, keyLabel, limit, usageLimitType, expiresAt, state } = options;
  let method: CodeChallengeMethod | undefined;
  if (codeChallenge !== nopkce) {
    assertPkceValue(codeChallenge, "codeChallenge");
    method = assertMethod(options.codeChallengeMethod);
  }
  if (callbackUrl === undefined) {
    if (method !== "S256") {
      invalidArgument("codeChallengeMethod", 'must be "S256" when "callbackUrl" is omitted');
    }
  } else if (typeof callbackUrl !== "string" || !callbackUrl) {
    invalidArgument("callbackUrl", "must be a non-empty string");
  }
  if (keyLabel !== undefined && (typeof keyLabel !== "string" || keyLabel.length > 100)) {
    invalidArgument("keyLabel", "must be a string of at most 100 characters");
  }
  if (limit !== undefined && !(Number.isFinite(limit) && limit >= 0)) {
    invalidArgument("limit", "must be a finite number >= 0");
  }
  if (usageLimitType !== undefined && !USAGE_LIMIT_TYPES.includes(usageLimitType)) {
    invalidArgument("usageLimitType", 'must be "daily", "weekly" or "monthly"');
  }
  if (state !== undefined && (typeof state !== "string" || !state)) {
    invalidArgument("state", "must be a non-empty string");
  }
  const params: [string, string | number | undefined][] = [
    ["callback_url", callbackUrl],
    ["code_challenge", method && (codeChallenge as string)],
    ["code_challenge_method", method],
    ["key_label", keyLabel],
    ["limit", limit],
    ["usage_limit_type", usageLimitType],
    ["expires_at", expiresAt === undefined ? undefined : isoUtc(expiresAt)],
    ["state", state],
  ];
  const query = params
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}=${encodeURIComponent(value as string | number)}`)
    .join("&");
  return `${base}/auth?${query}`;
}
