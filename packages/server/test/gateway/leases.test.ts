import { describe, expect, it } from "vitest";
import type { Settlement } from "../../src/store/store.js";
import { dialects } from "../support/databases.js";
import { seedKey } from "../support/seed-key.js";
import { useStore } from "../support/use-store.js";

const T0 = new Date("2026-11-27T10:00:00Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

describe.each(dialects)("reservation leases ($name)", (dialect) => {
  const opened = useStore(dialect);

  const keyWithLimit = async (limitMicros: number) =>
    (await seedKey(opened.store, { limitMicros, label: "leases", now: T0 })).key.hash;

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
        overrunMicros: 0,
        usageEstimated: false,
        durationMs: 1,
        createdAt: T0,
      },
    };
  }

  const reserved = async (hash: string) => (await opened.store.findKey(hash))?.reservedMicros;
  const usage = async (hash: string) => (await opened.store.findKey(hash))?.usageMicros;

  /** A reservation made at `now` whose lease lasts an hour unless renewed. */
  function reservation(keyHash: string, micros: number, now: Date, id: string) {
    return {
      id,
      keyHash,
      micros,
      model: "keyport/echo",
      upstream: "keyport",
      streamed: true,
      createdAt: now,
      leaseExpiresAt: new Date(now.getTime() + 60 * 60_000),
    };
  }
  const reserve = (keyHash: string, micros: number, now: Date, id: string) =>
    opened.store.reserveBudget(reservation(keyHash, micros, now, id));

  it.runIf(dialect.name === "postgres")(
    "a crashed instance's reservation is released once its lease expires, exactly once",
    async () => {
      const hash = await keyWithLimit(1_000);
      expect(await reserve(hash, 300, T0, "lease-a")).toBe(true);
      expect(await reserve(hash, 200, at(30), "lease-b")).toBe(true);
      // Room for 500 more only: the two reservations hold the rest.
      expect(await reserve(hash, 600, at(30), "lease-c")).toBe(false);
      // lease-a's stream checkpoints 40 delivered.
      expect(
        await opened.store.renewLeases(
          [{ reservation: reservation(hash, 300, T0, "lease-a"), deliveredMicros: 40 }],
          at(60),
        ),
      ).toEqual([]);

      expect(await opened.store.expireLeases(at(59))).toBe(0);
      expect(await reserved(hash)).toBe(500);
      // Past the first lease only: its 300 come back, what it delivered is billed, the live one
      // stays held.
      expect(await opened.store.expireLeases(at(61))).toBe(1);
      expect(await reserved(hash)).toBe(200);
      expect(await usage(hash)).toBe(40);
      // Renewing a lease that is gone says so.
      expect(
        await opened.store.renewLeases(
          [{ reservation: reservation(hash, 300, T0, "lease-a"), deliveredMicros: 80 }],
          at(120),
        ),
      ).toEqual(["lease-a"]);

      // The request behind the expired lease settles after all: it does not release the 300 a
      // second time (which would free budget the live reservation still needs), and charges
      // nothing past its checkpoint: its budget went back to the key. The rest is overrun.
      await opened.store.settleRequest(settlement(hash, "lease-a", 300, 250));
      expect(await reserved(hash)).toBe(200);
      expect(await usage(hash)).toBe(40);
      await opened.store.settleRequest(settlement(hash, "lease-b", 200, 100));
      expect(await reserved(hash)).toBe(0);
      expect(await usage(hash)).toBe(140);
      expect(await opened.store.expireLeases(at(200))).toBe(0);
      const overruns = await opened.store.listOverruns(10);
      expect(overruns.map((r) => [r.id, r.costMicros, r.overrunMicros])).toContainEqual([
        "lease-a",
        40,
        210,
      ]);
    },
  );

  it("a settle releases exactly what its request reserved", async () => {
    const hash = await keyWithLimit(1_000);
    expect(await reserve(hash, 400, T0, "lease-x")).toBe(true);
    expect(await reserved(hash)).toBe(400);
    await opened.store.settleRequest(settlement(hash, "lease-x", 400, 10));
    expect(await reserved(hash)).toBe(0);
    expect((await opened.store.findKey(hash))?.usageMicros).toBe(10);
  });

  it("a start-up on a SQLite file bills each dead stream's last checkpoint and frees the rest", async () => {
    const hash = await keyWithLimit(1_000);
    expect(await reserve(hash, 300, T0, "dead-a")).toBe(true);
    expect(await reserve(hash, 200, T0, "dead-b")).toBe(true);
    await opened.store.renewLeases(
      [
        { reservation: reservation(hash, 300, T0, "dead-a"), deliveredMicros: 70 },
        // More than reserved is never billed.
        { reservation: reservation(hash, 200, T0, "dead-b"), deliveredMicros: 900 },
      ],
      at(60),
    );
    // What a SQLite start-up does; on PostgreSQL only expired leases end this way.
    if (dialect.name === "sqlite") await opened.store.releaseReservations(at(5));
    else await opened.store.expireLeases(at(61));
    expect(await reserved(hash)).toBe(0);
    expect(await usage(hash)).toBe(270);
    const records = await opened.store.listRequests(hash, 10);
    expect(records.map((r) => [r.id, r.status, r.costMicros]).sort()).toEqual([
      ["dead-a", 500, 70],
      ["dead-b", 500, 200],
    ]);
  });
});
