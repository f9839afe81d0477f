import { type Kysely, sql } from "kysely";
import { originColumns } from "../domain/key-origin.js";
import { AccountQueries } from "./account-queries.js";
import { CodeQueries } from "./code-queries.js";
import type { StoreDialect } from "./dialect.js";
import { GatewayQueries } from "./gateway-queries.js";
import { GroupCommit } from "./group-commit.js";
import { RecentKeys } from "./recent-keys.js";
import { ms, msOrNull, toCode, toKey, toRequestRecord, toUser } from "./rows.js";
import type { Database } from "./schema.js";
import type {
  ActivityFilter,
  ActivityRow,
  AdminGrant,
  CreatedKey,
  DailyKeyUsage,
  KeyAdmission,
  KeyChanges,
  KeyListing,
  KeyUse,
  LeaseCheckpoint,
  NewCode,
  NewReservation,
  NewUser,
  PasswordReset,
  Redeemed,
  Redemption,
  RequestRecord,
  Session,
  Settlement,
  Store,
  StoredCode,
  StoredKey,
  User,
  UserListing,
  UserSummary,
} from "./store.js";
import { UsageQueries } from "./usage-queries.js";
import { UserQueries } from "./user-queries.js";

/** How long closing waits for reserved requests to settle (aborted streams bill on their way out). */
const SETTLE_ON_CLOSE_MS = 5_000;

