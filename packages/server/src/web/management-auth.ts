import type { Context } from "hono";
import type { StoredKey } from "../store/store.js";
import type { AppDeps } from "./context.js";
import { KeyportError } from "./errors.js";
import { authenticateKey } from "./key-auth.js";

/**
 * The management key a request authenticates with: `401` when the key is missing, unknown,
 * revoked or expired (as everywhere), `403` when it is an ordinary key or a disabled one.
 */
export async function authenticateManagementKey(c: Context, deps: AppDeps): Promise<StoredKey> {
  const key = await authenticateKey(c, deps);
  if (!key.isManagement) {
    throw new KeyportError(403, "Only management keys can perform this operation");
  }
  if (key.disabled) throw new KeyportError(403, "Key is disabled");
  return key;
}
