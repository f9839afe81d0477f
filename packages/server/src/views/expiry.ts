const DAY = 86_400_000;
/** Each unit, its size, and from how far on it is used (days up to 60, so "in 30 days"). */
const UNITS: readonly [Intl.RelativeTimeFormatUnit, number, number][] = [
  ["year", 365 * DAY, 365 * DAY],
  ["month", 30 * DAY, 60 * DAY],
  ["day", DAY, DAY],
  ["hour", 3_600_000, 3_600_000],
  ["minute", 60_000, 60_000],
];

/**
 * How far `when` is from `now`, in words a person reads at a glance ("in 30 days", "in 2
 * hours"): the largest unit that fits, rounded down so it never sounds later than it is.
 * @example
 * inWords(new Date("2026-01-31T00:00:00Z"), new Date("2026-01-01T00:00:00Z")) // "in 30 days"
 */
export function inWords(when: Date, now: Date): string {
  const ms = when.getTime() - now.getTime();
  const format = new Intl.RelativeTimeFormat("en", { numeric: "always" });
  for (const [unit, size, from] of UNITS) {
    if (ms >= from) return format.format(Math.floor(ms / size), unit);
  }
  return "in less than a minute";
}
