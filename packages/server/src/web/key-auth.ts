import type { Context } from "hono";
import { looksLikeKey } from "../domain/keys.js";
import { sha256Hex } from "../domain/secrets.js";
import type { StoredKey } from "../store/store.js";
import type { AppDeps } from "./context.js";
import { KeyportError } from "./errors.js";

/**
 * The key a request authenticates with (`Authorization: Bearer sk-kp-v1-…`); `401` when it is
 * missing, unknown, revoked or expired, `403` when an operator disabled its account.
 * @example
 * const key = await authenticateKey(c, deps);
 */
export async function authenticateKey(c: Context, deps: AppDeps): Promise<StoredKey> {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw new KeyportError(401, "Missing Authentication header");
  const token = match[1];
  const key = looksLikeKey(token) ? await deps.store.findKey(sha256Hex(token)) : undefined;
  if (!key || key.revokedAt) throw new KeyportError(401, "User not found.");
  if (key.expiresAt && key.expiresAt <= deps.clock()) throw new KeyportError(401, "Key expired");
  if (key.ownerDisabled) throw new KeyportError(403, "This key's account is disabled");
  c.set("keyHash", key.hash);
  return key;
}
