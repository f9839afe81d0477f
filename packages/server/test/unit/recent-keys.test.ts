import { describe, expect, it } from "vitest";
import { RECENT_KEY_MS, RecentKeys } from "../../src/store/recent-keys.js";
import type { KeyAdmission } from "../../src/store/store.js";

function admission(hash: string, revoked = false): KeyAdmission {
  return {
    hash,
    userId: "user_1",
    limitMicros: null,
    expiresAt: null,
    isManagement: false,
    disabled: false,
    revokedAt: revoked ? new Date(0) : null,
  };
}

/** A cache on a hand-moved clock, and a database stand-in that counts its reads. */
function setUp() {
  let now = 0;
  const recent = new RecentKeys(() => now);
  const stored = new Map<string, KeyAdmission>([["a", admission("a")]]);
  let reads = 0;
  const load = async (hash: string) => {
    reads += 1;
    return stored.get(hash);
  };
  return {
    recent,
    stored,
    load,
    reads: () => reads,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe("RecentKeys: the gateway's key admissions, read again at most every 500 ms", () => {
  it("serves a key read less than RECENT_KEY_MS ago, and reads it again after", async () => {
    const { recent, stored, load, reads, advance } = setUp();
    expect((await recent.read("a", load))?.revokedAt).toBeNull();
    stored.set("a", admission("a", true));
    advance(RECENT_KEY_MS - 1);
    expect((await recent.read("a", load))?.revokedAt).toBeNull();
    expect(reads()).toBe(1);
    advance(1);
    expect((await recent.read("a", load))?.revokedAt).not.toBeNull();
    expect(reads()).toBe(2);
  });

  it("forgetAll: the next read goes to the database at once", async () => {
    const { recent, stored, load, reads } = setUp();
    await recent.read("a", load);
    stored.set("a", admission("a", true));
    recent.forgetAll();
    expect((await recent.read("a", load))?.revokedAt).not.toBeNull();
    expect(reads()).toBe(2);
  });

  it("a read that began before a change is not kept after it", async () => {
    const { recent, stored, reads } = setUp();
    let finish: () => void = () => {};
    const slow = (hash: string) =>
      new Promise<KeyAdmission | undefined>((resolve) => {
        const before = stored.get(hash);
        finish = () => resolve(before);
      });
    const reading = recent.read("a", slow);
    stored.set("a", admission("a", true));
    recent.forgetAll();
    finish();
    expect((await reading)?.revokedAt).toBeNull();
    const counted = async (hash: string) => stored.get(hash);
    expect((await recent.read("a", counted))?.revokedAt).not.toBeNull();
    expect(reads()).toBe(0);
  });

  it("keeps no unknown key: a flood of made-up keys reaches the database each time", async () => {
    const { recent, load, reads } = setUp();
    for (let i = 0; i < 3; i++) expect(await recent.read("missing", load)).toBeUndefined();
    expect(reads()).toBe(3);
  });

  it("holds at most 10,000 keys, dropping the oldest first", async () => {
    const { recent } = setUp();
    let reads = 0;
    const any = async (hash: string) => {
      reads += 1;
      return admission(hash);
    };
    for (let i = 0; i <= 10_000; i++) await recent.read(`k${i}`, any);
    expect(reads).toBe(10_001);
    await recent.read("k10000", any);
    await recent.read("k1", any);
    expect(reads).toBe(10_001);
    await recent.read("k0", any);
    expect(reads).toBe(10_002);
  });
});
