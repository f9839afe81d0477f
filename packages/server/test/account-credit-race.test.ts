import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { dialects } from "./support/databases.js";
import { useStore } from "./support/use-store.js";

const NOW = new Date("2026-12-02T12:00:00.000Z");
const hex = () => randomBytes(32).toString("hex");

/**
 * An account credit caps what all the account's keys hold and spend together. Reservations on
 * different keys lock different rows, so on PostgreSQL each statement could read the account's
 * total before the others committed: 20 at once on 5 keys each passed a credit with room for 3.
 */
describe.each(dialects)("an account credit under concurrent reservations ($name)", (dialect) => {
  const opened = useStore(dialect);

  it("20 reservations at once over 5 keys of an account with room for 3: exactly 3 pass", async () => {
    const userId = `user_${hex().slice(0, 16)}`;
    await opened.store.createUser({
      id: userId,
      email: `${userId}@example.test`,
      passwordHash: "x",
      createdAt: NOW,
    });
    const hashes = Array.from({ length: 5 }, () => hex());
    for (const hash of hashes) {
      await opened.store.createKey({
        hash,
        userId,
        label: "k",
        limitMicros: null,
        limitReset: null,
        expiresAt: null,
        createdAt: NOW,
        isManagement: false,
      });
    }
    const micros = 1000;
    await opened.store.setUserCredit(userId, 3.5 * micros);
    const keys = await Promise.all(hashes.map((hash) => opened.store.findKey(hash)));
    expect(keys.map((key) => key?.ownerCapped)).toEqual([true, true, true, true, true]);

    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        opened.store.reserveBudget({
          id: `req_${hex().slice(0, 24)}`,
          keyHash: hashes[i % hashes.length] as string,
          accountCapped: keys[i % hashes.length]?.ownerCapped === true,
          micros,
          model: "keyport/echo",
          upstream: "echo",
          streamed: false,
          createdAt: NOW,
          leaseExpiresAt: new Date(NOW.getTime() + 60_000),
        }),
      ),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(3);
    const held = await Promise.all(hashes.map((hash) => opened.store.findKey(hash)));
    expect(held.reduce((sum, key) => sum + (key?.reservedMicros ?? 0), 0)).toBe(3 * micros);
  });
});
