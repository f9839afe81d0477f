import type { Clock } from "../clock.js";
import { KeyportError } from "./errors.js";

/**
 * Counts attempts per key (a client address) in fixed one-minute windows. In-process: each
 * server instance limits on its own, which bounds abuse per instance without a shared store.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

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
      if (this.windows.size > 10_000) this.sweep(now);
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

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }
}
