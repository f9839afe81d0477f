import { type CompiledQuery, type Kysely, type Selectable, sql } from "kysely";
import { windowStarts } from "../domain/credits.js";
import type { BatchedWrite, GroupCommit } from "./group-commit.js";
import { Precompiled, param } from "./precompiled.js";
import type { Database, KeysTable } from "./schema.js";
import { type SqliteRunner, sqliteRunnerOf } from "./sqlite-runner.js";
import type { Settlement } from "./store.js";

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

  constructor(
    private readonly db: Kysely<Database>,
    private readonly group: GroupCommit,
  ) {
    this.sqlite = sqliteRunnerOf(db);
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
    this.reserveQuery = new Precompiled(
      db
        .updateTable("keys")
        .set((eb) => ({ reserved_micros: eb("reserved_micros", "+", micros) }))
        .where("hash", "=", param<string>("hash"))
        .where("revoked_at", "is", null)
        .where("disabled", "=", 0)
        .where(
          sql<boolean>`(limit_micros IS NULL OR ${usageInLimitWindow} + reserved_micros + ${micros} <= limit_micros)`,
        )
        .returning("hash")
        .compile(),
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

  async reserveBudget(keyHash: string, micros: number, now: Date): Promise<boolean> {
    const starts = windowStarts(now);
    const query = this.reserveQuery.bind({
      hash: keyHash,
      micros,
      day: starts.day,
      week: starts.week,
      month: starts.month,
    });
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
    const key = this.settleKey(settlement);
    const record = this.insertRequest(settlement);
    return {
      order: settlement.record.keyHash,
      sqlite(runner) {
        runner.run(key.sql, key.parameters);
        runner.run(record.sql, record.parameters);
      },
      async kysely(trx) {
        await trx.executeQuery(key);
        await trx.executeQuery(record);
      },
    };
  }

  private settleKey({ reservedMicros, record, settledAt }: Settlement): CompiledQuery<unknown> {
    const starts = windowStarts(settledAt);
    return this.settleKeyQuery.bind({
      hash: record.keyHash,
      reserved: reservedMicros,
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
