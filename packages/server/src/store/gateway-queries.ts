import { type CompiledQuery, type Kysely, type Selectable, sql } from "kysely";
import { windowStarts } from "../domain/credits.js";
import type { StoreDialect } from "./dialect.js";
import type { BatchedWrite, GroupCommit } from "./group-commit.js";
import { LeaseQueries, leaseValues } from "./lease-queries.js";
import { Precompiled, param } from "./precompiled.js";
import type { Database, KeysTable } from "./schema.js";
import { SettleStatements } from "./settle-statements.js";
import type { SqliteRunner } from "./sqlite-runner.js";
import type { NewReservation, Settlement } from "./store.js";

/** A key row with its account's `disabled_at` and `credit_micros`. */
type KeyWithOwner = Selectable<KeysTable> & {
  owner_disabled_at: number | null;
  owner_credit_micros: number | null;
};

/**
 * The gateway's statements on any Kysely dialect: the key lookup, the reservation (one
 * conditional UPDATE: the overspend guarantee, DESIGN invariant 8) with its lease (`leases`
 * renews and ends them), and the settle. Writes are group-committed: those that arrive while
 * other requests are in flight go into one transaction at the end of the event loop's turn (each
 * still resolved only once that transaction has committed); a lone request writes at once. On
 * SQLite reservations join the group commit too (each still its own conditional UPDATE, run one
 * after the other on the one connection); on PostgreSQL they run on their own, so no row lock is
 * held for a whole batch.
 */
