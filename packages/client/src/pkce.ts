import { invalidArgument } from "./errors.js";
import { base64url, platform, randomToken } from "./platform.js";

/**
 * How the challenge derives from the verifier. `S256` unless the other side cannot hash.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.2
 */
export type CodeChallengeMethod = "S256" | "plain";

/** A PKCE verifier with its challenge; keep the verifier secret until the exchange. */
export interface PkcePair {
  codeVerifier: string;
  codeChallenge: string;
  codeChallengeMethod: CodeChallengeMethod;
}

const UNRESERVED_43_128 = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 7636 §4.1 (verifier) and §4.2 (challenge) share one grammar. */
export function assertPkceValue(value: unknown, name: string): asserts value is string {
  if (typeof value !== "string" || !UNRESERVED_43_128.test(value)) {
    invalidArgument(name, "must be 43-128 characters of [A-Za-z0-9-._~]");
  }
}

/** Throws unless `method` is `S256` or `plain`. */
export function assertMethod(value: unknown, name = "codeChallengeMethod"): CodeChallengeMethod {
  if (value !== "S256" && value !== "plain") invalidArgument(name, 'must be "S256" or "plain"');
  return value;
}

/**
 * Derives the code challenge from a verifier: `S256` is base64url(SHA-256(ASCII(verifier)))
 * without padding, `plain` is the verifier itself.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.2
 * @example
 * ```ts
 * await createCodeChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
 * // "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
 * ```
 */
export async function createCodeChallenge(
  codeVerifier: string,
  method: CodeChallengeMethod = "S256",
): Promise<string> {
  assertPkceValue(codeVerifier, "codeVerifier");
  return challenge(codeVerifier, assertMethod(method));
}

/** For verifiers known to be valid: skipping the check keeps PKCE-only bundles small. */
async function challenge(codeVerifier: string, method: CodeChallengeMethod): Promise<string> {
  if (method === "plain") return codeVerifier;
  // The grammar is ASCII-only, so char codes are the ASCII octets §4.2 hashes.
  const octets = Uint8Array.from(codeVerifier, (c) => c.charCodeAt(0));
  return base64url(new Uint8Array(await platform.crypto.subtle.digest("SHA-256", octets)));
}

/**
 * Creates a fresh PKCE pair: a verifier of 32 random octets (43 base64url characters, 256 bits,
 * as §4.1 recommends) and its challenge.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.1
 * @example
 * ```ts
 * const pkce = await createPkcePair();
 * location.assign(authorizationUrl({ ...pkce, callbackUrl: "https://app.example/callback" }));
 * ```
 */
export async function createPkcePair(method: CodeChallengeMethod = "S256"): Promise<PkcePair> {
  assertMethod(method);
  const codeVerifier = randomToken(32);
  return {
    codeVerifier,
    codeChallenge: await challenge(codeVerifier, method),
    codeChallengeMethod: method,
  };
}
