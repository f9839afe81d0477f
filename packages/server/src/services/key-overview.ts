import { usageInWindows } from "../domain/credits.js";
import type { KeyOrigin } from "../domain/key-origin.js";
import type { StoredKey } from "../store/store.js";
import type { ServiceDeps } from "./deps.js";

const DAY_MS = 86_400_000;
/** The dashboard's "recent" usage window. */
const RECENT_DAYS = 30;

/** One key as the dashboard lists it: the key and what its requests add up to. */
export interface KeyOverview {
  readonly key: StoredKey;
  readonly todayMicros: number;
  /** Spend in the last {@link RECENT_DAYS} days (a rolling window, not the calendar month). */
  readonly recentMicros: number;
  readonly lastUsedAt: Date | null;
}

/** An app that got keys through the PKCE flow, by its callback origin. */
export interface ConnectedApp {
  readonly origin: string;
  /** Its live keys' labels, in alphabetical order. */
  readonly labels: readonly string[];
  readonly keys: number;
  readonly lastUsedAt: Date | null;
}

/**
 * The account's live keys (not revoked; disabled and management keys included), oldest first,
 * each with its spend today, in the last 30 days and in total, and when it was last used.
 * @example
 * const keys = await keyOverview(deps, user.id);
 */
export async function keyOverview(deps: ServiceDeps, userId: string): Promise<KeyOverview[]> {
  const now = deps.clock();
  const [keys, uses] = await Promise.all([
    deps.store.listKeys(userId, {
      offset: 0,
      limit: 1000,
      includeDisabled: true,
      includeManagement: true,
    }),
    deps.store.keyUse(userId, new Date(now.getTime() - RECENT_DAYS * DAY_MS)),
  ]);
  const useOf = new Map(uses.map((use) => [use.keyHash, use]));
  return keys.map((key) => {
    const use = useOf.get(key.hash);
    return {
      key,
      todayMicros: usageInWindows(key.counters, now).daily,
      recentMicros: use?.sinceMicros ?? 0,
      lastUsedAt: use?.lastUsedAt ?? null,
    };
  });
}

/** The apps among the keys, by callback origin, the most recently used first. */
export function connectedApps(keys: readonly KeyOverview[]): ConnectedApp[] {
  const apps = new Map<string, { labels: string[]; lastUsedAt: Date | null }>();
  for (const { key, lastUsedAt } of keys) {
    const origin = appOf(key.origin);
    if (origin === undefined) continue;
    const app = apps.get(origin) ?? { labels: [], lastUsedAt: null };
    app.labels.push(key.label);
    if (lastUsedAt && (!app.lastUsedAt || lastUsedAt > app.lastUsedAt)) app.lastUsedAt = lastUsedAt;
    apps.set(origin, app);
  }
  return [...apps]
    .map(([origin, app]) => ({
      origin,
      keys: app.labels.length,
      labels: app.labels.sort((a, b) => a.localeCompare(b)),
      lastUsedAt: app.lastUsedAt,
    }))
    .sort((a, b) => (b.lastUsedAt?.getTime() ?? 0) - (a.lastUsedAt?.getTime() ?? 0));
}

function appOf(origin: KeyOrigin | null): string | undefined {
  return origin?.via === "app" ? origin.app : undefined;
}