export class GatewayQueries {
  private readonly findKeyQuery: Precompiled<KeyWithOwner>;
  private readonly reserveQuery: Precompiled<{ hash: string }>;
  private readonly settles: SettleStatements;
  /** Reservations this process made and has not settled yet: are other requests in flight? */
  private inFlight = 0;
  private readonly sqlite: SqliteRunner | undefined;
  private readonly sharedLeases: boolean;
  private readonly reserveLeaseQuery: Precompiled<{ id: string }>;
  private readonly releaseLeaseQuery: Precompiled<{ micros: number }>;
  readonly leases: LeaseQueries;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly group: GroupCommit,
    dialect: StoreDialect,
  ) {
    this.sqlite = dialect.sqlite;
    this.sharedLeases = dialect.sharedLeases;
    this.settles = new SettleStatements(db);
    this.leases = new LeaseQueries(db, group, dialect, this.settles);
    this.releaseLeaseQuery = new Precompiled(
      db
        .deleteFrom("reservations")
        .where("id", "=", param<string>("id"))
        .returning("micros")
        .compile(),
    );
    // One look-up of the owner (a join on its primary key), not one subquery per column.
    this.findKeyQuery = new Precompiled(
      db
        .selectFrom("keys")
        .leftJoin("users", "users.id", "keys.user_id")
        .selectAll("keys")
        .select([
          "users.disabled_at as owner_disabled_at",
          "users.credit_micros as owner_credit_micros",
        ])
        .where("keys.hash", "=", param<string>("hash"))
        .compile(),
    );

    const micros = param<number>("micros");
    // The usage the limit is compared with: the current window's counter (zero once the window
    // has rolled over) for a resetting limit, lifetime usage otherwise.
    const usageInLimitWindow = sql<number>`CASE limit_reset
      WHEN 'daily' THEN (CASE WHEN day_start = ${param("day")} THEN day_micros ELSE 0 END)
      WHEN 'weekly' THEN (CASE WHEN week_start = ${param("week")} THEN week_micros ELSE 0 END)
      WHEN 'monthly' THEN (CASE WHEN month_start = ${param("month")} THEN month_micros ELSE 0 END)
      ELSE usage_micros END`;
    // The account's own cap: an operator-disabled account's keys stop, and an account credit
    // caps what all its keys spend (settled plus held) together.
    const accountAllows = sql<boolean>`NOT EXISTS (SELECT 1 FROM users
      WHERE users.id = keys.user_id AND (users.disabled_at IS NOT NULL
        OR (CASE WHEN users.credit_micros IS NULL THEN 0
          ELSE (SELECT SUM(mine.usage_micros + mine.reserved_micros) FROM keys AS mine
            WHERE mine.user_id = users.id) + ${micros} - users.credit_micros END) > 0))`;
    // The overspend guarantee, DESIGN invariant 8: one conditional UPDATE.
    const reserve = db
      .updateTable("keys")
      .set((eb) => ({ reserved_micros: eb("reserved_micros", "+", micros) }))
      .where("hash", "=", param<string>("hash"))
      .where("revoked_at", "is", null)
      .where("disabled", "=", 0)
      .where(
        sql<boolean>`(limit_micros IS NULL OR ${usageInLimitWindow} + reserved_micros + ${micros} <= limit_micros)`,
      )
      .where(accountAllows)
      .returning("hash");
    this.reserveQuery = new Precompiled(reserve.compile());
    // Shared database: the same UPDATE and its lease, in one statement.
    this.reserveLeaseQuery = new Precompiled(
      sql<{ id: string }>`WITH reserved AS (${reserve})
        INSERT INTO reservations (id, key_hash, micros, expires_at, model, upstream, streamed, created_at)
        SELECT ${param("id")}, hash, ${micros}, ${param("expiresAt")}, ${param("model")},
          ${param("upstream")}, ${param("streamed")}, ${param("createdAt")} FROM reserved
        RETURNING id`.compile(db),
    );
  }

  /** The rows of one statement: synchronously on an idle SQLite connection, else through Kysely. */
  private async rows<Row>(query: CompiledQuery<Row>): Promise<Row[]> {
    const sqlite = this.sqlite;
    if (sqlite && !sqlite.inTransaction) return sqlite.all(query.sql, query.parameters) as Row[];
    return (await this.db.executeQuery(query)).rows;
  }

  async findKey(hash: string): Promise<KeyWithOwner | undefined> {
    return (await this.rows(this.findKeyQuery.bind({ hash })))[0];
  }

  async reserveBudget(reservation: NewReservation): Promise<boolean> {
    const starts = windowStarts(reservation.createdAt);
    const values = {
      hash: reservation.keyHash,
      micros: reservation.micros,
      day: starts.day,
      week: starts.week,
      month: starts.month,
    };
    if (this.sharedLeases) {
      const query = this.reserveLeaseQuery.bind({ ...values, ...leaseValues(reservation) });
      const leased = reservation.accountCapped
        ? await this.db.transaction().execute(async (trx) => {
            // Under an account credit, reservations on the account's other keys count too, and
            // a statement's snapshot would miss those committed while it waits: the account's
            // reservations take turns, each reading the others' once the lock is granted.
            await sql`SELECT pg_advisory_xact_lock(hashtext(${`keyport-account:`} || user_id))
              FROM keys WHERE hash = ${reservation.keyHash}`.execute(trx);
            return (await trx.executeQuery(query)).rows;
          })
        : await this.rows(query);
      if (leased.length > 0) this.inFlight += 1;
      return leased.length > 0;
    }
    const query = this.reserveQuery.bind(values);
    // On SQLite a reservation joins the group commit while other requests are in flight (still
    // its own conditional UPDATE).
    // A reservation need not reach the disk before the request goes on: a crash ends the
    // request, and a SQLite file's reservations are released at the next start.
    const sqlite = this.sqlite;
    const reserved = !sqlite
      ? (await this.rows(query)).length > 0
      : !this.alone()
        ? await this.group.submit<boolean>({
            sqlite: (runner) => runner.all(query.sql, query.parameters).length > 0,
            kysely: async (trx) => (await trx.executeQuery(query)).rows.length > 0,
            durable: false,
          })
        : sqlite.inTransaction
          ? (await this.rows(query)).length > 0
          : unsynced(sqlite, () => sqlite.all(query.sql, query.parameters)).length > 0;
    if (reserved) this.inFlight += 1;
    return reserved;
  }

  /**
   * Settles in the next group commit, or at once when no other request is in flight; resolves
   * once the settlement's transaction has committed.
   */
  settleRequest(settlement: Settlement): Promise<void> {
    const write = this.settleWrite(settlement);
    const alone = this.sqlite !== undefined && this.inFlight <= 1 && this.group.idle;
    this.inFlight = Math.max(0, this.inFlight - 1);
    return alone ? this.runNow(write) : this.group.submit(write);
  }

  private runNow(write: BatchedWrite<void>): Promise<void> {
    try {
      return this.group.runNow(write).onDisk;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Resolves once every reservation this process made has been settled, or after `timeoutMs`:
   * a shutdown waits for requests cut at its deadline to bill what they generated.
   */
  async whenSettled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** No other request of this process in flight and nothing queued: nothing to batch with. */
  private alone(): boolean {
    return this.inFlight === 0 && this.group.idle;
  }

  private settleWrite(settlement: Settlement): BatchedWrite<void> {
    const id = settlement.record.id;
    const record = this.settles.insertRequest(settlement);
    const leased = this.sharedLeases || this.leases.forget(id);
    const release = leased ? this.releaseLeaseQuery.bind({ id }) : undefined;
    const settleKey = (reserved: number, cost: number) =>
      this.settles.settleKey(settlement, reserved, cost);
    const overrun = (prior: number) =>
      this.settles.insertRequest({
        ...settlement,
        record: {
          ...settlement.record,
          costMicros: prior,
          overrunMicros: settlement.record.overrunMicros + settlement.record.costMicros - prior,
        },
      });
    // Built only on the rare path that needs them.
    const expired = () => this.settles.priorCharge(id);
    const forget = () => this.settles.deleteRequest(id);
    return {
      order: settlement.record.keyHash,
      sqlite(runner) {
        // One process per SQLite file: its own leases end only here (or at its next start).
        if (release) runner.run(release.sql, release.parameters);
        const key = settleKey(settlement.reservedMicros, settlement.record.costMicros);
        runner.run(key.sql, key.parameters);
        runner.run(record.sql, record.parameters);
      },
      async kysely(trx) {
        if (!release) {
          await trx.executeQuery(
            settleKey(settlement.reservedMicros, settlement.record.costMicros),
          );
          await trx.executeQuery(record);
          return;
        }
        const held = (await trx.executeQuery(release)).rows[0];
        if (held) {
          await trx.executeQuery(settleKey(Number(held.micros), settlement.record.costMicros));
          await trx.executeQuery(record);
          return;
        }
        // The lease expired first: its checkpoint was billed and its budget released, perhaps
        // to other requests. Charging more could pass the limit: the rest is the operator's.
        const prior = Number((await trx.executeQuery(expired())).rows[0]?.cost_micros ?? 0);
        await trx.executeQuery(forget());
        await trx.executeQuery(overrun(prior));
      },
    };
  }
}

/** Runs `statement` without syncing its commit, when the runner syncs its log apart. */
function unsynced<T>(sqlite: SqliteRunner, statement: () => T): T {
  return sqlite.log ? sqlite.log.unsynced(statement) : statement();
}
