import { afterEach, describe, expect, it, vi } from "vitest";
import { KeyportError } from "../../src/web/errors.js";
import { openSharedRateLimits, type SharedRateLimits } from "../../src/web/shared-rate-limit.js";

describe("shared rate limits when the store cannot be reached", () => {
  let limits: SharedRateLimits | undefined;
  afterEach(async () => {
    await limits?.close();
    vi.restoreAllMocks();
  });

  it("SQLite without Redis counts in memory (one server per file)", async () => {
    const opened = await openSharedRateLimits({
      database: "keyport.sqlite",
      redisUrl: undefined,
      redisPrefix: "keyport:",
      clock: () => new Date(0),
    });
    expect(opened).toBeUndefined();
  });

  it("an unreachable Redis: limits still hold, per instance, with one warning", async () => {
    const warnings = vi.spyOn(console, "error").mockImplementation(() => {});
    limits = await openSharedRateLimits({
      database: "keyport.sqlite",
      // Nothing listens on port 1: every command fails at once.
      redisUrl: "redis://127.0.0.1:1",
      redisPrefix: "keyport-unit:",
      clock: () => new Date(0),
    });
    const limit = limits?.limit("sign-in", 2, "sign-in");
    await limit?.hit("203.0.113.9");
    await limit?.hit("203.0.113.9");
    const refused = await Promise.resolve(limit?.hit("203.0.113.9")).catch((error) => error);
    expect(refused).toBeInstanceOf(KeyportError);
    expect((refused as KeyportError).status).toBe(429);
    expect((refused as KeyportError).headers["Retry-After"]).toBe("60");
    const messages = warnings.mock.calls.map((call) => String(call[0]));
    expect(
      messages.filter((message) => /rate limits cannot reach Redis/.test(message)),
    ).toHaveLength(1);
  });
});
