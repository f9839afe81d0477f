import type { Clock } from "../clock.js";
import { KeyportError } from "./errors.js";

/** Past this many windows the map is swept of finished ones, at most once a second. */
const SWEEP_AT = 10_000;
/** At most this many windows are kept, whatever arrives. */
const MAX_WINDOWS = 100_000;

/** One rate limit: counts an attempt, or throws a `429` with `Retry-After` past the limit. */
export interface RateLimiter {
  /** Resolves (or returns) when the attempt is within the limit; decided before a body is read. */
  hit(key: string): void | Promise<void>;
}

/** Which limit a counter belongs to; shared stores keep each under its own prefix. */
export type RateLimitName = "sign-in" | "sign-up" | "exchange" | "gateway" | "password-reset";

/**
 * Where the server's rate limits count: in this process (SQLite, one server per file), or in a
 * store every instance shares (PostgreSQL or Redis, see `shared-rate-limit.ts`).
 */
export interface RateLimits {
  /** A limit of `perMinute` attempts per key and minute; `what` names it in the `429`. */
  limit(name: RateLimitName, perMinute: number, what: string): RateLimiter;
}

/**
 * Rate limits counted in this process: right for one server per SQLite file, and the fallback
 * of a shared store that cannot be reached.
 * @example
 * const limit = memoryRateLimits(systemClock).limit("sign-in", 10, "sign-in");
 */
export function memoryRateLimits(clock: Clock): RateLimits {
  return { limit: (_name, perMinute, what) => new MemoryRateLimiter(perMinute, clock, what) };
}

/** The `429` a limit answers with: OpenRouter's error body, `Retry-After` in whole seconds. */
export function tooManyAttempts(what: string, retryAfterMs: number): KeyportError {
  const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new KeyportError(429, `Too many ${what} attempts; try again in ${retryAfter} s`, {
    "Retry-After": String(retryAfter),
  });
}

/**
 * Counts attempts per key (a client address) in fixed one-minute windows. In-process: each
 * server instance limits on its own, which bounds abuse per instance without a shared store.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private lastSweep = 0;

  constructor(
    private readonly perMinute: number,
    private readonly clock: Clock,
    private readonly what: string,
  ) {}

  /** Counts one attempt; throws a `429` with `Retry-After` once the window is full. */
  hit(key: string): void {
    const now = this.clock().getTime();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      const size = this.windows.size;
      if (size >= MAX_WINDOWS || (size >= SWEEP_AT && now - this.lastSweep >= 1000)) {
        this.sweep(now);
      }
      window = { count: 0, resetAt: now + 60_000 };
      this.windows.set(key, window);
    }
    window.count += 1;
    if (window.count > this.perMinute) throw tooManyAttempts(this.what, window.resetAt - now);
  }

  /**
   * Drops finished windows; if a flood of distinct addresses still fills the map, the oldest
   * windows go too, so memory stays bounded (those clients merely start a fresh minute).
   */
  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
    // Down to 90%, so a sustained flood pays for a sweep once per 10 000 new addresses.
    for (const key of this.windows.keys()) {
      if (this.windows.size < MAX_WINDOWS * 0.9) break;
      this.windows.delete(key);
    }
  }
}
