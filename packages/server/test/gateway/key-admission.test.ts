import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/index.js";
import { RECENT_KEY_MS } from "../../src/store/recent-keys.js";
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

    /** A key's owner, for the changes made to the account. */
    const OWNER = "(SELECT user_id FROM keys WHERE hash = ?)";

    it.each([
      {
        change: "revoked",
        sql: "UPDATE keys SET revoked_at = ? WHERE hash = ?",
        params: [Date.now()],
        refused: { status: 401, message: "User not found." },
      },
      {
        change: "deleted with its account",
        sql: "DELETE FROM keys WHERE hash = ?",
        params: [],
        refused: { status: 401 },
      },
      {
        change: "key disabled",
        sql: "UPDATE keys SET disabled = 1 WHERE hash = ?",
        params: [],
        refused: { status: 403, message: "Key is disabled" },
      },
      {
        change: "account disabled",
        sql: `UPDATE users SET disabled_at = ? WHERE id = ${OWNER}`,
        params: [Date.now()],
        refused: { status: 403, message: "This key's account is disabled" },
      },
      {
        change: "limit lowered below the call's worst case",
        sql: "UPDATE keys SET limit_micros = 1 WHERE hash = ?",
        params: [],
        limit: 1,
        refused: { status: 402 },
      },
      {
        change: "account credit used up",
        sql: `UPDATE users SET credit_micros = 0 WHERE id = ${OWNER}`,
        params: [],
        refused: { status: 402 },
      },
    ])("$change: $refused.status on the next call", async ({ sql, params, limit, refused }) => {
      const { key, hash } = await warmKey(limit);
      await runSql(db, sql, [...params, hash]);
      expect(await nextCall(key)).toMatchObject({ ...refused, forwarded: false });
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
      const readAt = performance.now();
      await store.admitKey(key.hash);
      await runSql(database, "UPDATE keys SET disabled = 1 WHERE hash = ?", [key.hash]);
      const seen = (await store.admitKey(key.hash))?.disabled;
      const elapsed = performance.now() - readAt;
      if (dialect.name === "sqlite") {
        // Read a moment ago and kept: the reservation is what refuses it (tests above). A machine
        // too slow to read twice within the bound may rightly have read afresh.
        if (elapsed < RECENT_KEY_MS) expect(seen).toBe(false);
        await new Promise((resolve) => setTimeout(resolve, RECENT_KEY_MS));
        expect((await store.admitKey(key.hash))?.disabled).toBe(true);
      } else {
        expect(seen).toBe(true);
      }
    },
  );
});
