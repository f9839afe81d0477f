import { createHmac, hash, randomBytes, timingSafeEqual } from "node:crypto";

/** 32 bytes (256 bits) from the CSPRNG, base64url: session ids, codes, nonces. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/**
 * SHA-256 as lowercase hex: what is stored in place of keys, codes and session ids. One-shot
 * `crypto.hash` (no `Hash` object per call): a gateway call and an exchange hash on every request.
 */
export function sha256Hex(value: string): string {
  return hash("sha256", value, "hex");
}

/** HMAC-SHA-256 as base64url, for values derived from the server secret (CSRF tokens). */
export function hmac(secret: string, value: string): string {
  return createHmac("sha256", secret).update(value).digest("base64url");
}

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
