import type { Kysely } from "kysely";
import type { StoreDialect } from "./dialect.js";
import type { GroupCommit } from "./group-commit.js";
import { Precompiled, param } from "./precompiled.js";
import type { Database } from "./schema.js";
import type { SettleStatements } from "./settle-statements.js";
import type { LeaseCheckpoint, NewReservation, Settlement } from "./store.js";

/**
 * Reservation leases: their renewal with what a request delivered (its checkpoint), and the end
 * of those whose request died with its instance — billed to their last checkpoint, released once.
 */
export class LeaseQueries {
  private readonly renewLeaseQuery: Precompiled<{ id: string }>;
  private readonly writeLeaseQuery: Precompiled<unknown>;
  private readonly sharedLeases: boolean;
  /** On SQLite: the reservations of this process that wrote a lease (a checkpoint). */
  private readonly written = new Set<string>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly group: GroupCommit,
    dialect: StoreDialect,
    private readonly settles: SettleStatements,
  ) {
    this.sharedLeases = dialect.sharedLeases;
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
          micros: param<number>("micros"),
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
  }

  /** On SQLite: whether request `id` wrote a lease (its settle must end it); forgets it. */
  forget(id: string): boolean {
    return this.written.delete(id);
  }

  /**
   * Renews leases and records checkpoints. Shared database: every live lease is renewed (the
   * ids whose lease is gone are returned). SQLite: only leases with something delivered are
   * written, so short requests never write one.
   */
  async renew(checkpoints: readonly LeaseCheckpoint[], expiresAt: Date): Promise<string[]> {
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
    // Marked before the write is queued: a settle queued after it in the same batch must delete
    // the lease this write makes.
    for (const { reservation, deliveredMicros } of checkpoints)
      if (deliveredMicros > 0) this.written.add(reservation.id);
    await this.group.submit<void>({
      sqlite(runner) {
        for (const write of writes) runner.run(write.sql, write.parameters);
      },
      async kysely(trx) {
        for (const write of writes) await trx.executeQuery(write);
      },
    });
    return [];
  }

  /** Ends the leases past their expiry on a shared database (crashed instances'); their count. */
  expire(now: Date): Promise<number> {
    return this.sharedLeases ? this.endLeases(now.getTime(), now) : Promise.resolve(0);
  }

  /** Ends every lease: a start-up on a SQLite file, where no request can be in flight. */
  endAll(now: Date): Promise<number> {
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
        // A lease left behind by a request that did settle: its reservation went with it.
        const settled = await trx
          .selectFrom("requests")
          .select("id")
          .where("id", "=", lease.id)
          .executeTakeFirst();
        if (settled) continue;
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
        await trx.executeQuery(
          this.settles.settleKey(settlement, micros, settlement.record.costMicros),
        );
        await trx.executeQuery(this.settles.insertRequest(settlement));
      }
      return ended.length;
    });
  }
}

/**
 * The status a request record gets when its instance died before it settled: what it had
 * delivered at its last checkpoint is what was billed.
 */
const INTERRUPTED_STATUS = 500;

/** A lease's columns, as the reservation statements bind them. */
export function leaseValues(reservation: NewReservation) {
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
