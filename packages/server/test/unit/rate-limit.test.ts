import { describe, expect, it } from "vitest";
import { addressBlock } from "../../src/web/client-address.js";
import { KeyportError } from "../../src/web/errors.js";
import { MemoryRateLimiter } from "../../src/web/rate-limit.js";

describe("addressBlock", () => {
  it("keeps IPv4 (and IPv4-mapped IPv6) addresses whole", () => {
    expect(addressBlock("203.0.113.9")).toBe("203.0.113.9");
    expect(addressBlock("::ffff:203.0.113.9")).toBe("203.0.113.9");
  });

  it("reduces IPv6 addresses to their /64, however they are written", () => {
    expect(addressBlock("2001:db8:0:1::1")).toBe("2001:db8:0:1::/64");
    expect(addressBlock("2001:0db8:0000:0001:abcd:0:0:9")).toBe("2001:db8:0:1::/64");
    expect(addressBlock("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressBlock("::1")).toBe("0:0:0:0::/64");
  });

  it("leaves anything else as it is", () => {
    expect(addressBlock("unknown")).toBe("unknown");
  });
});

describe("MemoryRateLimiter", () => {
  it("refuses past the limit with 429 and Retry-After, and resets after the minute", () => {
    let now = 0;
    const limiter = new MemoryRateLimiter(2, () => new Date(now), "test");
    limiter.hit("a");
    limiter.hit("a");
    try {
      limiter.hit("a");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(KeyportError);
      expect((error as KeyportError).status).toBe(429);
      expect((error as KeyportError).headers["Retry-After"]).toBe("60");
    }
    limiter.hit("b");
    now = 60_000;
    limiter.hit("a");
  });

  it("keeps memory bounded under a flood of distinct addresses", () => {
    const limiter = new MemoryRateLimiter(1, () => new Date(0), "test");
    for (let i = 0; i < 150_000; i++) limiter.hit(`client-${i}`);
    const windows = (limiter as unknown as { windows: Map<string, unknown> }).windows;
    expect(windows.size).toBeLessThanOrEqual(100_000);
    // The newest clients are still counted.
    expect(() => limiter.hit("client-149999")).toThrow(KeyportError);
  });
});
