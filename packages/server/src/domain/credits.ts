/** Credits are stored as integer millionths so that sums and limits are exact. */
export const MICROS_PER_CREDIT = 1_000_000;

/** Credits (a decimal number) to stored micro-credits. */
export function toMicros(credits: number): number {
  return Math.round(credits * MICROS_PER_CREDIT);
}

/** Stored micro-credits back to credits. */
export function fromMicros(micros: number): number {
  return micros / MICROS_PER_CREDIT;
}

/** The windows a key's limit may reset on, as OpenRouter names them. */
export type LimitReset = "daily" | "weekly" | "monthly";

/** Narrows an untrusted limit-reset name. */
export function isLimitReset(value: unknown): value is LimitReset {
  return value === "daily" || value === "weekly" || value === "monthly";
}

const DAY_MS = 86_400_000;

/** Where each usage window that contains `now` began (ms since the epoch, UTC). */
export interface WindowStarts {
  readonly day: number;
  readonly week: number;
  readonly month: number;
}

/**
 * The UTC day, week (from Monday, as OpenRouter counts) and calendar month `now` falls in.
 * @example
 * windowStarts(new Date("2026-11-27T15:00:00Z")); // Friday: week from Mon 2026-11-23T00:00Z
 */
export function windowStarts(now: Date): WindowStarts {
  const day = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const sinceMonday = (now.getUTCDay() + 6) % 7;
  return {
    day,
    week: day - sinceMonday * DAY_MS,
    month: Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1),
  };
}

/**
 * A key's spend per window, as stored: each counter holds the usage of the window that began at
 * its `*Start`. A counter whose window is over reads as zero; the next settle restarts it.
 */
export interface UsageCounters {
  readonly dayStart: number;
  readonly dayMicros: number;
  readonly weekStart: number;
  readonly weekMicros: number;
  readonly monthStart: number;
  readonly monthMicros: number;
}

/** Spend in the current day, week and month, in micro-credits. */
export interface WindowUsage {
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
}

/** Reads the counters at `now`: a window that has rolled over counts zero. */
export function usageInWindows(counters: UsageCounters, now: Date): WindowUsage {
  const starts = windowStarts(now);
  return {
    daily: counters.dayStart === starts.day ? counters.dayMicros : 0,
    weekly: counters.weekStart === starts.week ? counters.weekMicros : 0,
    monthly: counters.monthStart === starts.month ? counters.monthMicros : 0,
  };
}

/**
 * What a key's `limit` is compared with: usage in the current window for a resetting limit,
 * lifetime usage otherwise.
 */
export function usageAgainstLimit(
  key: {
    readonly limitReset: LimitReset | null;
    readonly usageMicros: number;
    readonly counters: UsageCounters;
  },
  now: Date,
): number {
  if (key.limitReset === null) return key.usageMicros;
  const windows = usageInWindows(key.counters, now);
  return key.limitReset === "daily"
    ? windows.daily
    : key.limitReset === "weekly"
      ? windows.weekly
      : windows.monthly;
}