/** The one `Store`, on any Kysely dialect (SQLite and PostgreSQL are tested). */
export class KyselyStore implements Store {
  /** The hot paths' statements, compiled once, their writes sharing group commits. */
  private readonly gateway: GatewayQueries;
  private readonly codes: CodeQueries;
  private readonly group: GroupCommit;
  private readonly usage: UsageQueries;
  private readonly users: UserQueries;
  private readonly account: AccountQueries;
  /**
   * On SQLite, where each look-up is a read transaction of its own and this process is the only
   * server; on PostgreSQL other instances change keys too, and every call reads afresh.
   */
  private readonly recentKeys: RecentKeys | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    dialect: StoreDialect,
    private readonly onClose: () => Promise<void> = () => db.destroy(),
  ) {
    this.group = new GroupCommit(db, dialect.sqlite);
    this.gateway = new GatewayQueries(db, this.group, dialect);
    this.codes = new CodeQueries(db, this.group);
    this.usage = new UsageQueries(db);
    this.users = new UserQueries(db);
    this.account = new AccountQueries(db);
    this.recentKeys = dialect.sqlite ? new RecentKeys() : undefined;
  }

  /** Runs a change to keys or accounts, then forgets the admissions read before it. */
  private async changing<T>(change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } finally {
      this.recentKeys?.forgetAll();
    }
  }

  createUser(user: NewUser, admin: AdminGrant = "never"): Promise<User | undefined> {
    return this.users.create(user, admin);
  }

  listUsers(listing: UserListing): Promise<{ users: UserSummary[]; total: number }> {
    return this.users.list(listing);
  }

  setUserDisabled(userId: string, at: Date | null): Promise<User | undefined> {
    return this.changing(() => this.users.setDisabled(userId, at));
  }

  setUserCredit(userId: string, creditMicros: number | null): Promise<User | undefined> {
    return this.changing(() => this.users.setCredit(userId, creditMicros));
  }

  setUserPassword(userId: string, passwordHash: string): Promise<boolean> {
    return this.users.setPassword(userId, passwordHash);
  }

  async findUserByEmail(email: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom("users")
      .selectAll()
      .where("email", "=", email)
      .executeTakeFirst();
    return row && toUser(row);
  }

  async findUserById(id: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom("users")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return row && toUser(row);
  }

  async createSession(session: Session & { createdAt: Date }): Promise<void> {
    await this.db
      .insertInto("sessions")
      .values({
        id_hash: session.idHash,
        user_id: session.userId,
        created_at: ms(session.createdAt),
        expires_at: ms(session.expiresAt),
      })
      .execute();
  }

  async findSession(idHash: string, now: Date): Promise<Session | undefined> {
    const row = await this.db
      .selectFrom("sessions")
      .select(["id_hash", "user_id", "expires_at"])
      .where("id_hash", "=", idHash)
      .where("expires_at", ">", ms(now))
      .executeTakeFirst();
    return (
      row && {
        idHash: row.id_hash,
        userId: row.user_id,
        expiresAt: new Date(Number(row.expires_at)),
      }
    );
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.deleteFrom("sessions").where("id_hash", "=", idHash).execute();
  }

  async createCode(code: NewCode): Promise<void> {
    await this.db
      .insertInto("codes")
      .values({
        code_hash: code.codeHash,
        user_id: code.userId,
        code_challenge: code.codeChallenge,
        code_challenge_method: code.codeChallengeMethod,
        callback_url: code.callbackUrl,
        key_label: code.keyLabel,
        limit_micros: code.limitMicros,
        limit_reset: code.limitReset,
        key_expires_at: msOrNull(code.keyExpiresAt),
        created_at: ms(code.createdAt),
        expires_at: ms(code.expiresAt),
        consumed_at: null,
        replayed_at: null,
        key_hash: null,
        user_code_hash: code.userCodeHash ?? null,
      })
      .execute();
  }

  async findUserCode(
    userCodeHash: string,
  ): Promise<{ codeHash: string; codeChallenge: string | null }[]> {
    const rows = await this.db
      .selectFrom("codes")
      .select(["code_hash", "code_challenge"])
      .where("user_code_hash", "=", userCodeHash)
      .execute();
    return rows.map((row) => ({ codeHash: row.code_hash, codeChallenge: row.code_challenge }));
  }

  async countUserCodeMiss(codeChallenge: string, now: Date, maxMisses: number): Promise<boolean> {
    const result = await this.db
      .updateTable("codes")
      .set((eb) => ({
        user_code_misses: eb("user_code_misses", "+", 1),
        consumed_at: eb
          .case()
          .when("user_code_misses", ">=", maxMisses - 1)
          .then(ms(now))
          .else(null)
          .end(),
      }))
      .where("code_challenge", "=", codeChallenge)
      .where("user_code_hash", "is not", null)
      .where("consumed_at", "is", null)
      .where("expires_at", ">", ms(now))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  redeemCode<R>(
    codeHash: string,
    keyHash: string,
    now: Date,
    decide: (code: StoredCode) => Redemption<R>,
  ): Promise<Redeemed<R> | undefined> {
    return this.codes.redeem(codeHash, keyHash, now, decide);
  }

  revokeReplayedCode(
    codeHash: string,
    now: Date,
    provesPossession: (code: StoredCode) => boolean,
  ): Promise<boolean> {
    return this.changing(() =>
      this.db.transaction().execute(async (trx) => {
        // A consumed code's fields never change again, so reading it first cannot race.
        const consumed = await trx
          .selectFrom("codes")
          .selectAll()
          .where("code_hash", "=", codeHash)
          .where("consumed_at", "is not", null)
          .executeTakeFirst();
        if (!consumed || !provesPossession(toCode(consumed))) return false;
        const code = await trx
          .updateTable("codes")
          .set((eb) => ({ replayed_at: eb.fn.coalesce("replayed_at", eb.val(ms(now))) }))
          .where("code_hash", "=", codeHash)
          .returning("key_hash")
          .executeTakeFirst();
        if (code?.key_hash) {
          await trx
            .updateTable("keys")
            .set({ revoked_at: ms(now) })
            .where("hash", "=", code.key_hash)
            .where("revoked_at", "is", null)
            .execute();
        }
        return code !== undefined;
      }),
    );
  }

  async findKey(hash: string): Promise<StoredKey | undefined> {
    const row = await this.gateway.findKey(hash);
    return row && toKey(row);
  }

  admitKey(hash: string): Promise<KeyAdmission | undefined> {
    return this.recentKeys ? this.recentKeys.read(hash, this.findKeyNow) : this.findKey(hash);
  }

  /** `findKey`, made once for the admission cache rather than for each call. */
  private readonly findKeyNow = (hash: string) => this.findKey(hash);

  async createKey(key: CreatedKey): Promise<void> {
    await this.db
      .insertInto("keys")
      .values({
        hash: key.hash,
        user_id: key.userId,
        label: key.label,
        limit_micros: key.limitMicros,
        limit_reset: key.limitReset,
        is_management: key.isManagement ? 1 : 0,
        ...(key.origin && originColumns(key.origin)),
        expires_at: msOrNull(key.expiresAt),
        created_at: ms(key.createdAt),
        revoked_at: null,
      })
      .execute();
  }

  async listKeys(userId: string, listing: KeyListing): Promise<StoredKey[]> {
    let query = this.db
      .selectFrom("keys")
      .selectAll()
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null);
    if (!listing.includeDisabled) query = query.where("disabled", "=", 0);
    if (!listing.includeManagement) query = query.where("is_management", "=", 0);
    const rows = await query
      .orderBy("created_at")
      .orderBy("hash")
      .limit(listing.limit)
      .offset(listing.offset)
      .execute();
    return rows.map(toKey);
  }

  updateKey(userId: string, hash: string, changes: KeyChanges): Promise<StoredKey | undefined> {
    return this.changing(async () => {
      const row = await this.db
        .updateTable("keys")
        .set({
          // A no-op assignment keeps the statement valid when nothing is to change.
          label: changes.label ?? sql<string>`label`,
          ...(changes.disabled !== undefined && { disabled: changes.disabled ? 1 : 0 }),
          ...(changes.limitMicros !== undefined && { limit_micros: changes.limitMicros }),
          ...(changes.limitReset !== undefined && { limit_reset: changes.limitReset }),
        })
        .where("hash", "=", hash)
        .where("user_id", "=", userId)
        .where("is_management", "=", 0)
        .where("revoked_at", "is", null)
        .returningAll()
        .executeTakeFirst();
      return row && toKey(row);
    });
  }

  revokeKey(hash: string, now: Date, userId?: string): Promise<boolean> {
    return this.changing(async () => {
      let query = this.db
        .updateTable("keys")
        .set({ revoked_at: ms(now) })
        .where("hash", "=", hash)
        .where("revoked_at", "is", null);
      if (userId !== undefined)
        query = query.where("user_id", "=", userId).where("is_management", "=", 0);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  reserveBudget(reservation: NewReservation): Promise<boolean> {
    return this.gateway.reserveBudget(reservation);
  }

  renewLeases(checkpoints: readonly LeaseCheckpoint[], expiresAt: Date): Promise<string[]> {
    return this.gateway.leases.renew(checkpoints, expiresAt);
  }

  expireLeases(now: Date): Promise<number> {
    return this.gateway.leases.expire(now);
  }

  settleRequest(settlement: Settlement): Promise<void> {
    return this.gateway.settleRequest(settlement);
  }

  async listRequests(keyHash: string, limit: number): Promise<RequestRecord[]> {
    const rows = await this.db
      .selectFrom("requests")
      .selectAll()
      .where("key_hash", "=", keyHash)
      .orderBy("created_at", "desc")
      .limit(limit)
      .execute();
    return rows.map(toRequestRecord);
  }

  findGeneration(userId: string, id: string): Promise<RequestRecord | undefined> {
    return this.usage.findGeneration(userId, id);
  }

  accountKeys(userId: string): Promise<StoredKey[]> {
    return this.usage.accountKeys(userId);
  }

  activity(userId: string, filter: ActivityFilter): Promise<ActivityRow[]> {
    return this.usage.activity(userId, filter);
  }

  keyUse(userId: string, since: Date): Promise<KeyUse[]> {
    return this.account.keyUse(userId, since);
  }

  dailyUsage(userId: string, from: Date, to: Date): Promise<DailyKeyUsage[]> {
    return this.account.dailyUsage(userId, from, to);
  }

  revokeAppKeys(userId: string, app: string, now: Date): Promise<number> {
    return this.changing(() => this.account.revokeAppKeys(userId, app, now));
  }

  setPassword(userId: string, passwordHash: string, keepSession?: string): Promise<void> {
    return this.account.setPassword(userId, passwordHash, keepSession);
  }

  endSessions(userId: string): Promise<number> {
    return this.account.endSessions(userId);
  }

  deleteAccount(userId: string, now: Date): Promise<boolean> {
    return this.changing(() => this.account.deleteAccount(userId, now));
  }

  createPasswordReset(reset: PasswordReset): Promise<void> {
    return this.account.createPasswordReset(reset);
  }

  findPasswordReset(tokenHash: string, now: Date): Promise<PasswordReset | undefined> {
    return this.account.findPasswordReset(tokenHash, now);
  }

  usePasswordReset(
    tokenHash: string,
    now: Date,
    passwordHash: string,
  ): Promise<string | undefined> {
    return this.account.usePasswordReset(tokenHash, now, passwordHash);
  }

  async deleteExpired(now: Date, keepCodesMs: number): Promise<number> {
    const sessions = await this.db
      .deleteFrom("sessions")
      .where("expires_at", "<=", ms(now))
      .executeTakeFirst();
    const codes = await this.db
      .deleteFrom("codes")
      .where("expires_at", "<=", ms(now) - keepCodesMs)
      .executeTakeFirst();
    return Number(sessions.numDeletedRows) + Number(codes.numDeletedRows);
  }

  async listOverruns(limit: number): Promise<RequestRecord[]> {
    const rows = await this.db
      .selectFrom("requests")
      .selectAll()
      .where("overrun_micros", ">", 0)
      .orderBy("created_at", "desc")
      .limit(limit)
      .execute();
    return rows.map(toRequestRecord);
  }

  async releaseReservations(now: Date): Promise<number> {
    await this.gateway.leases.endAll(now);
    const result = await this.db
      .updateTable("keys")
      .set({ reserved_micros: 0 })
      .where("reserved_micros", ">", 0)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async secret(name: string, create: () => string): Promise<string> {
    await this.db
      .insertInto("settings")
      .values({ name, value: create() })
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
    const row = await this.db
      .selectFrom("settings")
      .select("value")
      .where("name", "=", name)
      .executeTakeFirstOrThrow();
    return row.value;
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.gateway.whenSettled(SETTLE_ON_CLOSE_MS);
    await this.group.drain();
    return this.onClose();
  }
}
