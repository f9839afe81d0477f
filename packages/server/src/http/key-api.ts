import type { Context } from "hono";
import { Hono } from "hono";
import { looksLikeKey } from "../domain/keys.js";
import { sha256Hex } from "../domain/secrets.js";
import type { StoredKey } from "../store/store.js";
import type { AppDeps, AppEnv } from "./context.js";
import { KeyportError } from "./errors.js";
import { keyView } from "./key-view.js";

/**
 * The key a request authenticates with (`Authorization: Bearer sk-kp-v1-…`); `401` when it is
 * missing, unknown, revoked or expired.
 */
export async function authenticateKey(c: Context, deps: AppDeps): Promise<StoredKey> {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw new KeyportError(401, "Missing Authentication header");
  const token = match[1];
  const key = looksLikeKey(token) ? await deps.store.findKey(sha256Hex(token)) : undefined;
  if (!key || key.revokedAt) throw new KeyportError(401, "User not found.");
  if (key.expiresAt && key.expiresAt <= deps.clock()) throw new KeyportError(401, "Key expired");
  return key;
}

/**
 * `GET /api/v1/key`: what the calling key may do and has done, in OpenRouter's shape. Usage
 * windows come from the per-window counters the gateway keeps on the key (UTC day, week from
 * Monday, calendar month); `limit_remaining` is measured against the key's `limit_reset` window.
 */
export function keyApiRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.get("/api/v1/key", async (c) => {
    const key = await authenticateKey(c, deps);
    // The caller's own key: everything the management API shows of it but its hash.
    const { hash: _hash, ...view } = keyView(key, deps.clock());
    return c.json({
      data: {
        ...view,
        is_free_tier: false,
        is_management_key: key.isManagement,
        is_provisioning_key: key.isManagement,
      },
    });
  });
  return app;
}
