import { describe, expect, it } from "vitest";
import { newRequestId } from "../../src/domain/request-ids.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("newRequestId: time-ordered UUIDs (version 7)", () => {
  it("is a UUID of version 7 whose first 48 bits are the time in milliseconds", () => {
    const now = Date.parse("2026-12-03T07:00:00.123Z");
    const id = newRequestId(now);
    expect(id).toMatch(UUID_V7);
    expect(Number.parseInt(id.replace("-", "").slice(0, 12), 16)).toBe(now);
  });

  it("sorts by time, so records keyed by it are appended to their index", () => {
    const ids = [0, 1, 2, 1000, 86_400_000].map((offset) =>
      newRequestId(1_790_000_000_000 + offset),
    );
    expect([...ids].sort()).toEqual(ids);
  });

  it("is unique: 100,000 ids in the same millisecond never repeat", () => {
    const ids = new Set(Array.from({ length: 100_000 }, () => newRequestId(1_790_000_000_000)));
    expect(ids.size).toBe(100_000);
  });
});
