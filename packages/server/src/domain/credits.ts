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
