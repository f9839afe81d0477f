import { type Kysely, sql } from "kysely";
import { ms, msOrNull, toUser } from "./rows.js";
import type { Database } from "./schema.js";
import type { AdminGrant, NewUser, User, UserListing, UserSummary } from "./store.js";

/** The settings row the first account's admin grant claims: it can be claimed once. */
const FIRST_ADMIN_SETTING = "first-user-admin";

/** `%`, `_` and the escape itself match literally in a LIKE pattern after this. */
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Accounts as operators manage them: creation (with the admin grant), the admin page's listing
 * with spend and key counts, disabling, the account credit and password resets.
 */
export class UserQueries {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Inserts the account; `undefined` when the email is taken. With `if-first`, the account is
   * an admin when it is the only one once inserted and it claims {@link FIRST_ADMIN_SETTING}
   * first: two racing sign-ups on PostgreSQL may each see only themselves, but the settings
   * row's primary key lets one claim win (SQLite writers run one at a time anyway).
   */
  async create(user: NewUser, admin: AdminGrant): Promise<User | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto("users")
        .values({
          id: user.id,
          email: user.email,
          password_hash: user.passwordHash,
          created_at: ms(user.createdAt),
          is_admin: admin === "always" ? 1 : 0,
        })
        .onConflict((oc) => oc.column("email").doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!inserted || admin !== "if-first") return inserted && toUser(inserted);
      const { n } = await trx
        .selectFrom("users")
        .select(sql<number>`count(*)`.as("n"))
        .executeTakeFirstOrThrow();
      if (Number(n) !== 1) return toUser(inserted);
      const claimed = await trx
        .insertInto("settings")
        .values({ name: FIRST_ADMIN_SETTING, value: user.id })
        .onConflict((oc) => oc.column("name").doNothing())
        .returning("name")
        .executeTakeFirst();
      if (!claimed) return toUser(inserted);
      const admin_ = await trx
        .updateTable("users")
        .set({ is_admin: 1 })
        .where("id", "=", user.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return toUser(admin_);
    });
  }

  async list(listing: UserListing): Promise<{ users: UserSummary[]; total: number }> {
    const search = listing.search?.trim().toLowerCase();
    let base = this.db.selectFrom("users");
    if (search) {
      base = base.where(sql<boolean>`email LIKE ${`%${likeLiteral(search)}%`} ESCAPE '\\'`);
    }
    const { n } = await base.select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow();
    const since = ms(listing.since);
    const rows = await base
      .selectAll("users")
      .select([
        sql<number>`(SELECT COALESCE(SUM(k.usage_micros), 0) FROM keys k WHERE k.user_id = users.id)`.as(
          "usage_micros",
        ),
        sql<number>`(SELECT COUNT(*) FROM keys k WHERE k.user_id = users.id AND k.revoked_at IS NULL AND k.is_management = 0)`.as(
          "live_keys",
        ),
        sql<number>`(SELECT COALESCE(SUM(r.cost_micros), 0) FROM requests r JOIN keys k ON k.hash = r.key_hash WHERE k.user_id = users.id AND r.created_at >= ${since})`.as(
          "usage_30d_micros",
        ),
      ])
      .orderBy("users.created_at")
      .orderBy("users.id")
      .limit(listing.limit)
      .offset(listing.offset)
      .execute();
    return {
      total: Number(n),
      users: rows.map((row) => ({
        user: toUser(row),
        usageMicros: Number(row.usage_micros),
        usage30dMicros: Number(row.usage_30d_micros),
        liveKeys: Number(row.live_keys),
      })),
    };
  }

  async setDisabled(userId: string, at: Date | null): Promise<User | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable("users")
        .set({ disabled_at: msOrNull(at) })
        .where("id", "=", userId)
        .returningAll()
        .executeTakeFirst();
      if (row && at) await trx.deleteFrom("sessions").where("user_id", "=", userId).execute();
      return row && toUser(row);
    });
  }

  async setCredit(userId: string, creditMicros: number | null): Promise<User | undefined> {
    const row = await this.db
      .updateTable("users")
      .set({ credit_micros: creditMicros })
      .where("id", "=", userId)
      .returningAll()
      .executeTakeFirst();
    return row && toUser(row);
  }

  async setPassword(userId: string, passwordHash: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable("users")
        .set({ password_hash: passwordHash })
        .where("id", "=", userId)
        .returning("id")
        .executeTakeFirst();
      if (row) await trx.deleteFrom("sessions").where("user_id", "=", userId).execute();
      return row !== undefined;
    });
  }
}
