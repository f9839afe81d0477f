import { randomBytes } from "node:crypto";
import type { Store, StoredKey } from "../../src/index.js";

const hex = (bytes = 32) => randomBytes(bytes).toString("hex");

/**
 * A new account and a key for it, made straight in the store the way the exchange makes one
 * (a code consumed and its key stored in one transaction), for tests below HTTP.
 */
export async function seedKey(
  store: Store,
  options: { limitMicros: number | null; label: string; now?: Date },
): Promise<{ key: StoredKey; userId: string }> {
  const { limitMicros, label, now = new Date() } = options;
  const userId = `user_${hex(6)}`;
  await store.createUser({
    id: userId,
    email: `${userId}@example.test`,
    passwordHash: "x",
    createdAt: now,
  });
  const code = {
    codeHash: hex(),
    userId,
    codeChallenge: null,
    codeChallengeMethod: null,
    callbackUrl: null,
    keyLabel: label,
    limitMicros,
    limitReset: null,
    keyExpiresAt: null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 10 * 60_000),
  };
  await store.createCode(code);
  const hash = hex();
  await store.redeemCode(code.codeHash, hash, now, () => ({
    terms: { userId, label, limitMicros, limitReset: null, expiresAt: null, createdAt: now },
  }));
  const key = await store.findKey(hash);
  if (!key) throw new Error("key not minted");
  return { key, userId };
}
