import { type CompiledQuery, type Kysely, type Selectable, sql } from "kysely";
import { windowStarts } from "../domain/credits.js";
import type { BatchedWrite, GroupCommit } from "./group-commit.js";
import { Precompiled, param } from "./precompiled.js";
import type { Database, KeysTable } from "./schema.js";
import { type SqliteRunner, sqliteRunnerOf } from "./sqlite-runner.js";
import type { Settlement } from "./store.js";

/**
 * How long a reservation's lease lasts on a shared database: far beyond any request's life
 * (streams included), so only a request that died with its instance ever outlives it.
 */
const LEASE_MS = 60 * 60_000;

/**
 * The gateway's statements on any Kysely dialect: the key lookup, the reservation (one
 * conditional UPDATE: the overspend guarantee, DESIGN invariant 8) and the settle. Writes are
 * group-committed: those that arrive while other requests are in flight go into one transaction
 * at the end of the event loop's turn (each still resolved only once that transaction has
 * committed); a lone request writes at once. On SQLite reservations join the group commit too
 * (each still its own conditional UPDATE, run one after the other on the one connection); on
 * PostgreSQL they run on their own, so no row lock is held for a whole batch.
 */
export class GatewayQueries {
  private readonly findKeyQuery: Precompiled<Selectable<KeysTable>>;
  private readonly reserveQuery: Precompiled<{ hash: string }>;
  private readonly settleKeyQuery: Precompiled<unknown>;
  private readonly insertRequestQuery: Precompiled<unknown>;
  /** Reservations this process made and has not settled yet: are other requests in flight? */
  private inFlight = 0;
  private readonly sqlite: SqliteRunner | undefined;
  /** On a shared database (PostgreSQL) each reservation also holds a lease row. */
  private readonly leases: boolean;
  private readonly reserveLeaseQuery: Precompiled<{ id: string }>;
  private readonly releaseLeaseQuery: Precompiled<{ micros: number }>;
  private readonly expireLeasesQuery: Precompiled<unknown>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly group: GroupCommit,
  ) {
    this.sqlite = sqliteRunnerOf(db);
    this.leases = this.sqlite === undefined;
    this.findKeyQuery = new Precompiled(
      db.selectFrom("keys").selectAll().where("hash", "=", param<string>("hash")).compile(),
    );

    const micros = param<number>("micros");
    // The usage the limit is compared with: the current window's counter (zero once the window
    // has rolled over) for a resetting limit, lifetime usage otherwise.
    const usageInLimitWindow = sql<number>`CASE limit_reset
      WHEN 'daily' THEN (CASE WHEN day_start = ${param("day")} THEN day_micros ELSE 0 END)
      WHEN 'weekly' THEN (CASE WHEN week_start = ${param("week")} THEN week_micros ELSE 0 END)
      WHEN 'monthly' THEN (CASE WHEN month_start = ${param("month")} THEN month_micros ELSE 0 END)
      ELSE usage_micros END`;
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
      .returning("hash");
    this.reserveQuery = new Precompiled(reserve.compile());
    // PostgreSQL: the same UPDATE and its lease, in one statement.
    this.reserveLeaseQuery = new Precompiled(
      sql<{ id: string }>`WITH reserved AS (${reserve})
        INSERT INTO reservations (id, key_hash, micros, expires_at)
        SELECT ${param("id")}, hash, ${micros}, ${param("expiresAt")} FROM reserved
        RETURNING id`.compile(db),
    );
    this.releaseLeaseQuery = new Precompiled(
      db
        .deleteFrom("reservations")
        .where("id", "=", param<string>("id"))
        .returning("micros")
        .compile(),
    );
    // Leases past their expiry belong to requests that died with their instance: each is
    // deleted exactly once (here or by its settle), and only then subtracted from its key.
    this.expireLeasesQuery = new Precompiled(
      sql`WITH expired AS (
        DELETE FROM reservations WHERE expires_at <= ${param("now")} RETURNING key_hash, micros
      ), totals AS (SELECT key_hash, sum(micros) AS micros FROM expired GROUP BY key_hash)
      UPDATE keys SET reserved_micros = CASE WHEN keys.reserved_micros > totals.micros
        THEN keys.reserved_micros - totals.micros ELSE 0 END
      FROM totals WHERE keys.hash = totals.key_hash`.compile(db),
    );

    // Each counter restarts at `cost` when its window rolled over, in the same statement that
    // releases the reservation; a counter already in a later window (clock skew between
    // instances) is left alone.
    const cost = param<number>("cost");
    const counter = (window: "day" | "week" | "month") => {
      const start = param<number>(window);
      return {
        [`${window}_micros`]: sql<number>`CASE WHEN ${sql.ref(`${window}_start`)} = ${start} THEN ${sql.ref(`${window}_micros`)} + ${cost} WHEN ${sql.ref(`${window}_start`)} > ${start} THEN ${sql.ref(`${window}_micros`)} ELSE ${cost} END`,
        [`${window}_start`]: sql<number>`CASE WHEN ${sql.ref(`${window}_start`)} > ${start} THEN ${sql.ref(`${window}_start`)} ELSE ${start} END`,
      };
    };
    const reserved = param<number>("reserved");
    this.settleKeyQuery = new Precompiled(
      db
        .updateTable("keys")
        .set({
          reserved_micros: sql<number>`CASE WHEN reserved_micros > ${reserved} THEN reserved_micros - ${reserved} ELSE 0 END`,
          usage_micros: sql<number>`usage_micros + ${cost}`,
          ...counter("day"),
          ...counter("week"),
          ...counter("month"),
        })
        .where("hash", "=", param<string>("hash"))
        .compile(),
    );
    this.insertRequestQuery = new Precompiled(
      db
        .insertInto("requests")
        .values({
          id: param("id"),
          key_hash: param<string>("hash"),
          model: param("model"),
          upstream: param("upstream"),
          streamed: param("streamed"),
          status: param("status"),
          prompt_tokens: param("promptTokens"),
          completion_tokens: param("completionTokens"),
          cost_micros: cost,
          usage_estimated: param("usageEstimated"),
          duration_ms: param("durationMs"),
          created_at: param("createdAt"),
        })
        .compile(),
    );
  }

  /** The rows of one statement: synchronously on an idle SQLite connection, else through Kysely. */
  private async rows<Row>(query: CompiledQuery<Row>): Promise<Row[]> {
    const sqlite = this.sqlite;
    if (sqlite && !sqlite.inTransaction) return sqlite.all(query.sql, query.parameters) as Row[];
    return (await this.db.executeQuery(query)).rows;
  }

  async findKey(hash: string): Promise<Selectable<KeysTable> | undefined> {
    return (await this.rows(this.findKeyQuery.bind({ hash })))[0];
  }

  async reserveBudget(
    keyHash: string,
    micros: number,
    now: Date,
    leaseId: string,
  ): Promise<boolean> {
    const starts = windowStarts(now);
    const values = {
      hash: keyHash,
      micros,
      day: starts.day,
      week: starts.week,
      month: starts.month,
    };
    if (this.leases) {
      const expiresAt = now.getTime() + LEASE_MS;
      const leased = await this.rows(
        this.reserveLeaseQuery.bind({ ...values, id: leaseId, expiresAt }),
      );
      if (leased.length > 0) this.inFlight += 1;
      return leased.length > 0;
    }
    const query = this.reserveQuery.bind(values);
    // On SQLite a reservation joins the group commit while other requests are in flight (still
    // its own conditional UPDATE); on PostgreSQL it runs on its own, so no row lock is held for a
    // whole batch.
    const reserved =
      this.sqlite && !this.alone()
        ? await this.group.submit<boolean>({
            sqlite: (runner) => runner.all(query.sql, query.parameters).length > 0,
            kysely: async (trx) => (await trx.executeQuery(query)).rows.length > 0,
          })
        : (await this.rows(query)).length > 0;
    if (reserved) this.inFlight += 1;
    return reserved;
  }

  /**
   * Settles in the next group commit, or at once when no other request is in flight; resolves
   * once the settlement's transaction has committed. With `answerFirst`, a settle that would run
   * at once runs in the event loop's next check phase instead and the promise resolves now: the
   * answer goes out first, and the settle still commits before any later request is read.
   */
  settleRequest(settlement: Settlement, options: { answerFirst?: boolean } = {}): Promise<void> {
    const write = this.settleWrite(settlement);
    const alone = this.sqlite !== undefined && this.inFlight <= 1 && this.group.idle;
    if (alone && options.answerFirst) {
      // Still in flight until written, so a shutdown waits for it.
      setImmediate(() => {
        this.inFlight = Math.max(0, this.inFlight - 1);
        const written = this.group.idle ? this.runNow(write) : this.group.submit(write);
        written.catch((error: unknown) =>
          console.error("keyport: settling a request failed", error),
        );
      });
      return Promise.resolve();
    }
    this.inFlight = Math.max(0, this.inFlight - 1);
    return alone ? this.runNow(write) : this.group.submit(write);
  }

  private runNow(write: BatchedWrite<void>): Promise<void> {
    try {
      return Promise.resolve(this.group.runNow(write));
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
    const record = this.insertRequest(settlement);
    const release = this.leases
      ? this.releaseLeaseQuery.bind({ id: settlement.record.id })
      : undefined;
    const settleKey = (reserved: number) => this.settleKey(settlement, reserved);
    return {
      order: settlement.record.keyHash,
      sqlite(runner) {
        const key = settleKey(settlement.reservedMicros);
        runner.run(key.sql, key.parameters);
        runner.run(record.sql, record.parameters);
      },
      async kysely(trx) {
        // With leases, only what this settle's own lease still held is released: a lease the
        // sweeper expired has been released already.
        const reserved = release
          ? Number((await trx.executeQuery(release)).rows[0]?.micros ?? 0)
          : settlement.reservedMicros;
        await trx.executeQuery(settleKey(reserved));
        await trx.executeQuery(record);
      },
    };
  }

  /** Releases leases past their expiry (a shared database's crashed instances); their count. */
  async expireLeases(now: Date): Promise<number> {
    if (!this.leases) return 0;
    const result = await this.db.executeQuery(this.expireLeasesQuery.bind({ now: now.getTime() }));
    return Number(result.numAffectedRows ?? 0);
  }

  private settleKey({ record, settledAt }: Settlement, reserved: number): CompiledQuery<unknown> {
    const starts = windowStarts(settledAt);
    return this.settleKeyQuery.bind({
      hash: record.keyHash,
      reserved,
      cost: record.costMicros,
      day: starts.day,
      week: starts.week,
      month: starts.month,
    });
  }

  private insertRequest({ record }: Settlement): CompiledQuery<unknown> {
    return this.insertRequestQuery.bind({
      id: record.id,
      hash: record.keyHash,
      model: record.model,
      upstream: record.upstream,
      streamed: record.streamed ? 1 : 0,
      status: record.status,
      promptTokens: record.promptTokens,
      completionTokens: record.completionTokens,
      cost: record.costMicros,
      usageEstimated: record.usageEstimated ? 1 : 0,
      durationMs: record.durationMs,
      createdAt: record.createdAt.getTime(),
    });
  }
}
