import { type CompiledQuery, type Kysely, type Selectable, sql } from "kysely";
import { windowStarts } from "../domain/credits.js";
import type { StoreDialect } from "./dialect.js";
import type { BatchedWrite, GroupCommit } from "./group-commit.js";
import { Precompiled, param } from "./precompiled.js";
import type { Database, KeysTable } from "./schema.js";
import type { SqliteRunner } from "./sqlite-runner.js";
import type { LeaseCheckpoint, NewReservation, Settlement } from "./store.js";

/**
 * The gateway's statements on any Kysely dialect: the key lookup, the reservation (one
 * conditional UPDATE: the overspend guarantee, DESIGN invariant 8), the lease renewals that
 * checkpoint running streams, and the settle. Writes are group-committed: those that arrive while
 * other requests are in flight go into one transaction at the end of the event loop's turn (each
 * still resolved only once that transaction has committed); a lone request writes at once. On
 * SQLite reservations join the group commit too (each still its own conditional UPDATE, run one
 * after the other on the one connection); on PostgreSQL they run on their own, so no row lock is
 * held for a whole batch.
 */
export class GatewayQueries {
  private readonly findKeyQuery: Precompiled<Selectable<KeysTable>>;
  private readonly reserveQuery: Precompiled<{ hash: string }>;
  private readonly settleKeyQuery: Precompiled<unknown>;
  private readonly insertRequestQuery: Precompiled<unknown>;
  /** Reservations this process made and has not settled yet: are other requests in flight? */
  private inFlight = 0;
  private readonly sqlite: SqliteRunner | undefined;
  private readonly sharedLeases: boolean;
  private readonly reserveLeaseQuery: Precompiled<{ id: string }>;
  private readonly releaseLeaseQuery: Precompiled<{ micros: number }>;
  private readonly renewLeaseQuery: Precompiled<{ id: string }>;
  private readonly writeLeaseQuery: Precompiled<unknown>;
  /** On SQLite: the reservations of this process that wrote a lease (a checkpoint). */
  private readonly writtenLeases = new Set<string>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly group: GroupCommit,
    dialect: StoreDialect,
  ) {
    this.sqlite = dialect.sqlite;
    this.sharedLeases = dialect.sharedLeases;
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
    // Shared database: the same UPDATE and its lease, in one statement.
    this.reserveLeaseQuery = new Precompiled(
      sql<{ id: string }>`WITH reserved AS (${reserve})
        INSERT INTO reservations (id, key_hash, micros, expires_at, model, upstream, streamed, created_at)
        SELECT ${param("id")}, hash, ${micros}, ${param("expiresAt")}, ${param("model")},
          ${param("upstream")}, ${param("streamed")}, ${param("createdAt")} FROM reserved
        RETURNING id`.compile(db),
    );
    this.releaseLeaseQuery = new Precompiled(
      db
        .deleteFrom("reservations")
        .where("id", "=", param<string>("id"))
        .returning("micros")
        .compile(),
    );
    this.renewLeaseQuery = new Precompiled(
      db
        .updateTable("reservations")
        .set({
          expires_at: param<number>("expiresAt"),
          checkpoint_micros: param<number>("checkpoint"),
        })
        .where("id", "=", param<string>("id"))
        .returning("id")
        .compile(),
    );
    // SQLite: a stream's first checkpoint writes its lease, later ones update it.
    this.writeLeaseQuery = new Precompiled(
      db
        .insertInto("reservations")
        .values({
          id: param("id"),
          key_hash: param("hash"),
          micros,
          expires_at: param("expiresAt"),
          checkpoint_micros: param("checkpoint"),
          model: param("model"),
          upstream: param("upstream"),
          streamed: param("streamed"),
          created_at: param("createdAt"),
        })
        .onConflict((oc) =>
          oc.column("id").doUpdateSet({
            expires_at: param<number>("expiresAt"),
            checkpoint_micros: param<number>("checkpoint"),
          }),
        )
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
          overrun_micros: param("overrun"),
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
      const leased = await this.rows(
        this.reserveLeaseQuery.bind({ ...values, ...leaseValues(reservation) }),
      );
      if (leased.length > 0) this.inFlight += 1;
      return leased.length > 0;
    }
    const query = this.reserveQuery.bind(values);
    // On SQLite a reservation joins the group commit while other requests are in flight (still
    // its own conditional UPDATE).
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
   * Renews leases and records checkpoints. Shared database: every live lease is renewed (the
   * ids whose lease is gone are returned). SQLite: only leases with something delivered are
   * written, so short requests never write one.
   */
  async renewLeases(checkpoints: readonly LeaseCheckpoint[], expiresAt: Date): Promise<string[]> {
    const until = expiresAt.getTime();
    if (this.sharedLeases) {
      const lost: string[] = [];
      await this.db.transaction().execute(async (trx) => {
        for (const { reservation, deliveredMicros } of sortedByKey(checkpoints)) {
          const renewed = await trx.executeQuery(
            this.renewLeaseQuery.bind({
              id: reservation.id,
              expiresAt: until,
              checkpoint: Math.min(deliveredMicros, reservation.micros),
            }),
          );
          if (renewed.rows.length === 0) lost.push(reservation.id);
        }
      });
      return lost;
    }
    const writes = checkpoints
      .filter((checkpoint) => checkpoint.deliveredMicros > 0)
      .map(({ reservation, deliveredMicros }) =>
        this.writeLeaseQuery.bind({
          ...leaseValues(reservation),
          hash: reservation.keyHash,
          micros: reservation.micros,
          expiresAt: until,
          checkpoint: Math.min(deliveredMicros, reservation.micros),
        }),
      );
    if (writes.length === 0) return [];
    await this.group.submit<void>({
      sqlite(runner) {
        for (const write of writes) runner.run(write.sql, write.parameters);
      },
      async kysely(trx) {
        for (const write of writes) await trx.executeQuery(write);
      },
    });
    for (const { reservation, deliveredMicros } of checkpoints)
      if (deliveredMicros > 0) this.writtenLeases.add(reservation.id);
    return [];
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
    const id = settlement.record.id;
    const record = this.insertRequest(settlement);
    const leased = this.sharedLeases || this.writtenLeases.delete(id);
    const release = leased ? this.releaseLeaseQuery.bind({ id }) : undefined;
    const settleKey = (reserved: number, cost: number) =>
      this.settleKey(settlement, reserved, cost);
    const overrun = (prior: number) =>
      this.insertRequest({
        ...settlement,
        record: {
          ...settlement.record,
          costMicros: prior,
          overrunMicros: settlement.record.overrunMicros + settlement.record.costMicros - prior,
        },
      });
    // Built only on the rare path that needs them.
    const expired = () => this.priorChargeQuery(id);
    const forget = () => this.deleteRequest(id);
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

  /** Ends the leases past their expiry on a shared database (crashed instances'); their count. */
  expireLeases(now: Date): Promise<number> {
    return this.sharedLeases ? this.endLeases(now.getTime(), now) : Promise.resolve(0);
  }

  /** Ends every lease: a start-up on a SQLite file, where no request can be in flight. */
  endAllLeases(now: Date): Promise<number> {
    return this.endLeases(Number.MAX_SAFE_INTEGER, now);
  }

  /**
   * Each lease ending by `before` is deleted exactly once (here, or by its own settle), and only
   * then its reservation released and its last checkpoint billed, with a request record.
   */
  private endLeases(before: number, now: Date): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const ended = await trx
        .deleteFrom("reservations")
        .where("expires_at", "<=", before)
        .returningAll()
        .execute();
      ended.sort((a, b) => (a.key_hash < b.key_hash ? -1 : a.key_hash > b.key_hash ? 1 : 0));
      for (const lease of ended) {
        const micros = Number(lease.micros);
        const createdAt = Number(lease.created_at);
        const settlement: Settlement = {
          reservedMicros: micros,
          settledAt: now,
          record: {
            id: lease.id,
            keyHash: lease.key_hash,
            model: lease.model,
            upstream: lease.upstream,
            streamed: Number(lease.streamed) === 1,
            status: INTERRUPTED_STATUS,
            promptTokens: 0,
            completionTokens: 0,
            costMicros: Math.min(Number(lease.checkpoint_micros), micros),
            overrunMicros: 0,
            usageEstimated: true,
            durationMs: Math.max(0, now.getTime() - createdAt),
            createdAt: new Date(createdAt),
          },
        };
        await trx.executeQuery(this.settleKey(settlement, micros, settlement.record.costMicros));
        await trx.executeQuery(this.insertRequest(settlement));
      }
      return ended.length;
    });
  }

  private priorChargeQuery(id: string): CompiledQuery<{ cost_micros: number }> {
    return this.db.selectFrom("requests").select("cost_micros").where("id", "=", id).compile();
  }

  private deleteRequest(id: string): CompiledQuery<unknown> {
    return this.db.deleteFrom("requests").where("id", "=", id).compile();
  }

  private settleKey(
    { record, settledAt }: Settlement,
    reserved: number,
    cost: number,
  ): CompiledQuery<unknown> {
    const starts = windowStarts(settledAt);
    return this.settleKeyQuery.bind({
      hash: record.keyHash,
      reserved,
      cost,
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
      overrun: record.overrunMicros,
      usageEstimated: record.usageEstimated ? 1 : 0,
      durationMs: record.durationMs,
      createdAt: record.createdAt.getTime(),
    });
  }
}

/**
 * The status a request record gets when its instance died before it settled: what it had
 * delivered at its last checkpoint is what was billed.
 */
const INTERRUPTED_STATUS = 500;

/** A lease's columns, as the reservation statements bind them. */
function leaseValues(reservation: NewReservation) {
  return {
    id: reservation.id,
    expiresAt: reservation.leaseExpiresAt.getTime(),
    model: reservation.model,
    upstream: reservation.upstream,
    streamed: reservation.streamed ? 1 : 0,
    createdAt: reservation.createdAt.getTime(),
  };
}

/** In key order, as every batch takes its row locks, so concurrent writers cannot deadlock. */
function sortedByKey(checkpoints: readonly LeaseCheckpoint[]): LeaseCheckpoint[] {
  return [...checkpoints].sort((a, b) =>
    a.reservation.keyHash < b.reservation.keyHash
      ? -1
      : a.reservation.keyHash > b.reservation.keyHash
        ? 1
        : 0,
  );
}
