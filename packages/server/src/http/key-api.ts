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
 * Keyport routes to whichever upstreams its operator configured, so `allowed_data_regions` is
 * `["global"]`; it has no organizations (`organization_id: null`) and no free-model quota
 * (`free_model_daily_requests` is all `-1`: no cap, not counted); `rate_limit` is the gateway's
 * per-key limit (`requests: -1` when it is off).
 */
export function keyApiRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.get("/api/v1/key", async (c) => {
    const key = await authenticateKey(c, deps);
    // The caller's own key: everything the management API shows of it but its hash.
    const { hash: _hash, ...view } = keyView(key, deps.clock());
    const perMinute = deps.config.gateway.rateLimit;
    return c.json({
      data: {
        ...view,
        is_free_tier: false,
        is_management_key: key.isManagement,
        is_provisioning_key: key.isManagement,
        allowed_data_regions: ["global"],
        organization_id: null,
        free_model_daily_requests: { limit: -1, remaining: -1, used: -1 },
        rate_limit: {
          requests: perMinute > 0 ? perMinute : -1,
          interval: "1m",
          note: "Chat completions per key and minute; -1 when the gateway does not limit them.",
        },
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
