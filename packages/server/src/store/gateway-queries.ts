import { type CompiledQuery, type Kysely, type Selectable, sql, type Transaction } from "kysely";
import { windowStarts } from "../domain/credits.js";
import type { Database, KeysTable } from "./schema.js";
import type { Settlement } from "./store.js";

/** A named slot in a query compiled once; `bind` fills it per call. */
class Param {
  constructor(readonly name: string) {}
}

/** A value the typed query builder accepts in place of a real one, compiled as a parameter. */
function param<T>(name: string): T {
  return new Param(name) as unknown as T;
}

/**
 * A query built and compiled once by the database's own dialect (so SQLite gets `?` and
 * PostgreSQL `$1`), run many times with fresh parameter values: the gateway's hot path issues the
 * same three statements for every request, and building them anew showed in its profile.
 */
class Precompiled<Row> {
  private readonly slots: readonly (Param | { readonly value: unknown })[];

  constructor(private readonly compiled: CompiledQuery<Row>) {
    this.slots = compiled.parameters.map((value) =>
      value instanceof Param ? value : { value: value as unknown },
    );
  }

  bind(values: Readonly<Record<string, unknown>>): CompiledQuery<Row> {
    const parameters = this.slots.map((slot) =>
      slot instanceof Param ? values[slot.name] : slot.value,
    );
    return { ...this.compiled, parameters };
  }
}

/**
 * Runs SQL synchronously on a SQLite connection, for the gateway's hot statements: each one is a
 * single statement (or, for a batch of settles, one `BEGIN … COMMIT` run without yielding), so
 * skipping Kysely's asynchronous connection hand-over changes nothing about atomicity.
 */
export interface SqliteRunner {
  /** A transaction (Kysely's) is open on the connection: leave the connection to it. */
  readonly inTransaction: boolean;
  all(sql: string, parameters: readonly unknown[]): unknown[];
  run(sql: string, parameters: readonly unknown[]): void;
}

const sqliteRunners = new WeakMap<Kysely<Database>, SqliteRunner>();

/** Lets the gateway's statements on `db` (a SQLite database) run synchronously through `runner`. */
export function registerSqliteRunner(db: Kysely<Database>, runner: SqliteRunner): void {
  sqliteRunners.set(db, runner);
}

/** Where a queued settlement stands. */
interface QueuedSettlement {
  readonly settlement: Settlement;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * The gateway's statements on any Kysely dialect: the key lookup, the reservation (one
 * conditional UPDATE: the overspend guarantee, DESIGN invariant 8) and the settle, which is
 * group-committed: settlements that arrive while the event loop is busy go into one transaction,
 * each still resolved only once its transaction has committed.
 */
export class GatewayQueries {
  private readonly findKeyQuery: Precompiled<Selectable<KeysTable>>;
  private readonly reserveQuery: Precompiled<{ hash: string }>;
  private readonly settleKeyQuery: Precompiled<unknown>;
  private readonly insertRequestQuery: Precompiled<unknown>;
  private queue: QueuedSettlement[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;

  private readonly sqlite: SqliteRunner | undefined;

  constructor(private readonly db: Kysely<Database>) {
    this.sqlite = sqliteRunners.get(db);
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
    const rows = await this.rows(
      this.reserveQuery.bind({
        hash: keyHash,
        micros,
        day: starts.day,
        week: starts.week,
        month: starts.month,
      }),
    );
    return rows.length > 0;
  }

  /**
   * Queues the settlement for the next group commit and resolves once its transaction has
   * committed. One commit at a time: what arrives meanwhile goes into the next one.
   */
  settleRequest(settlement: Settlement): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ settlement, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once every settlement queued so far has been written (or has failed). */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length > 0) {
      if (this.flushing) await this.flushing;
      else await this.flush();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // One event-loop turn: settlements of requests that finish together share a transaction.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.commit(batch).finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.schedule();
    });
    return this.flushing;
  }

  private async commit(batch: QueuedSettlement[]): Promise<void> {
    if (batch.length === 0) return;
    // Rows in one order, so concurrent batches (other instances on PostgreSQL) cannot deadlock.
    if (batch.length > 1)
      batch.sort((a, b) =>
        a.settlement.record.keyHash < b.settlement.record.keyHash
          ? -1
          : a.settlement.record.keyHash > b.settlement.record.keyHash
            ? 1
            : 0,
      );
    try {
      const sqlite = this.sqlite;
      if (sqlite && !sqlite.inTransaction) this.commitNow(sqlite, batch);
      else
        await this.db.transaction().execute(async (trx) => {
          for (const { settlement } of batch) await this.settleIn(trx, settlement);
        });
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      // One bad settlement must not lose the others: each on its own.
      for (const item of batch) {
        try {
          await this.db.transaction().execute((trx) => this.settleIn(trx, item.settlement));
          item.resolve();
        } catch (single) {
          item.reject(single);
        }
      }
      return;
    }
    for (const item of batch) item.resolve();
  }

  /** The whole batch in one SQLite transaction, without yielding to the event loop. */
  private commitNow(sqlite: SqliteRunner, batch: readonly QueuedSettlement[]): void {
    sqlite.run("begin", []);
    try {
      for (const { settlement } of batch) {
        const key = this.settleKey(settlement);
        sqlite.run(key.sql, key.parameters);
        const record = this.insertRequest(settlement);
        sqlite.run(record.sql, record.parameters);
      }
      sqlite.run("commit", []);
    } catch (error) {
      if (sqlite.inTransaction) sqlite.run("rollback", []);
      throw error;
    }
  }

  private async settleIn(trx: Transaction<Database>, settlement: Settlement): Promise<void> {
    await trx.executeQuery(this.settleKey(settlement));
    await trx.executeQuery(this.insertRequest(settlement));
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
