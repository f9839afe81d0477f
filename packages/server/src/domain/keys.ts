import { pooledRandomBytes } from "./random-pool.js";
import { sha256Hex } from "./secrets.js";

/** Every Keyport key starts with this; the rest is 64 hex characters (256 bits). */
const KEY_PREFIX = "sk-kp-v1-";

const KEY_SHAPE = /^sk-kp-v1-[0-9a-f]{64}$/;

/** A freshly minted key: the plaintext, shown once, and the hash that is stored. */
export interface MintedKey {
  readonly key: string;
  readonly hash: string;
}

/**
 * Mints a key from the CSPRNG.
 * @example
 * const { key, hash } = mintKey(); // key: "sk-kp-v1-…", hash: SHA-256 hex of key
 */
export function mintKey(): MintedKey {
  const key = `${KEY_PREFIX}${pooledRandomBytes(32).toString("hex")}`;
  return { key, hash: sha256Hex(key) };
}

/** Whether a bearer token could be a Keyport key at all (spares a lookup for garbage). */
export function looksLikeKey(value: string): boolean {
  return KEY_SHAPE.test(value);
}
