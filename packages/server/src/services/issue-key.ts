import type { LimitReset } from "../domain/credits.js";
import type { KeyOrigin } from "../domain/key-origin.js";
import { mintKey } from "../domain/keys.js";
import type { Store, StoredKey } from "../store/store.js";

/** The terms of a key created by hand (management API or CLI) rather than by a code. */
export interface KeyRequest {
  readonly userId: string;
  readonly label: string;
  readonly limitMicros: number | null;
  readonly limitReset: LimitReset | null;
  readonly expiresAt: Date | null;
  readonly isManagement: boolean;
  /** Who makes it; the `keyport` CLI when absent. */
  readonly origin?: KeyOrigin;
}

/** A key just created: the plaintext, shown once, and the key as stored. */
export interface IssuedKey {
  readonly key: string;
  readonly stored: StoredKey;
}

/**
 * Mints a key and stores only its hash.
 * @example
 * const { key } = await issueKey(store, new Date(), { userId, label: "CI", limitMicros: null,
 *   limitReset: null, expiresAt: null, isManagement: true });
 */
export async function issueKey(store: Store, now: Date, request: KeyRequest): Promise<IssuedKey> {
  const minted = mintKey();
  const origin = request.origin ?? { via: "cli" };
  await store.createKey({ ...request, origin, hash: minted.hash, createdAt: now });
  const stored = await store.findKey(minted.hash);
  if (!stored) throw new Error("The key just created was not found");
  return { key: minted.key, stored };
}
