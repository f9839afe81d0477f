import { describe, expect, it } from "vitest";
import { mintKey } from "../../src/domain/keys.js";
import { pooledRandomBytes } from "../../src/domain/random-pool.js";

describe("DESIGN invariant 6: keys from the CSPRNG, drawn in batches (issue 15)", () => {
  it("hands out each byte once: 1,000 draws of 32 bytes across several refills are all distinct and none is zeroed", () => {
    const draws = Array.from({ length: 1_000 }, () => pooledRandomBytes(32).toString("hex"));
    expect(new Set(draws).size).toBe(draws.length);
    expect(draws.every((hex) => hex.length === 64 && hex !== "0".repeat(64))).toBe(true);
  });

  it("a drawn buffer is the caller's own: the next draws leave it unchanged", () => {
    const first = pooledRandomBytes(32);
    const copy = Buffer.from(first);
    for (let i = 0; i < 300; i++) pooledRandomBytes(32);
    expect(first.equals(copy)).toBe(true);
  });

  it("refuses a draw larger than the pool", () => {
    expect(() => pooledRandomBytes(1 << 20)).toThrow(RangeError);
  });

  it("minted keys keep their shape and differ", () => {
    const keys = Array.from({ length: 300 }, () => mintKey().key);
    expect(new Set(keys).size).toBe(300);
    for (const key of keys) expect(key).toMatch(/^sk-kp-v1-[0-9a-f]{64}$/);
  });
});
