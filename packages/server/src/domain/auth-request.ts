import { appName } from "./app-name.js";
import { type AcceptedCallback, checkCallbackUrl } from "./callback-policy.js";
import { MAX_CREDIT_LIMIT, MAX_KEY_LABEL } from "./constants.js";
import { isLimitReset, type LimitReset } from "./credits.js";
import { type CodeChallengeMethod, isPkceValue } from "./pkce.js";

/** A validated `GET /auth` request (or its consent form, which carries the same fields). */
export interface AuthRequest {
  /** `undefined` in headless mode: the code is shown on the page instead. */
  readonly callback?: AcceptedCallback;
  readonly codeChallenge?: string;
  readonly codeChallengeMethod?: CodeChallengeMethod;
  readonly keyLabel: string;
  /** Credits, when the app or the user set a limit. */
  readonly limit?: number;
  readonly usageLimitType?: LimitReset;
  readonly expiresAt?: Date;
  readonly state?: string;
  /** The app's own name (`app_name`, a Keyport extension), sanitized; shown beside its origin. */
  readonly appName?: string;
}

/** Why a request cannot be used: shown on an error page, never sent to the callback. */
export type AuthRequestProblem = { readonly message: string };

/** The operator's narrowing of what `/auth` accepts (the server's config satisfies it). */
export interface AuthPolicy {
  /** When non-empty, `callback_url` must lie under one of these. */
  readonly allowedCallbackPrefixes: readonly string[];
  /** Refuse a request without an S256 `code_challenge` (`plain` and none alike). */
  readonly requireS256: boolean;
}

/** The query parameters of the wire contract, as they arrive. */
export const AUTH_PARAMS = [
  "callback_url",
  "code_challenge",
  "code_challenge_method",
  "key_label",
  "limit",
  "usage_limit_type",
  "expires_at",
  "state",
  "app_name",
] as const;

const MAX_STATE = 1024;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|\+00:00)$/;

/**
 * Validates the wire contract's `/auth` parameters. `get` reads one parameter (a query or a form);
 * a parameter given twice is refused, since two readers could otherwise see different values.
 */
export function parseAuthRequest(
  get: (name: string) => string[] | undefined,
  now: Date,
  policy: AuthPolicy,
): AuthRequest | AuthRequestProblem {
  const values: Partial<Record<(typeof AUTH_PARAMS)[number], string>> = {};
  for (const name of AUTH_PARAMS) {
    const all = get(name);
    if (all && all.length > 1) return { message: `${name} was given more than once.` };
    if (all?.[0] !== undefined && all[0] !== "") values[name] = all[0];
  }

  let callback: AcceptedCallback | undefined;
  if (values.callback_url !== undefined) {
    const checked = checkCallbackUrl(values.callback_url, policy.allowedCallbackPrefixes);
    if ("rejected" in checked) return { message: checked.rejected };
    callback = checked;
  }

  const challenge = values.code_challenge;
  const method = values.code_challenge_method;
  if (method !== undefined && method !== "S256" && method !== "plain") {
    return { message: "code_challenge_method must be S256 or plain." };
  }
  if (challenge !== undefined && !isPkceValue(challenge)) {
    return { message: "code_challenge must be 43-128 characters of [A-Za-z0-9-._~]." };
  }
  if (method !== undefined && challenge === undefined) {
    return { message: "code_challenge_method was given without a code_challenge." };
  }
  const codeChallengeMethod: CodeChallengeMethod | undefined = challenge
    ? (method ?? "plain")
    : undefined;
  if (policy.requireS256 && codeChallengeMethod !== "S256") {
    return { message: "This server requires a S256 code_challenge (RFC 7636 §4.2)." };
  }
  if (!callback && codeChallengeMethod !== "S256") {
    return {
      message: "Without a callback_url (headless mode), a S256 code_challenge is required.",
    };
  }

  const keyLabel = (values.key_label ?? defaultLabel(callback)).trim();
  if (keyLabel.length === 0 || keyLabel.length > MAX_KEY_LABEL) {
    return { message: `key_label must be 1-${MAX_KEY_LABEL} characters.` };
  }

  let limit: number | undefined;
  if (values.limit !== undefined) {
    limit = Number(values.limit);
    if (!/^\d+(\.\d+)?$/.test(values.limit) || !(limit >= 0 && limit <= MAX_CREDIT_LIMIT)) {
      return { message: `limit must be a number of credits from 0 to ${MAX_CREDIT_LIMIT}.` };
    }
  }

  const usageLimitType = values.usage_limit_type;
  if (usageLimitType !== undefined && !isLimitReset(usageLimitType)) {
    return { message: "usage_limit_type must be daily, weekly or monthly." };
  }

  let expiresAt: Date | undefined;
  if (values.expires_at !== undefined) {
    expiresAt = new Date(values.expires_at);
    if (!ISO_UTC.test(values.expires_at) || Number.isNaN(expiresAt.getTime())) {
      return { message: "expires_at must be an ISO 8601 date and time in UTC." };
    }
    if (expiresAt <= now) return { message: "expires_at is in the past." };
  }

  if (values.state !== undefined && values.state.length > MAX_STATE) {
    return { message: `state must be at most ${MAX_STATE} characters.` };
  }

  return {
    callback,
    codeChallenge: challenge,
    codeChallengeMethod,
    keyLabel,
    limit,
    usageLimitType,
    expiresAt,
    state: values.state,
    appName: appName(values.app_name),
  };
}

function defaultLabel(callback: AcceptedCallback | undefined): string {
  return callback ? callback.displayName.slice(0, MAX_KEY_LABEL) : "Headless sign-in";
}

/** The request back as wire parameters, e.g. for the consent form's hidden fields. */
export function authRequestParams(request: AuthRequest): Record<string, string> {
  const params: Record<string, string> = {};
  if (request.callback) params.callback_url = request.callback.url.href;
  if (request.codeChallenge) params.code_challenge = request.codeChallenge;
  if (request.codeChallengeMethod) params.code_challenge_method = request.codeChallengeMethod;
  params.key_label = request.keyLabel;
  if (request.limit !== undefined) params.limit = String(request.limit);
  if (request.usageLimitType) params.usage_limit_type = request.usageLimitType;
  if (request.expiresAt) params.expires_at = request.expiresAt.toISOString();
  if (request.state !== undefined) params.state = request.state;
  if (request.appName !== undefined) params.app_name = request.appName;
  return params;
}
