import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/index.js";
import { type Dialect, dialects, type TestDatabase } from "../support/databases.js";
import { seedKey } from "../support/seed-key.js";
import { useStore } from "../support/use-store.js";
import {
  chat,
  type FakeUpstream,
  mintKeyFor,
  runSql,
  startKeyport,
  startUpstream,
} from "./support.js";

const BODY = { model: "fake/chat", max_tokens: 20, messages: [{ role: "user", content: "hi" }] };

/**
 * A busy key's calls may be admitted on a look-up read a moment ago (on SQLite, `recent-keys.ts`).
 * These tests change the key or its account behind the server's back, as the CLI beside it or an
 * operator's SQL would, right after a call that read the key: the very next call must already be
 * refused, without reaching the upstream, because the reservation checks everything again.
 */
describe.each(dialects)(
  "key admission after a change made elsewhere ($name)",
  (dialect: Dialect) => {
    let db: TestDatabase;
    let upstream: FakeUpstream;
    let server: RunningServer;

    beforeAll(async () => {
      db = await dialect.fresh();
      upstream = await startUpstream();
      server = await startKeyport(db, upstream);
    });
    afterAll(async () => {
      await server.close();
      await upstream.close();
      await db.drop();
    });

    /** A fresh key whose admission the server has just read (one call answered 200). */
    async function warmKey(limit?: number): Promise<{ key: string; hash: string }> {
      const minted = await mintKeyFor(server, limit === undefined ? {} : { limit });
      expect((await chat(server, minted.key, BODY)).status).toBe(200);
      return minted;
    }

    /** The next call's status and error message, and whether it reached the upstream. */
    async function nextCall(key: string) {
      const before = upstream.requests.length;
      const response = await chat(server, key, BODY);
      const body = (await response.json()) as { error?: { message: string } };
      return {
        status: response.status,
        message: body.error?.message,
        forwarded: upstream.requests.length > before,
      };
    }

    it("revoked: 401 on the next call", async () => {
      const { key, hash } = await warmKey();
      await runSql(db, "UPDATE keys SET revoked_at = ? WHERE hash = ?", [Date.now(), hash]);
      expect(await nextCall(key)).toEqual({
        status: 401,
        message: "User not found.",
        forwarded: false,
      });
    });

    it("deleted with its account: 401 on the next call", async () => {
      const { key, hash } = await warmKey();
      await runSql(db, "DELETE FROM keys WHERE hash = ?", [hash]);
      expect(await nextCall(key)).toMatchObject({ status: 401, forwarded: false });
    });

    it("key disabled: 403 on the next call", async () => {
      const { key, hash } = await warmKey();
      await runSql(db, "UPDATE keys SET disabled = 1 WHERE hash = ?", [hash]);
      expect(await nextCall(key)).toEqual({
        status: 403,
        message: "Key is disabled",
        forwarded: false,
      });
    });

    it("account disabled: 403 on the next call", async () => {
      const { key, hash } = await warmKey();
      await runSql(
        db,
        "UPDATE users SET disabled_at = ? WHERE id = (SELECT user_id FROM keys WHERE hash = ?)",
        [Date.now(), hash],
      );
      expect(await nextCall(key)).toEqual({
        status: 403,
        message: "This key's account is disabled",
        forwarded: false,
      });
    });

    it("limit lowered below the call's worst case: 402 on the next call", async () => {
      const { key, hash } = await warmKey(1);
      await runSql(db, "UPDATE keys SET limit_micros = 1 WHERE hash = ?", [hash]);
      expect(await nextCall(key)).toMatchObject({ status: 402, forwarded: false });
    });

    it("account credit used up: 402 on the next call", async () => {
      const { key, hash } = await warmKey();
      await runSql(
        db,
        "UPDATE users SET credit_micros = 0 WHERE id = (SELECT user_id FROM keys WHERE hash = ?)",
        [hash],
      );
      expect(await nextCall(key)).toMatchObject({ status: 402, forwarded: false });
    });

    it("revoked through this server (DELETE /api/v1/key): 401 on the next call", async () => {
      const { key } = await warmKey();
      const revoked = await fetch(`${server.url}/api/v1/key`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${key}` },
      });
      expect(revoked.status).toBe(200);
      expect(await nextCall(key)).toMatchObject({ status: 401, forwarded: false });
    });
  },
);

describe.each(dialects)("Store.admitKey ($name)", (dialect: Dialect) => {
  const opened = useStore(dialect);

  it("a change through the store itself shows at once", async () => {
    const { store } = opened;
    const { key, userId } = await seedKey(store, { limitMicros: null, label: "admitted" });
    expect((await store.admitKey(key.hash))?.revokedAt).toBeNull();
    await store.setUserDisabled(userId, new Date());
    expect((await store.admitKey(key.hash))?.ownerDisabled).toBe(true);
    await store.revokeKey(key.hash, new Date());
    expect((await store.admitKey(key.hash))?.revokedAt).not.toBeNull();
  });

  it(
    dialect.name === "sqlite"
      ? "a change made by another process shows within 500 ms (the admission is read again)"
      : "a change made by another instance shows at once (every admission is read afresh)",
    async () => {
      const { store, database } = opened;
      const { key } = await seedKey(store, { limitMicros: null, label: "elsewhere" });
      await store.admitKey(key.hash);
      await runSql(database, "UPDATE keys SET disabled = 1 WHERE hash = ?", [key.hash]);
      const seen = (await store.admitKey(key.hash))?.disabled;
      if (dialect.name === "sqlite") {
        // Read a moment ago and kept: the reservation is what refuses it (tests above).
        expect(seen).toBe(false);
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect((await store.admitKey(key.hash))?.disabled).toBe(true);
      } else {
        expect(seen).toBe(true);
      }
    },
  );
});
