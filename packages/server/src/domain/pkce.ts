import { hash } from "node:crypto";
import { constantTimeEqual } from "./secrets.js";

/** The transformations RFC 7636 §4.2 defines. */
export type CodeChallengeMethod = "S256" | "plain";

const VERIFIER_SHAPE = /^[A-Za-z0-9\-._~]{43,128}$/;

/**
 * Whether a value has the shape RFC 7636 §4.1 gives a `code_verifier` (and, identically, a
 * `code_challenge`): 43–128 characters of `[A-Za-z0-9-._~]`.
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.1
 */
export function isPkceValue(value: string): boolean {
  return VERIFIER_SHAPE.test(value);
}

/** Narrows an untrusted method name. */
export function isCodeChallengeMethod(value: unknown): value is CodeChallengeMethod {
  return value === "S256" || value === "plain";
}

/**
 * The challenge a verifier stands for: base64url(SHA-256(ASCII(verifier))) without padding for
 * S256, the verifier itself for plain.
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.2
 * @example
 * codeChallengeOf("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "S256");
 * // "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
 */
export function codeChallengeOf(verifier: string, method: CodeChallengeMethod): string {
  return method === "plain" ? verifier : hash("sha256", verifier, "base64url");
}

/**
 * Checks a verifier against the challenge stored with a code, in constant time.
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.6
 */
export function verifyCodeVerifier(
  verifier: string,
  challenge: string,
  method: CodeChallengeMethod,
): boolean {
  return isPkceValue(verifier) && constantTimeEqual(codeChallengeOf(verifier, method), challenge);
}
