import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/index.js";
import type { Settlement } from "../../src/store/store.js";
import { dialects, type TestDatabase } from "../support/databases.js";

const T0 = new Date("2026-11-27T10:00:00Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const hex = () => randomBytes(32).toString("hex");

describe.each(dialects)("reservation leases ($name)", (dialect) => {
  let database: TestDatabase;
  let store: Store;

  beforeAll(async () => {
    database = await dialect.fresh();
    store = await openStore(database.url);
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  async function keyWithLimit(limitMicros: number): Promise<string> {
    const userId = `user_${hex().slice(0, 12)}`;
    await store.createUser({
      id: userId,
      email: `${userId}@example.test`,
      passwordHash: "x",
      createdAt: T0,
    });
    const code = {
      codeHash: hex(),
      userId,
      codeChallenge: null,
      codeChallengeMethod: null,
      callbackUrl: null,
      keyLabel: "leases",
      limitMicros,
      limitReset: null,
      keyExpiresAt: null,
      createdAt: T0,
      expiresAt: at(10),
    };
    await store.createCode(code);
    const hash = hex();
    await store.redeemCode(code.codeHash, hash, T0, () => ({
      userId,
      label: "leases",
      limitMicros,
      limitReset: null,
      expiresAt: null,
      createdAt: T0,
    }));
    return hash;
  }

  function settlement(
    keyHash: string,
    id: string,
    reservedMicros: number,
    cost: number,
  ): Settlement {
    return {
      reservedMicros,
      settledAt: at(90),
      record: {
        id,
        keyHash,
        model: "keyport/echo",
        upstream: "keyport",
        streamed: false,
        status: 200,
        promptTokens: 1,
        completionTokens: 1,
        costMicros: cost,
        usageEstimated: false,
        durationMs: 1,
        createdAt: T0,
      },
    };
  }

  const reserved = async (hash: string) => (await store.findKey(hash))?.reservedMicros;

  it.runIf(dialect.name === "postgres")(
    "a crashed instance's reservation is released once its lease expires, exactly once",
    async () => {
      const hash = await keyWithLimit(1_000);
      expect(await store.reserveBudget(hash, 300, T0, "lease-a")).toBe(true);
      expect(await store.reserveBudget(hash, 200, at(30), "lease-b")).toBe(true);
      // Room for 500 more only: the two reservations hold the rest.
      expect(await store.reserveBudget(hash, 600, at(30), "lease-c")).toBe(false);

      expect(await store.expireLeases(at(59))).toBe(0);
      expect(await reserved(hash)).toBe(500);
      // Past the first lease only: its 300 come back, the live one stays held.
      expect(await store.expireLeases(at(61))).toBe(1);
      expect(await reserved(hash)).toBe(200);

      // The request behind the expired lease settles after all: it bills, but does not release
      // the 300 a second time (which would free budget the live reservation still needs).
      await store.settleRequest(settlement(hash, "lease-a", 300, 250));
      expect(await reserved(hash)).toBe(200);
      await store.settleRequest(settlement(hash, "lease-b", 200, 100));
      expect(await reserved(hash)).toBe(0);
      expect((await store.findKey(hash))?.usageMicros).toBe(350);
      expect(await store.expireLeases(at(200))).toBe(0);
    },
  );

  it("a settle releases exactly what its request reserved", async () => {
    const hash = await keyWithLimit(1_000);
    expect(await store.reserveBudget(hash, 400, T0, "lease-x")).toBe(true);
    expect(await reserved(hash)).toBe(400);
    await store.settleRequest(settlement(hash, "lease-x", 400, 10));
    expect(await reserved(hash)).toBe(0);
    expect((await store.findKey(hash))?.usageMicros).toBe(10);
  });
});
