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

/** A write waiting for the next group commit. */
type QueuedWrite =
  | {
      readonly kind: "reserve";
      readonly query: CompiledQuery<{ hash: string }>;
      resolve(reserved: boolean): void;
      reject(error: unknown): void;
    }
  | {
      readonly kind: "settle";
      readonly settlement: Settlement;
      resolve(): void;
      reject(error: unknown): void;
    };

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
  private queue: QueuedWrite[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  /** Reservations this process made and has not settled yet: are other requests in flight? */
  private inFlight = 0;
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
    const query = this.reserveQuery.bind({
      hash: keyHash,
      micros,
      day: starts.day,
      week: starts.week,
      month: starts.month,
    });
    let reserved: boolean;
    if (this.sqlite && !this.writeNow(0)) {
      reserved = await new Promise<boolean>((resolve, reject) => {
        this.queue.push({ kind: "reserve", query, resolve, reject });
        this.schedule();
      });
    } else {
      reserved = (await this.rows(query)).length > 0;
    }
    if (reserved) this.inFlight += 1;
    return reserved;
  }

  /**
   * Settles in the next group commit (or at once when no other request is in flight); resolves
   * once the settlement's transaction has committed.
   */
  settleRequest(settlement: Settlement): Promise<void> {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const sqlite = this.sqlite;
    if (sqlite && this.writeNow(0)) {
      try {
        this.commitSqlite(sqlite, [{ kind: "settle", settlement, resolve() {}, reject() {} }]);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: "settle", settlement, resolve, reject });
      this.schedule();
    });
  }

  /** Whether a write can go straight to SQLite: nothing to batch it with, nothing in its way. */
  private writeNow(othersInFlight: number): boolean {
    return (
      this.inFlight <= othersInFlight &&
      this.queue.length === 0 &&
      !this.flushing &&
      this.sqlite !== undefined &&
      !this.sqlite.inTransaction
    );
  }

  /** Resolves once every write queued so far has been made (or has failed). */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length > 0) {
      if (this.flushing) await this.flushing;
      else await this.flush();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // One event-loop turn: writes of requests that arrive or finish together share a commit.
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

  private async commit(batch: QueuedWrite[]): Promise<void> {
    if (batch.length === 0) return;
    let results: (boolean | undefined)[];
    try {
      const sqlite = this.sqlite;
      if (sqlite && !sqlite.inTransaction) results = this.commitSqlite(sqlite, batch);
      else {
        // Rows in one order, so concurrent batches (other instances on PostgreSQL) cannot
        // deadlock; only settles are queued there.
        if (!sqlite) batch.sort(byKeyHash);
        results = await this.db.transaction().execute(async (trx) => {
          const done: (boolean | undefined)[] = [];
          for (const write of batch) done.push(await this.writeIn(trx, write));
          return done;
        });
      }
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      // One bad write must not fail the others: each on its own.
      for (const write of batch) {
        try {
          const result = await this.db.transaction().execute((trx) => this.writeIn(trx, write));
          settleWrite(write, result);
        } catch (single) {
          write.reject(single);
        }
      }
      return;
    }
    for (const [index, write] of batch.entries()) settleWrite(write, results[index]);
  }

  /** The whole batch in one SQLite transaction, without yielding to the event loop. */
  private commitSqlite(
    sqlite: SqliteRunner,
    batch: readonly QueuedWrite[],
  ): (boolean | undefined)[] {
    const results: (boolean | undefined)[] = [];
    sqlite.run("begin", []);
    try {
      for (const write of batch) {
        if (write.kind === "reserve") {
          results.push(sqlite.all(write.query.sql, write.query.parameters).length > 0);
        } else {
          const key = this.settleKey(write.settlement);
          sqlite.run(key.sql, key.parameters);
          const record = this.insertRequest(write.settlement);
          sqlite.run(record.sql, record.parameters);
          results.push(undefined);
        }
      }
      sqlite.run("commit", []);
    } catch (error) {
      if (sqlite.inTransaction) sqlite.run("rollback", []);
      throw error;
    }
    return results;
  }

  private async writeIn(
    trx: Transaction<Database>,
    write: QueuedWrite,
  ): Promise<boolean | undefined> {
    if (write.kind === "reserve") return (await trx.executeQuery(write.query)).rows.length > 0;
    await trx.executeQuery(this.settleKey(write.settlement));
    await trx.executeQuery(this.insertRequest(write.settlement));
    return undefined;
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

function settleWrite(write: QueuedWrite, result: boolean | undefined): void {
  if (write.kind === "reserve") write.resolve(result === true);
  else write.resolve();
}

function byKeyHash(a: QueuedWrite, b: QueuedWrite): number {
  const x = a.kind === "settle" ? a.settlement.record.keyHash : "";
  const y = b.kind === "settle" ? b.settlement.record.keyHash : "";
  return x < y ? -1 : x > y ? 1 : 0;
}
