import { type Context, Hono } from "hono";
import { z } from "zod";
import { mintKey } from "../domain/keys.js";
import {
  codeChallengeOf,
  isCodeChallengeMethod,
  isPkceValue,
  verifyCodeVerifier,
} from "../domain/pkce.js";
import { sha256Hex } from "../domain/secrets.js";
import { MAX_USER_CODE_MISSES, normalizeUserCode, userCodeHash } from "../domain/user-code.js";
import type { KeyTerms, StoredCode } from "../store/store.js";
import { clientAddress } from "../web/client-address.js";
import type { AppDeps, AppEnv } from "../web/context.js";
import { KeyportError } from "../web/errors.js";
import { readJson } from "../web/json-body.js";
import type { ExchangeOutcome } from "../web/metrics.js";
import { memoryRateLimits } from "../web/rate-limit.js";
import { respond } from "../web/respond.js";

const INVALID_CODE = "Invalid code or code_verifier";

const exchangeBody = z.object({
  code: z.string().min(1).max(512),
  // Clients that skip PKCE often send the fields empty: "" means absent, as null does.
  code_verifier: z
    .string()
    .max(512)
    .nullish()
    .transform((value) => value || undefined),
  code_challenge_method: z
    .string()
    .max(16)
    .nullish()
    .transform((value) => value || undefined),
});

type ExchangeInput = z.output<typeof exchangeBody>;

/**
 * `POST /api/v1/auth/keys`: a code and its verifier for a key. The code is consumed before
 * anything else is checked, so a wrong verifier burns it; a replay that proves possession
 * revokes what it minted.
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.6
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 */
export function exchangeRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const limiter = (deps.rateLimits ?? memoryRateLimits(deps.clock)).limit(
    "exchange",
    deps.config.rateLimits.exchange,
    "code exchange",
  );

  app.post("/api/v1/auth/keys", async (c) => {
    let replayed = false;
    try {
      const answer = await exchange(c, (revoked) => {
        replayed = revoked;
      });
      deps.metrics?.exchange("ok");
      return answer;
    } catch (error) {
      deps.metrics?.exchange(replayed ? "replay" : outcomeOf(error));
      throw error;
    }
  });

  async function exchange(c: Context<AppEnv>, onReplay: (revoked: boolean) => void) {
    await limiter.hit(clientAddress(c, deps.config.trustProxy));
    const input = await readJson(c, exchangeBody);
    checkMethodName(input, deps.config.requireS256);
    const now = deps.clock();
    const codeHash = await codeHashFor(deps, input, now);
    const minted = mintKey();
    const redeemed = await deps.store.redeemCode(codeHash, minted.hash, now, (code) => {
      const refusal = checkCode(code, input, now, deps.config.requireS256);
      return refusal ? { refusal } : { terms: keyTerms(code, now) };
    });
    if (!redeemed) {
      onReplay(
        await deps.store.revokeReplayedCode(codeHash, now, (code) => provesPossession(code, input)),
      );
      throw new KeyportError(403, INVALID_CODE);
    }
    if (redeemed.refusal) throw redeemed.refusal;
    return respond(c, c.json({ key: minted.key, user_id: redeemed.code.userId }));
  }

  app.all("/api/v1/auth/keys", () => {
    throw new KeyportError(405, "Method Not Allowed", { Allow: "POST, OPTIONS" });
  });

  return app;
}

/**
 * The hash of the code to redeem. A headless user code (`K7QD-9MXA`, typed loosely) stands for
 * the code it was shown for, which then redeems like any code: only with its own verifier, a
 * wrong one burning it. A user code that stands for nothing is a miss counted against the
 * pending headless code of the verifier sent, which burns at the limit: someone who started the
 * request can't guess the code its user was shown. On a 40-bit collision the code of the
 * verifier's own request wins.
 */
