import type { AuthRequest } from "../domain/auth-request.js";
import { CODE_LIFETIME_MS } from "../domain/constants.js";
import { toMicros } from "../domain/credits.js";
import { randomToken, sha256Hex } from "../domain/secrets.js";
import { newUserCode, userCodeHash } from "../domain/user-code.js";
import type { ServiceDeps } from "./deps.js";

/** A code just stored: the plaintext (handed out once) and when it was made. */
export interface IssuedCode {
  readonly code: string;
  readonly createdAt: Date;
}

/**
 * Stores an authorization code for `userId` on the terms of a validated request; only its hash
 * is kept. The consent page and `POST /api/v1/auth/keys/code` both issue codes through here, so
 * either kind exchanges at `POST /api/v1/auth/keys` the same way.
 * @example
 * const { code } = await issueCode(deps, user.id, request);
 */
export async function issueCode(
  deps: ServiceDeps,
  userId: string,
  request: AuthRequest,
): Promise<IssuedCode> {
  const code = randomToken();
  const createdAt = await storeCode(deps, userId, request, code, null);
  return { code, createdAt };
}

/**
 * Stores a code for headless consent and returns the short user code (`K7QD-9MXA`) the page
 * shows in its place; the code itself is never shown. The exchange takes the user code as
 * `code`, together with the request's verifier (see `domain/user-code.ts`).
 * @example
 * const userCode = await issueHeadlessCode(deps, user.id, request);
 */
export async function issueHeadlessCode(
  deps: ServiceDeps,
  userId: string,
  request: AuthRequest,
): Promise<string> {
  const userCode = newUserCode();
  await storeCode(deps, userId, request, randomToken(), userCodeHash(userCode));
  return userCode;
}

async function storeCode(
  deps: ServiceDeps,
  userId: string,
  request: AuthRequest,
  code: string,
  userCodeHashOrNull: string | null,
): Promise<Date> {
  const now = deps.clock();
  await deps.store.createCode({
    codeHash: sha256Hex(code),
    userId,
    codeChallenge: request.codeChallenge ?? null,
    codeChallengeMethod: request.codeChallengeMethod ?? null,
    callbackUrl: request.callback?.url.href ?? null,
    keyLabel: request.keyLabel,
    limitMicros: request.limit === undefined ? null : toMicros(request.limit),
    limitReset: request.usageLimitType ?? null,
    keyExpiresAt: request.expiresAt ?? null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + CODE_LIFETIME_MS),
    userCodeHash: userCodeHashOrNull,
  });
  return now;
}
