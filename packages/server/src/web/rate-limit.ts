import type { Clock } from "../clock.js";
import { KeyportError } from "./errors.js";

/** Past this many windows the map is swept of finished ones, at most once a second. */
const SWEEP_AT = 10_000;
/** At most this many windows are kept, whatever arrives. */
const MAX_WINDOWS = 100_000;

/**
 * Counts attempts per key (a client address) in fixed one-minute windows. In-process: each
 * server instance limits on its own, which bounds abuse per instance without a shared store.
 */
export class RateLimiter {
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
    if (window.count > this.perMinute) {
      const retryAfter = Math.max(1, Math.ceil((window.resetAt - now) / 1000));
      throw new KeyportError(429, `Too many ${this.what} attempts; try again in ${retryAfter} s`, {
        "Retry-After": String(retryAfter),
      });
    }
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
