import { fromMicros, usageAgainstLimit, usageInWindows } from "../domain/credits.js";
import type { StoredKey } from "../store/store.js";

/**
 * A key as OpenRouter's key-management API describes it (`GET /api/v1/keys` and friends), every
 * field its SDK reads present. Keyport stores one name per key, so `name` and `label` are the
 * same. It has no BYOK, so `byok_usage*` are `0`; no organizations and no per-end-user keys, so
 * `external_user` is `null`; and every account is its own single workspace, so `workspace_id` is
 * the account's id, as is `creator_user_id` (an account only ever creates its own keys).
 */
export function keyView(key: StoredKey, now: Date) {
  const windows = usageInWindows(key.counters, now);
  return {
    hash: key.hash,
    name: key.label,
    label: key.label,
    disabled: key.disabled,
    limit: key.limitMicros === null ? null : fromMicros(key.limitMicros),
    limit_remaining:
      key.limitMicros === null
        ? null
        : // Reservations of requests in flight are spoken for: a call that needs them gets `402`.
          fromMicros(
            Math.max(0, key.limitMicros - usageAgainstLimit(key, now) - key.reservedMicros),
          ),
    limit_reset: key.limitReset,
    include_byok_in_limit: false,
    usage: fromMicros(key.usageMicros),
    usage_daily: fromMicros(windows.daily),
    usage_weekly: fromMicros(windows.weekly),
    usage_monthly: fromMicros(windows.monthly),
    byok_usage: 0,
    byok_usage_daily: 0,
    byok_usage_weekly: 0,
    byok_usage_monthly: 0,
    created_at: key.createdAt.toISOString(),
    updated_at: null,
    expires_at: key.expiresAt?.toISOString() ?? null,
    creator_user_id: key.userId,
    external_user: null,
    workspace_id: key.userId,
  };
}