async function codeHashFor(deps: AppDeps, input: ExchangeInput, now: Date): Promise<string> {
  const userCode = normalizeUserCode(input.code);
  if (userCode === undefined) return sha256Hex(input.code);
  const verifier = input.code_verifier;
  const challenge =
    verifier !== undefined && isPkceValue(verifier) ? codeChallengeOf(verifier, "S256") : null;
  const candidates = await deps.store.findUserCode(userCodeHash(userCode));
  const found =
    candidates.find((candidate) => candidate.codeChallenge === challenge) ?? candidates[0];
  if (found) return found.codeHash;
  if (challenge) await deps.store.countUserCodeMiss(challenge, now, MAX_USER_CODE_MISSES);
  throw new KeyportError(403, INVALID_CODE);
}

function checkMethodName(input: ExchangeInput, requireS256: boolean): void {
  const method = input.code_challenge_method;
  if (
    method !== undefined &&
    (!isCodeChallengeMethod(method) || (requireS256 && method !== "S256"))
  ) {
    throw new KeyportError(400, "Invalid code_challenge_method");
  }
}

/**
 * Why a consumed code may not be redeemed, if it may not: expiry, then PKCE. With `requireS256`,
 * a code issued without S256 (before the operator turned the switch on) mints nothing.
 */
function checkCode(
  code: StoredCode,
  input: ExchangeInput,
  now: Date,
  requireS256: boolean,
): KeyportError | undefined {
  if (code.expiresAt <= now) return new KeyportError(403, "Authorization code expired");
  if (requireS256 && code.codeChallengeMethod !== "S256") {
    return code.codeChallengeMethod
      ? new KeyportError(400, "Invalid code_challenge_method")
      : new KeyportError(403, INVALID_CODE);
  }
  return verifyPkce(code, input);
}

/**
 * Whether a replay shows it comes from whoever redeemed the code (RFC 6749 §4.1.2 revokes only
 * then): it carries the code's verifier, or the code had no challenge and holding it is all
 * there is. A code alone, leaked from a log or a referrer, proves nothing.
 */
function provesPossession(code: StoredCode, input: ExchangeInput): boolean {
  if (!code.codeChallenge || !code.codeChallengeMethod) return true;
  const verifier = input.code_verifier;
  return (
    verifier !== undefined &&
    verifyCodeVerifier(verifier, code.codeChallenge, code.codeChallengeMethod)
  );
}

function keyTerms(code: StoredCode, now: Date): KeyTerms {
  return {
    userId: code.userId,
    label: code.keyLabel,
    limitMicros: code.limitMicros,
    limitReset: code.limitReset,
    expiresAt: code.keyExpiresAt,
    createdAt: now,
  };
}

/**
 * RFC 7636 §4.6 plus RFC 9700 §4.8's downgrade rule: the method must be the one the code was
 * issued with, a verifier for a code without a challenge is refused, and a code with a challenge
 * needs its verifier.
 */
function verifyPkce(code: StoredCode, input: ExchangeInput): KeyportError | undefined {
  const verifier = input.code_verifier;
  const method = input.code_challenge_method;
  if (!code.codeChallenge || !code.codeChallengeMethod) {
    if (verifier !== undefined || method !== undefined) return new KeyportError(403, INVALID_CODE);
    return undefined;
  }
  if (method !== undefined && method !== code.codeChallengeMethod) {
    return new KeyportError(400, "Invalid code_challenge_method");
  }
  if (
    verifier === undefined ||
    !verifyCodeVerifier(verifier, code.codeChallenge, code.codeChallengeMethod)
  ) {
    return new KeyportError(403, INVALID_CODE);
  }
  return undefined;
}

/** What a refused exchange counts as: told by the error it was answered with. */
function outcomeOf(error: unknown): ExchangeOutcome {
  if (!(error instanceof KeyportError)) return "error";
  if (error.status === 429) return "rate_limited";
  if (error.message === "Authorization code expired") return "expired";
  if (error.status === 403) return "invalid";
  if (error.status < 500) return "bad_request";
  return "error";
}
