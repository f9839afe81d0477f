import type { Context } from "hono";
import { looksLikeKey } from "../domain/keys.js";
import { sha256Hex } from "../domain/secrets.js";
import type { KeyAdmission, StoredKey } from "../store/store.js";
import type { AppDeps } from "./context.js";
import { KeyportError } from "./errors.js";

/**
 * The key a request authenticates with (`Authorization: Bearer sk-kp-v1-…`); `401` when it is
 * missing, unknown, revoked or expired, `403` when an operator disabled its account.
 * @example
 * const key = await authenticateKey(c, deps);
 */
export function authenticateKey(c: Context, deps: AppDeps): Promise<StoredKey> {
  return checkedKey(c, deps, (hash) => deps.store.findKey(hash));
}

/**
 * As {@link authenticateKey}, for a gateway call that reserves before it spends: its key may
 * have been read a moment ago (`Store.admitKey`), since the reservation checks it again.
 * @example
 * const key = await admitGatewayKey(c, deps);
 */
export function admitGatewayKey(c: Context, deps: AppDeps): Promise<KeyAdmission> {
  return checkedKey(c, deps, (hash) => deps.store.admitKey(hash));
}

async function checkedKey<K extends KeyAdmission>(
  c: Context,
  deps: AppDeps,
  find: (hash: string) => Promise<K | undefined>,
): Promise<K> {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw new KeyportError(401, "Missing Authentication header");
  const token = match[1];
  const key = looksLikeKey(token) ? await find(sha256Hex(token)) : undefined;
  if (!key || key.revokedAt) throw new KeyportError(401, "User not found.");
  if (key.expiresAt && key.expiresAt <= deps.clock()) throw new KeyportError(401, "Key expired");
  if (key.ownerDisabled) throw new KeyportError(403, "This key's account is disabled");
  c.set("keyHash", key.hash);
  return key;
}
