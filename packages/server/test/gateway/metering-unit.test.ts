import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Meter, type MeteredOutcome, type Reservation } from "../../src/gateway/metering.js";
import { systemClock } from "../../src/index.js";
import { KeyportError } from "../../src/web/errors.js";
import { dialects } from "../support/databases.js";
import { rawQuery } from "../support/raw-sql.js";
import { seedKey } from "../support/seed-key.js";
import { useStore } from "../support/use-store.js";

const hex = (bytes = 32) => randomBytes(bytes).toString("hex");
const credits = (micros: number) => micros / 1_000_000;

/** The error `action` throws, which must be a `KeyportError`. */
async function refusal(action: () => unknown): Promise<KeyportError> {
  try {
    await action();
  } catch (error) {
    expect(error).toBeInstanceOf(KeyportError);
    return error as KeyportError;
  }
  throw new Error("expected a refusal");
}

const outcome = (costMicros: number, status = 200): MeteredOutcome => ({
  status,
  usage: { promptTokens: 10, completionTokens: 5, estimated: false },
  costMicros,
});

describe.each(dialects)("Meter ($name)", (dialect) => {
  const opened = useStore(dialect);
  /** Reservations a test left live, settled after it so no renewal timer outlives it. */
  const live: Reservation[] = [];

  afterEach(async () => {
    for (const reservation of live.splice(0)) await reservation.settle(outcome(0));
    vi.restoreAllMocks();
  });

  /** A key as the code exchange mints it: an account, a code, the code redeemed. */
  const newKey = (limitMicros: number | null = 1_000) =>
    seedKey(opened.store, { limitMicros, label: "metering" });

  const meterOf = (
    settings: { leaseMs?: number; maxInFlightPerKey?: number; answerBeforeSettle?: boolean } = {},
  ) =>
    new Meter(opened.store, systemClock, {
      leaseMs: settings.leaseMs ?? 60_000,
      maxInFlightPerKey: settings.maxInFlightPerKey ?? 2,
      answerBeforeSettle: settings.answerBeforeSettle ?? false,
    });

  async function reserve(meter: Meter, keyHash: string, micros: number): Promise<Reservation> {
    const key = await opened.store.findKey(keyHash);
    if (!key) throw new Error("no such key");
    const reservation = await meter.reserve(key, {
      id: `req_${hex(8)}`,
      micros,
      model: "fake/chat",
      upstream: "fake",
      streamed: true,
    });
    live.push(reservation);
    return reservation;
  }

  const keyState = async (hash: string) => {
    const key = await opened.store.findKey(hash);
    return { usage: key?.usageMicros, reserved: key?.reservedMicros };
  };

  describe("admit", () => {
    it("bounds the requests in flight per key: 429 with Retry-After past the bound", async () => {
      const meter = meterOf({ maxInFlightPerKey: 2 });
      const first = meter.admit("key-a");
      meter.admit("key-a");
      const error = await refusal(() => meter.admit("key-a"));
      expect(error.status).toBe(429);
      expect(error.headers["Retry-After"]).toBe("1");
      // Other keys are not affected.
      meter.admit("key-b");
      meter.admit("key-b");
      // A release makes room for one more, and only one, however often it is called.
      first();
      first();
      first();
      meter.admit("key-a");
      expect((await refusal(() => meter.admit("key-a"))).status).toBe(429);
    });

    it("a bound of 0 is unbounded", () => {
      const meter = meterOf({ maxInFlightPerKey: 0 });
      for (let i = 0; i < 1000; i++) meter.admit("key-a");
    });

    it("a released key starts again from 0", async () => {
      const meter = meterOf({ maxInFlightPerKey: 1 });
      const releases = [meter.admit("key-a")];
      expect((await refusal(() => meter.admit("key-a"))).status).toBe(429);
      for (const release of releases) release();
      meter.admit("key-a")();
      meter.admit("key-a");
    });
  });

  describe("reserve", () => {
    it("holds the reservation against the key", async () => {
      const meter = meterOf();
      const { key } = await newKey(1_000);
      const reservation = await reserve(meter, key.hash, 600);
      expect(reservation.micros).toBe(600);
      expect(reservation.spec.keyHash).toBe(key.hash);
      expect(await keyState(key.hash)).toEqual({ usage: 0, reserved: 600 });
    });

    it("refuses with 402 and metadata; limit_remaining accounts for other reservations", async () => {
      const meter = meterOf();
      const { key } = await newKey(1_000);
      await reserve(meter, key.hash, 600);
      const error = await refusal(() => reserve(meter, key.hash, 500));
      expect(error.status).toBe(402);
      expect(error.metadata).toEqual({
        limit_source: "key",
        limit: credits(1_000),
        limit_reset: null,
        limit_remaining: credits(400),
        reserved: credits(600),
        requested: credits(500),
      });
      expect(error.message).toContain("held by requests in flight");
      // The refusal held nothing.
      expect(await keyState(key.hash)).toEqual({ usage: 0, reserved: 600 });
      // What fits still fits.
      await reserve(meter, key.hash, 400);
    });

    it("counts what was spent in limit_remaining", async () => {
      const meter = meterOf();
      const { key } = await newKey(1_000);
      await (await reserve(meter, key.hash, 500)).settle(outcome(300));
      const error = await refusal(() => reserve(meter, key.hash, 800));
      expect(error.status).toBe(402);
      expect(error.metadata).toMatchObject({ limit_remaining: credits(700), reserved: 0 });
      expect(error.message).not.toContain("held by requests in flight");
    });

    it("refuses a revoked key with 401 and a disabled one with 403", async () => {
      const meter = meterOf();
      const revoked = await newKey(1_000);
      expect(await opened.store.revokeKey(revoked.key.hash, new Date())).toBe(true);
      // `key` is what was authenticated before the key changed.
      const gone = await refusal(() =>
        meter.reserve(revoked.key, {
          id: `req_${hex(8)}`,
          micros: 1,
          model: "m",
          upstream: "u",
          streamed: false,
        }),
      );
      expect(gone.status).toBe(401);

      const disabled = await newKey(1_000);
      await opened.store.updateKey(disabled.userId, disabled.key.hash, { disabled: true });
      const off = await refusal(() =>
        meter.reserve(disabled.key, {
          id: `req_${hex(8)}`,
          micros: 1,
          model: "m",
          upstream: "u",
          streamed: false,
        }),
      );
      expect(off.status).toBe(403);
    });

    it("never overspends when many reserve at once", async () => {
      const meter = meterOf();
      const { key } = await newKey(1_000);
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => reserve(meter, key.hash, 300)),
      );
      const made = results.filter((result) => result.status === "fulfilled");
      expect(made).toHaveLength(3);
      for (const result of results)
        if (result.status === "rejected") expect((result.reason as KeyportError).status).toBe(402);
      expect((await keyState(key.hash)).reserved).toBe(900);
    });
  });

  describe("settle", () => {
    it("charges the cost when it is within the reservation", async () => {
      const log = vi.spyOn(console, "error").mockImplementation(() => {});
      const meter = meterOf();
      const { key } = await newKey(1_000);
      const reservation = await reserve(meter, key.hash, 1_000);
      expect(await reservation.settle(outcome(400))).toEqual({
        chargedMicros: 400,
        overrunMicros: 0,
      });
      expect(await keyState(key.hash)).toEqual({ usage: 400, reserved: 0 });
      const [record] = await opened.store.listRequests(key.hash, 10);
      expect(record).toMatchObject({
        id: reservation.spec.id,
        status: 200,
        costMicros: 400,
        overrunMicros: 0,
        promptTokens: 10,
        completionTokens: 5,
        usageEstimated: false,
        model: "fake/chat",
        upstream: "fake",
        streamed: true,
      });
      expect(meter.overruns).toBe(0);
      expect(log).not.toHaveBeenCalled();
    });

    it("charges at most the reservation and records the rest as an overrun, logged", async () => {
      const log = vi.spyOn(console, "error").mockImplementation(() => {});
      const meter = meterOf();
      const { key } = await newKey(1_000);
      const reservation = await reserve(meter, key.hash, 1_000);
      expect(await reservation.settle(outcome(1_500))).toEqual({
        chargedMicros: 1_000,
        overrunMicros: 500,
      });
      expect(await keyState(key.hash)).toEqual({ usage: 1_000, reserved: 0 });
      const [record] = await opened.store.listRequests(key.hash, 10);
      expect(record).toMatchObject({ costMicros: 1_000, overrunMicros: 500 });
      const overruns = await opened.store.listOverruns(100);
      expect(overruns.find((overrun) => overrun.id === reservation.spec.id)).toMatchObject({
        keyHash: key.hash,
        costMicros: 1_000,
        overrunMicros: 500,
      });
      expect(meter.overruns).toBe(1);
      expect(log).toHaveBeenCalledOnce();
      const line = String(log.mock.calls[0]?.[0]);
      expect(line).toContain("overrun");
      expect(line).toContain(reservation.spec.id);
    });

    it("settles once: a second settle, even a concurrent one, charges nothing", async () => {
      const meter = meterOf();
      const { key } = await newKey(1_000);
      const reservation = await reserve(meter, key.hash, 800);
      const charges = await Promise.all([
        reservation.settle(outcome(300)),
        reservation.settle(outcome(300)),
      ]);
      expect(charges).toEqual([
        { chargedMicros: 300, overrunMicros: 0 },
        { chargedMicros: 0, overrunMicros: 0 },
      ]);
      expect(await reservation.settle(outcome(700))).toEqual({
        chargedMicros: 0,
        overrunMicros: 0,
      });
      expect(await keyState(key.hash)).toEqual({ usage: 300, reserved: 0 });
      expect(await opened.store.listRequests(key.hash, 10)).toHaveLength(1);
    });

    it.runIf(dialect.name === "sqlite")(
      "answer first (a SQLite file): a lone settle resolves at once and is written in the next check phase, before anything later",
      async () => {
        const meter = meterOf({ answerBeforeSettle: true });
        const { key } = await newKey(1_000);
        const reservation = await reserve(meter, key.hash, 800);
        const charge = await reservation.settle(outcome(300), { answerFirst: true });
        expect(charge).toEqual({ chargedMicros: 300, overrunMicros: 0 });
        // Nothing written yet: the answer goes out first.
        expect(await opened.store.listRequests(key.hash, 10)).toHaveLength(0);
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
        expect(await keyState(key.hash)).toEqual({ usage: 300, reserved: 0 });
      },
    );

    it("answer first only for a lone request: with another in flight, the settle is awaited", async () => {
      const meter = meterOf({ answerBeforeSettle: true });
      const { key } = await newKey(1_000);
      const first = await reserve(meter, key.hash, 100);
      const other = await reserve(meter, key.hash, 100);
      await first.settle(outcome(30), { answerFirst: true });
      expect(await opened.store.listRequests(key.hash, 10)).toHaveLength(1);
      await other.settle(outcome(20));
      expect(await keyState(key.hash)).toEqual({ usage: 50, reserved: 0 });
    });

    it("records the status the client got (499 when it left)", async () => {
      const meter = meterOf();
      const { key } = await newKey(null);
      await (await reserve(meter, key.hash, 100)).settle(outcome(50, 499));
      expect((await opened.store.listRequests(key.hash, 1))[0]?.status).toBe(499);
    });
  });

  describe("leases", () => {
    const lease = async (id: string) => {
      const [row] = await rawQuery(
        opened.database,
        "SELECT expires_at, checkpoint_micros FROM reservations WHERE id = ?",
        [id],
      );
      return row
        ? { expiresAt: Number(row.expires_at), checkpoint: Number(row.checkpoint_micros) }
        : undefined;
    };

    it("renews live leases on a timer, with what each request delivered so far", async () => {
      const meter = meterOf({ leaseMs: 600 }); // renewed every 100 ms
      const { key } = await newKey(1_000);
      const before = Date.now();
      const reservation = await reserve(meter, key.hash, 500);
      const id = reservation.spec.id;
      const first = await lease(id);
      if (dialect.name === "sqlite") {
        // SQLite: no lease until something was delivered.
        expect(first).toBeUndefined();
        await sleep(250);
        expect(await lease(id)).toBeUndefined();
      } else {
        // PostgreSQL: the reservation takes its lease at once.
        expect(first?.checkpoint).toBe(0);
        expect(first?.expiresAt).toBeGreaterThanOrEqual(before + 600);
        const renewed = await vi.waitFor(
          async () => {
            const now = await lease(id);
            expect(now?.expiresAt).toBeGreaterThan(first?.expiresAt ?? 0);
            return now;
          },
          { timeout: 2000, interval: 20 },
        );
        expect(renewed?.checkpoint).toBe(0);
      }

      reservation.delivered = () => 123;
      const checkpointed = await vi.waitFor(
        async () => {
          const now = await lease(id);
          expect(now?.checkpoint).toBe(123);
          return now;
        },
        { timeout: 2000, interval: 20 },
      );
      expect(checkpointed?.expiresAt).toBeGreaterThan(before + 600);
      expect(checkpointed?.expiresAt).toBeLessThanOrEqual(Date.now() + 600);

      reservation.delivered = () => 456;
      const later = await vi.waitFor(
        async () => {
          const now = await lease(id);
          expect(now?.checkpoint).toBe(456);
          return now;
        },
        { timeout: 2000, interval: 20 },
      );
      expect(later?.expiresAt).toBeGreaterThan(checkpointed?.expiresAt ?? 0);

      // A checkpoint never exceeds the reservation.
      reservation.delivered = () => 10_000;
      await vi.waitFor(async () => expect((await lease(id))?.checkpoint).toBe(500), {
        timeout: 2000,
        interval: 20,
      });

      // Settled: the lease goes with the reservation.
      await reservation.settle(outcome(300));
      expect(await lease(id)).toBeUndefined();
    });

    it("stops the renewal timer once nothing is live, and starts it again for the next", async () => {
      const setInterval = vi.spyOn(globalThis, "setInterval");
      const clearInterval = vi.spyOn(globalThis, "clearInterval");
      const renewLeases = vi.spyOn(opened.store, "renewLeases");
      const meter = meterOf({ leaseMs: 300 }); // renewed every 50 ms
      const { key } = await newKey(null);
      const a = await reserve(meter, key.hash, 100);
      const b = await reserve(meter, key.hash, 100);
      expect(setInterval).toHaveBeenCalledOnce();
      const timer = setInterval.mock.results[0]?.value;
      expect(setInterval.mock.calls[0]?.[1]).toBe(50);

      await vi.waitFor(() => expect(renewLeases).toHaveBeenCalled(), { timeout: 1000 });
      await a.settle(outcome(10));
      expect(clearInterval).not.toHaveBeenCalledWith(timer);
      const renewals = renewLeases.mock.calls.length;
      await vi.waitFor(() => expect(renewLeases.mock.calls.length).toBeGreaterThan(renewals), {
        timeout: 1000,
      });
      // Only b is renewed now.
      expect(renewLeases.mock.calls.at(-1)?.[0].map((c) => c.reservation.id)).toEqual([b.spec.id]);

      await b.settle(outcome(10));
      expect(clearInterval).toHaveBeenCalledWith(timer);
      const settledAt = renewLeases.mock.calls.length;
      await sleep(200);
      expect(renewLeases.mock.calls.length).toBe(settledAt);

      // The next reservation starts a timer of its own, and its settle stops it.
      const c = await reserve(meter, key.hash, 100);
      expect(setInterval).toHaveBeenCalledTimes(2);
      await c.settle(outcome(10));
      expect(clearInterval).toHaveBeenCalledWith(setInterval.mock.results[1]?.value);
    });

    it("a settle whose write fails is retried at the next renewal; the timer stops once it is written", async () => {
      const setInterval = vi.spyOn(globalThis, "setInterval");
      const clearInterval = vi.spyOn(globalThis, "clearInterval");
      vi.spyOn(console, "error").mockImplementation(() => {});
      const meter = meterOf({ leaseMs: 600 });
      const { key } = await newKey(1_000);
      const reservation = await reserve(meter, key.hash, 100);
      live.pop();
      const timer = setInterval.mock.results[0]?.value;
      const settleRequest = vi
        .spyOn(opened.store, "settleRequest")
        .mockRejectedValueOnce(new Error("storage down"));
      await expect(reservation.settle(outcome(10))).rejects.toThrow("storage down");
      // Still held, and the timer still runs: the charge is written at the next renewal.
      expect(clearInterval).not.toHaveBeenCalledWith(timer);
      expect(await keyState(key.hash)).toEqual({ usage: 0, reserved: 100 });
      await expect
        .poll(() => keyState(key.hash), { timeout: 3000 })
        .toEqual({
          usage: 10,
          reserved: 0,
        });
      expect(settleRequest).toHaveBeenCalledTimes(2);
      await expect.poll(() => clearInterval.mock.calls.some(([t]) => t === timer)).toBe(true);
      expect(await opened.store.listRequests(key.hash, 10)).toHaveLength(1);
    });
  });
});
