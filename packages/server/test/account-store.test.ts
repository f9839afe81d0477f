import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { RequestRecord } from "../src/store/store.js";
import { dialects } from "./support/databases.js";
import { useStore } from "./support/use-store.js";

const T0 = new Date("2026-01-01T00:00:00.000Z");
const DAY = 86_400_000;
const later = (ms: number) => new Date(T0.getTime() + ms);
const hex = () => randomBytes(32).toString("hex");

describe.each(dialects)("Store: the dashboard's account queries ($name)", (dialect) => {
  const opened = useStore(dialect);

  async function newUser(): Promise<string> {
    const id = `user_${hex().slice(0, 16)}`;
    await opened.store.createUser({
      id,
      email: `${id}@example.test`,
      passwordHash: "old",
      createdAt: T0,
    });
    return id;
  }

  /** A key minted by the code exchange for an app at `callbackUrl` (`null`: headless). */
  async function exchangedKey(userId: string, callbackUrl: string | null): Promise<string> {
    const code = {
      codeHash: hex(),
      userId,
      codeChallenge: null,
      codeChallengeMethod: null,
      callbackUrl,
      keyLabel: "k",
      limitMicros: null,
      limitReset: null,
      keyExpiresAt: null,
      createdAt: T0,
      expiresAt: later(600_000),
    };
    await opened.store.createCode(code);
    const hash = hex();
    await opened.store.redeemCode(code.codeHash, hash, T0, () => ({
      terms: {
        userId,
        label: "k",
        limitMicros: null,
        limitReset: null,
        expiresAt: null,
        createdAt: T0,
      },
    }));
    return hash;
  }

  async function spend(keyHash: string, micros: number, at: Date) {
    const record: RequestRecord = {
      id: `req_${hex().slice(0, 12)}`,
      keyHash,
      model: "keyport/echo",
      upstream: "keyport",
      streamed: false,
      status: 200,
      promptTokens: 1,
      completionTokens: 1,
      costMicros: micros,
      overrunMicros: 0,
      usageEstimated: false,
      durationMs: 1,
      createdAt: at,
    };
    // Settled as the gateway does: against a reservation of the cost (a cost never exceeds it).
    const reserved = await opened.store.reserveBudget({
      id: record.id,
      keyHash,
      micros,
      model: record.model,
      upstream: record.upstream,
      streamed: false,
      createdAt: at,
      leaseExpiresAt: new Date(at.getTime() + 60_000),
    });
    expect(reserved).toBe(true);
    await opened.store.settleRequest({ reservedMicros: micros, record, settledAt: at });
  }

  it("records where an exchanged key came from: the callback's origin, loopback without its port", async () => {
    const userId = await newUser();
    const web = await exchangedKey(userId, "https://notes.example:8443/cb?x=1");
    const cli = await exchangedKey(userId, "http://127.0.0.1:53121/callback");
    const headless = await exchangedKey(userId, null);
    expect((await opened.store.findKey(web))?.origin).toEqual({
      via: "app",
      app: "https://notes.example:8443",
    });
    expect((await opened.store.findKey(cli))?.origin).toEqual({
      via: "app",
      app: "http://127.0.0.1",
    });
    expect((await opened.store.findKey(headless))?.origin).toEqual({ via: "headless" });
  });

  it("adds up each key's spend since an instant and its last use, for its owner only", async () => {
    const userId = await newUser();
    const other = await newUser();
    const key = await exchangedKey(userId, "https://a.example/cb");
    const idle = await exchangedKey(userId, "https://a.example/cb");
    const theirs = await exchangedKey(other, "https://a.example/cb");
    await spend(key, 1_000, T0);
    await spend(key, 20_000, later(40 * DAY));
    await spend(key, 300_000, later(45 * DAY));
    await spend(theirs, 7, later(45 * DAY));
    const uses = await opened.store.keyUse(userId, later(15 * DAY));
    expect(uses).toEqual([{ keyHash: key, sinceMicros: 320_000, lastUsedAt: later(45 * DAY) }]);
    expect(uses.find((use) => use.keyHash === idle)).toBeUndefined();
  });

  it("revokes every live key of one app and no other key", async () => {
    const userId = await newUser();
    const other = await newUser();
    const a1 = await exchangedKey(userId, "https://a.example/cb");
    const a2 = await exchangedKey(userId, "https://a.example/other");
    const b = await exchangedKey(userId, "https://b.example/cb");
    const theirs = await exchangedKey(other, "https://a.example/cb");
    expect(await opened.store.revokeAppKeys(userId, "https://a.example", later(1))).toBe(2);
    expect((await opened.store.findKey(a1))?.revokedAt).toEqual(later(1));
    expect((await opened.store.findKey(a2))?.revokedAt).toEqual(later(1));
    expect((await opened.store.findKey(b))?.revokedAt).toBeNull();
    expect((await opened.store.findKey(theirs))?.revokedAt).toBeNull();
    expect(await opened.store.revokeAppKeys(userId, "https://a.example", later(2))).toBe(0);
  });

  it("sets a password and ends every other session; ends all sessions; deletes an account with its keys", async () => {
    const userId = await newUser();
    for (const id of ["keep", "other1", "other2"]) {
      await opened.store.createSession({
        idHash: id + userId,
        userId,
        createdAt: T0,
        expiresAt: later(DAY),
      });
    }
    await opened.store.setPassword(userId, "new-hash", `keep${userId}`);
    expect((await opened.store.findUserById(userId))?.passwordHash).toBe("new-hash");
    expect(await opened.store.findSession(`keep${userId}`, T0)).toBeDefined();
    expect(await opened.store.findSession(`other1${userId}`, T0)).toBeUndefined();
    expect(await opened.store.endSessions(userId)).toBe(1);

    const key = await exchangedKey(userId, "https://a.example/cb");
    await spend(key, 5, T0);
    await opened.store.createSession({
      idHash: `s${userId}`,
      userId,
      createdAt: T0,
      expiresAt: later(DAY),
    });
    expect(await opened.store.deleteAccount(userId, later(1))).toBe(true);
    expect(await opened.store.findUserById(userId)).toBeUndefined();
    expect(await opened.store.findKey(key)).toBeUndefined();
    expect(await opened.store.findSession(`s${userId}`, T0)).toBeUndefined();
    expect(await opened.store.deleteAccount(userId, later(2))).toBe(false);
  });

  it("uses a password reset once, before it expires; concurrent uses: exactly one", async () => {
    const userId = await newUser();
    const reset = (tokenHash: string, expiresAt = later(30 * 60_000)) =>
      opened.store.createPasswordReset({ tokenHash, userId, createdAt: T0, expiresAt });
    const [live, sibling, expired] = [hex(), hex(), hex()];
    await reset(live);
    await reset(sibling);
    await reset(expired, later(1000));
    await opened.store.createSession({
      idHash: `r${userId}`,
      userId,
      createdAt: T0,
      expiresAt: later(DAY),
    });

    expect(await opened.store.findPasswordReset(expired, later(1000))).toBeUndefined();
    expect(await opened.store.usePasswordReset(expired, later(1000), "x")).toBeUndefined();
    expect((await opened.store.findPasswordReset(live, later(1000)))?.userId).toBe(userId);
    const uses = await Promise.all(
      Array.from({ length: 5 }, () =>
        opened.store.usePasswordReset(live, later(2000), "reset-hash"),
      ),
    );
    expect(uses.filter((used) => used === userId)).toHaveLength(1);
    expect((await opened.store.findUserById(userId))?.passwordHash).toBe("reset-hash");
    expect(await opened.store.findSession(`r${userId}`, T0)).toBeUndefined();
    // The user's other link died with the first use.
    expect(await opened.store.usePasswordReset(sibling, later(3000), "again")).toBeUndefined();
    expect(await opened.store.findPasswordReset(live, later(3000))).toBeUndefined();
  });
});
