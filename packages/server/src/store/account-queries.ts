import { type Kysely, sql } from "kysely";
import { ms } from "./rows.js";
import type { Database } from "./schema.js";
import type { DailyKeyUsage, KeyUse, PasswordReset } from "./store.js";

const DAY_MS = 86_400_000;

/**
 * What the signed-in dashboard reads and changes besides single keys: each key's recent use,
 * an app's keys, the account's password, sessions and the account itself, and password resets.
 */
export class AccountQueries {
  constructor(private readonly db: Kysely<Database>) {}

  /** See `Store.keyUse`. */
  async keyUse(userId: string, since: Date): Promise<KeyUse[]> {
    const rows = await this.db
      .selectFrom("requests")
      .innerJoin("keys", "keys.hash", "requests.key_hash")
      .where("keys.user_id", "=", userId)
      .select((eb) => [
        "requests.key_hash as key_hash",
        eb.fn.max("requests.created_at").as("last_used_at"),
        sql<number>`sum(case when requests.created_at >= ${ms(since)} then requests.cost_micros else 0 end)`.as(
          "since_micros",
        ),
      ])
      .groupBy("requests.key_hash")
      .execute();
    return rows.map((row) => ({
      keyHash: row.key_hash,
      lastUsedAt: new Date(Number(row.last_used_at)),
      sinceMicros: Number(row.since_micros ?? 0),
    }));
  }

  /** See `Store.dailyUsage`. */
  async dailyUsage(userId: string, from: Date, to: Date): Promise<DailyKeyUsage[]> {
    // A literal, so the select and the GROUP BY are one expression (and integer division).
    const day = sql<number>`(requests.created_at / ${sql.lit(DAY_MS)})`;
    const rows = await this.db
      .selectFrom("requests")
      .innerJoin("keys", "keys.hash", "requests.key_hash")
      .where("keys.user_id", "=", userId)
      .where("requests.created_at", ">=", ms(from))
      .where("requests.created_at", "<", ms(to))
      .select([
        day.as("day"),
        "requests.key_hash as key_hash",
        "requests.model as model",
        sql<number>`count(*)`.as("requests"),
        sql<number>`sum(requests.cost_micros)`.as("cost_micros"),
      ])
      .groupBy([day, "requests.key_hash", "requests.model"])
      .orderBy(day)
      .execute();
    return rows.map((row) => ({
      day: new Date(Number(row.day) * DAY_MS),
      keyHash: row.key_hash,
      model: row.model,
      requests: Number(row.requests),
      costMicros: Number(row.cost_micros),
    }));
  }

  /** See `Store.revokeAppKeys`. */
  async revokeAppKeys(userId: string, app: string, now: Date): Promise<number> {
    const result = await this.db
      .updateTable("keys")
      .set({ revoked_at: ms(now) })
      .where("user_id", "=", userId)
      .where("created_via", "=", "app")
      .where("app_origin", "=", app)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** See `Store.setPassword`. */
  async setPassword(userId: string, passwordHash: string, keepSession?: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable("users")
        .set({ password_hash: passwordHash })
        .where("id", "=", userId)
        .execute();
      let sessions = trx.deleteFrom("sessions").where("user_id", "=", userId);
      if (keepSession !== undefined) sessions = sessions.where("id_hash", "!=", keepSession);
      await sessions.execute();
    });
  }

  /** See `Store.endSessions`. */
  async endSessions(userId: string): Promise<number> {
    const result = await this.db
      .deleteFrom("sessions")
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** See `Store.deleteAccount`. */
  async deleteAccount(userId: string, now: Date): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // Revoked first, so a key stops even where the delete does not cascade to it.
      await trx
        .updateTable("keys")
        .set({ revoked_at: ms(now) })
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .execute();
      for (const table of ["sessions", "codes", "password_resets", "keys"] as const) {
        await trx.deleteFrom(table).where("user_id", "=", userId).execute();
      }
      const deleted = await trx.deleteFrom("users").where("id", "=", userId).executeTakeFirst();
      return Number(deleted.numDeletedRows) > 0;
    });
  }

  /** See `Store.createPasswordReset`. */
  async createPasswordReset(reset: PasswordReset): Promise<void> {
    await this.db
      .insertInto("password_resets")
      .values({
        token_hash: reset.tokenHash,
        user_id: reset.userId,
        created_at: ms(reset.createdAt),
        expires_at: ms(reset.expiresAt),
        used_at: null,
      })
      .execute();
  }

  /** See `Store.findPasswordReset`. */
  async findPasswordReset(tokenHash: string, now: Date): Promise<PasswordReset | undefined> {
    const row = await this.db
      .selectFrom("password_resets")
      .selectAll()
      .where("token_hash", "=", tokenHash)
      .where("used_at", "is", null)
      .where("expires_at", ">", ms(now))
      .executeTakeFirst();
    return (
      row && {
        tokenHash: row.token_hash,
        userId: row.user_id,
        createdAt: new Date(Number(row.created_at)),
        expiresAt: new Date(Number(row.expires_at)),
      }
    );
  }

  /** See `Store.usePasswordReset`. */
  async usePasswordReset(
    tokenHash: string,
    now: Date,
    passwordHash: string,
  ): Promise<string | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const used = await trx
        .updateTable("password_resets")
        .set({ used_at: ms(now) })
        .where("token_hash", "=", tokenHash)
        .where("used_at", "is", null)
        .where("expires_at", ">", ms(now))
        .returning("user_id")
        .executeTakeFirst();
      if (!used) return undefined;
      await trx
        .updateTable("users")
        .set({ password_hash: passwordHash })
        .where("id", "=", used.user_id)
        .execute();
      // The user's other links and every session end with the old password.
      await trx
        .updateTable("password_resets")
        .set({ used_at: ms(now) })
        .where("user_id", "=", used.user_id)
        .where("used_at", "is", null)
        .execute();
      await trx.deleteFrom("sessions").where("user_id", "=", used.user_id).execute();
      return used.user_id;
    });
  }
}
