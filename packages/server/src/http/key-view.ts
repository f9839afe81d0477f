import { fromMicros, usageAgainstLimit, usageInWindows } from "../domain/credits.js";
import type { StoredKey } from "../store/store.js";

/**
 * A key as OpenRouter's key-management API describes it (`GET /api/v1/keys` and friends).
 * Keyport stores one name per key, so `name` and `label` are the same.
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
    created_at: key.createdAt.toISOString(),
    updated_at: null,
    expires_at: key.expiresAt?.toISOString() ?? null,
  };
}
