import { fromMicros } from "../domain/credits.js";
import type { ServiceDeps } from "./deps.js";

const DAY_MS = 86_400_000;
/** How many UTC days the usage page shows, today included. */
const USAGE_DAYS = 30;
/** Series beyond this many are added up as one "Other", so the chart stays readable. */
const MAX_SERIES = 8;

/** One line of the chart (a key or a model): its name and its spend per day, in credits. */
export interface UsageSeries {
  readonly name: string;
  readonly credits: readonly number[];
  readonly total: number;
}

/** The account's daily spend over the last 30 UTC days, split by key and by model. */
export interface UsageOverview {
  /** Each day's start (UTC midnight), oldest first. */
  readonly days: readonly Date[];
  readonly byKey: readonly UsageSeries[];
  readonly byModel: readonly UsageSeries[];
  readonly requests: number;
  readonly totalCredits: number;
}

/**
 * The usage page's data: spend per UTC day for the last 30 days (today included), by key (its
 * label; revoked keys included) and by model, the biggest series first.
 * @example
 * const { days, byKey } = await usageOverview(deps, user.id);
 */
export async function usageOverview(deps: ServiceDeps, userId: string): Promise<UsageOverview> {
  const now = deps.clock();
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const from = today - (USAGE_DAYS - 1) * DAY_MS;
  const days = Array.from({ length: USAGE_DAYS }, (_, i) => new Date(from + i * DAY_MS));
  const [rows, keys] = await Promise.all([
    deps.store.dailyUsage(userId, new Date(from), new Date(today + DAY_MS)),
    deps.store.accountKeys(userId),
  ]);
  const labelOf = new Map(keys.map((key) => [key.hash, key.label]));
  // Two keys may share a label: the hash's start tells them apart.
  const keyName = (hash: string) => `${labelOf.get(hash) ?? "Deleted key"} (${hash.slice(0, 6)})`;
  const byKey = new Map<string, number[]>();
  const byModel = new Map<string, number[]>();
  let requests = 0;
  for (const row of rows) {
    const index = Math.round((row.day.getTime() - from) / DAY_MS);
    add(byKey, keyName(row.keyHash), index, row.costMicros);
    add(byModel, row.model, index, row.costMicros);
    requests += row.requests;
  }
  const byKeySeries = toSeries(byKey);
  return {
    days,
    byKey: byKeySeries,
    byModel: toSeries(byModel),
    requests,
    totalCredits: byKeySeries.reduce((sum, series) => sum + series.total, 0),
  };
}

function add(series: Map<string, number[]>, name: string, day: number, micros: number) {
  const values = series.get(name) ?? new Array<number>(USAGE_DAYS).fill(0);
  values[day] = (values[day] ?? 0) + micros;
  series.set(name, values);
}

/** Micro-credits to credits, biggest total first, the tail folded into "Other". */
function toSeries(series: Map<string, number[]>): UsageSeries[] {
  const sorted = [...series]
    .map(([name, micros]) => ({ name, micros, total: micros.reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
  const kept = sorted.slice(0, MAX_SERIES - 1);
  const rest = sorted.slice(MAX_SERIES - 1);
  if (rest.length === 1) kept.push(...rest);
  else if (rest.length > 1) {
    const micros = new Array<number>(USAGE_DAYS).fill(0);
    for (const item of rest) {
      for (const [i, value] of item.micros.entries()) micros[i] = (micros[i] ?? 0) + value;
    }
    kept.push({ name: `Other (${rest.length})`, micros, total: micros.reduce((a, b) => a + b, 0) });
  }
  return kept.map(({ name, micros, total }) => ({
    name,
    credits: micros.map(fromMicros),
    total: fromMicros(total),
  }));
}
