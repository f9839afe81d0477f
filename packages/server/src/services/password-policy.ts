import { readFileSync } from "node:fs";

/** Shortest password accepted, in Unicode code points (NIST SP 800-63B §3.1.1.2). */
const MIN_PASSWORD_LENGTH = 8;
/** Longest password accepted, in code points: room for any passphrase, a bound on hashing work. */
export const MAX_PASSWORD_LENGTH = 1024;

const LIST = new URL("../../data/common-passwords.txt", import.meta.url);
let common: ReadonlySet<string> | undefined;

/** Passwords are counted as a person would count them: `"🔑"` is one character, not two. */
export function passwordLength(password: string): number {
  let length = 0;
  for (const _ of password) length++;
  return length;
}

/**
 * Whether `password` is in the bundled list of common passwords (`data/common-passwords.txt`,
 * 17,950 entries of 8+ characters), compared case-insensitively. Loaded on first use.
 */
export function isCommonPassword(password: string): boolean {
  common ??= new Set(readFileSync(LIST, "utf8").split("\n").filter(Boolean));
  return common.has(password.toLowerCase());
}

/**
 * Why a new password is refused, or `undefined` when it is acceptable: NIST SP 800-63B
 * §3.1.1.2 — at least 8 characters, long passphrases welcome (up to 1024), any characters, no
 * composition rules, and not one of the common passwords attackers try first.
 *
 * @see https://pages.nist.gov/800-63-4/sp800-63b.html#passwordver
 * @example
 * passwordProblem("sunshine1"); // "That password is one of the most common: …"
 * passwordProblem("correct horse battery staple"); // undefined
 */
export function passwordProblem(password: string): string | undefined {
  const length = passwordLength(password);
  if (length < MIN_PASSWORD_LENGTH) return "Choose a password of at least 8 characters.";
  if (length > MAX_PASSWORD_LENGTH) return "Choose a password of at most 1024 characters.";
  if (isCommonPassword(password)) {
    return "That password is one of the most common, the first ones attackers try. Choose another, such as a few unrelated words.";
  }
  return undefined;
}
