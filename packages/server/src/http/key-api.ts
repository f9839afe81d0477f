import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../web/context.js";
import { KeyportError } from "../web/errors.js";
import { authenticateKey } from "../web/key-auth.js";
import { keyView } from "./key-view.js";

/**
 * `GET /api/v1/key`: what the calling key may do and has done, in OpenRouter's shape. Usage
 * windows come from the per-window counters the gateway keeps on the key (UTC day, week from
 * Monday, calendar month); `limit_remaining` is measured against the key's `limit_reset` window.
 * `DELETE /api/v1/key`, a Keyport extension, revokes the calling key at once and answers
 * `{"data":{"revoked":true}}`: how an app disconnects itself.
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
  // A Keyport extension: an app that disconnects revokes its own key, and nothing else.
  app.delete("/api/v1/key", async (c) => {
    const key = await authenticateKey(c, deps);
    const revoked = await deps.store.revokeKey(key.hash, deps.clock(), key.userId);
    // Revoked in between by another request: the caller's key is gone all the same.
    if (!revoked) throw new KeyportError(401, "User not found.");
    return c.json({ data: { revoked: true } });
  });
  return app;
}
