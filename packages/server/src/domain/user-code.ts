import { randomBytes } from "node:crypto";
import { sha256Hex } from "./secrets.js";

/**
 * Crockford's base32: digits and capitals without I, L, O and U, so nothing reads as something
 * else. 8 characters of 32 are 40 bits: never enough alone, which is why a user code redeems only
 * with the verifier of its own request, and burns after {@link MAX_USER_CODE_MISSES} wrong tries.
 * @see https://www.crockford.com/base32.html
 */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LENGTH = 8;

/** Wrong user codes a headless code survives (sent with its verifier); the next one burns it. */
export const MAX_USER_CODE_MISSES = 5;

/**
 * A fresh user code from the CSPRNG, grouped for reading aloud: `"K7QD-9MXA"`.
 * @example
 * const shown = newUserCode(); // "K7QD-9MXA"
 */
export function newUserCode(): string {
  // 256 is a multiple of 32, so masking each byte keeps the draw uniform.
  const chars = [...randomBytes(LENGTH)].map((byte) => ALPHABET[byte & 31]).join("");
  return `${chars.slice(0, 4)}-${chars.slice(4)}`;
}

/**
 * The canonical form of what a user typed, when it has the shape of a user code: spaces and
 * dashes dropped, letters upper-cased, and O, I and L read as 0, 1 and 1. `undefined` for
 * anything else, such as the 43-character codes of the callback flow.
 * @example
 * normalizeUserCode(" k7qd 9mxa "); // "K7QD9MXA"
 */
export function normalizeUserCode(typed: string): string | undefined {
  if (typed.length > 4 * LENGTH) return undefined;
  const compact = typed
    .replace(/[\s-]+/g, "")
    .toUpperCase()
    .replace(/O/g, "0")
    .replace(/[IL]/g, "1");
  if (compact.length !== LENGTH) return undefined;
  return [...compact].every((char) => ALPHABET.includes(char)) ? compact : undefined;
}

/**
 * What is stored of a user code (from {@link newUserCode} or {@link normalizeUserCode}).
 * @example
 * userCodeHash("K7QD-9MXA") === userCodeHash(normalizeUserCode("k7qd9mxa")!); // true
 */
export function userCodeHash(code: string): string {
  return sha256Hex(`user-code:${code.replace(/-/g, "")}`);
}
