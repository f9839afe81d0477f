import type { Kysely, Transaction } from "kysely";
import { LogSync } from "./log-sync.js";
import type { Database } from "./schema.js";
import type { SqliteRunner } from "./sqlite-runner.js";

/** One write, as it runs on either path. */
export interface BatchedWrite<T> {
  /** On an idle SQLite connection, synchronously, inside the batch's `BEGIN … COMMIT`. */
  sqlite(runner: SqliteRunner): T;
  /** Inside a Kysely transaction (PostgreSQL, or SQLite while Kysely holds the connection). */
  kysely(trx: Transaction<Database>): Promise<T>;
  /** Batches run their writes in this order, so concurrent batches cannot deadlock on row locks. */
  readonly order?: string;
  /**
   * `false`: the write may be lost in a power loss without harm (a reservation, released at the
   * next start anyway), so it resolves at its commit rather than once the commit is on disk.
   */
  readonly durable?: boolean;
}

interface Queued {
  readonly write: BatchedWrite<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Group commit: writes submitted while the event loop is busy go into one transaction at the end
 * of its turn, each resolved only once that transaction has committed. A commit is what costs on
 * a durable database (WAL frames on SQLite, a flush on PostgreSQL), so sharing it is what lets
 * concurrent requests scale; each write keeps its own statements and their atomicity.
 */
export class GroupCommit {
  private queue: Queued[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  /** Syncs of SQLite's log for the hot writes, off the event loop (see `WriteAheadLog`). */
  private readonly logSync: LogSync | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    /** SQLite's synchronous runner, when the database is SQLite. */
    private readonly sqlite?: SqliteRunner,
  ) {
    const log = sqlite?.log;
    this.logSync = log && new LogSync(() => log.sync());
  }

  /** Whether a write could go straight to SQLite now: nothing queued, nothing in its way. */
  get idle(): boolean {
    return (
      this.queue.length === 0 &&
      !this.flushing &&
      this.sqlite !== undefined &&
      !this.sqlite.inTransaction
    );
  }

  /** Queues `write` for the next group commit; resolves with its result once committed. */
  submit<T>(write: BatchedWrite<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /**
   * Runs `write` at once in a transaction of its own; only when {@link idle}. Returns its result,
   * and a promise that resolves once it is on disk (at once when it is not `durable`).
   */
  runNow<T>(write: BatchedWrite<T>): { result: T; onDisk: Promise<void> } {
    if (!this.sqlite || !this.idle) throw new Error("runNow needs an idle SQLite connection");
    const result = this.commitSqlite(this.sqlite, [write])[0] as T;
    return { result, onDisk: this.onDisk([write]) };
  }

  /** Resolves once every write submitted so far has been made (or has failed). */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length > 0) {
      if (this.flushing) await this.flushing;
      else await this.flush();
    }
    await this.logSync?.idle();
  }

  /**
   * Resolves once `writes`, committed unsynced, are on disk: at once when none is `durable` or
   * when each commit synced itself.
   */
  private onDisk(writes: readonly BatchedWrite<unknown>[]): Promise<void> {
    if (!this.logSync || writes.every((write) => write.durable === false)) return Promise.resolve();
    return this.logSync.afterCommits();
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

  private async commit(batch: Queued[]): Promise<void> {
    if (batch.length === 0) return;
    const sqlite = this.sqlite;
    if (!sqlite) batch.sort((a, b) => compare(a.write.order ?? "", b.write.order ?? ""));
    const writes = batch.map((queued) => queued.write);
    let results: unknown[];
    // Set once every write ran: a failure after that is the COMMIT's, whose outcome is unknown
    // (the connection may have dropped after the server committed), so nothing is retried.
    let written = false;
    try {
      if (sqlite && !sqlite.inTransaction) {
        const committed = this.commitSqlite(sqlite, writes);
        // Resolved once on disk. The next batch may commit meanwhile (its sync follows this one),
        // so a slow disk costs latency, not throughput. A failed sync leaves the outcome after a
        // power loss unknown: every write fails and none is retried (an exchange whose key was
        // not returned is then refused, its code being spent, and a replay revokes the key).
        this.onDisk(writes).then(
          () => {
            for (const [index, queued] of batch.entries()) queued.resolve(committed[index]);
          },
          (error: unknown) => {
            for (const queued of batch) queued.reject(error);
          },
        );
        return;
      }
      results = await this.db.transaction().execute(async (trx) => {
        const done: unknown[] = [];
        for (const write of writes) done.push(await write.kysely(trx));
        written = true;
        return done;
      });
    } catch (error) {
      if (batch.length === 1 || written) {
        for (const queued of batch) queued.reject(error);
        return;
      }
      // One bad write must not fail the others: each on its own.
      for (const queued of batch) {
        try {
          queued.resolve(await this.commitAlone(queued.write));
        } catch (single) {
          queued.reject(single);
        }
      }
      return;
    }
    for (const [index, queued] of batch.entries()) queued.resolve(results[index]);
  }

  /**
   * One write in a transaction of its own. On SQLite through the synchronous runner, which rolls
   * back only a transaction still open: a failed COMMIT (a full disk) has already rolled back, and
   * Kysely's unconditional ROLLBACK would then fail and hide the real error.
   */
  private async commitAlone(write: BatchedWrite<unknown>): Promise<unknown> {
    const sqlite = this.sqlite;
    if (!sqlite || sqlite.inTransaction)
      return this.db.transaction().execute((trx) => write.kysely(trx));
    const result = this.commitSqlite(sqlite, [write])[0];
    await this.onDisk([write]);
    return result;
  }

  /**
   * The whole batch in one SQLite transaction, without yielding to the event loop; unsynced when
   * the runner syncs its log apart (the caller waits for {@link onDisk}).
   */
  private commitSqlite(sqlite: SqliteRunner, writes: readonly BatchedWrite<unknown>[]): unknown[] {
    const log = sqlite.log;
    return log ? log.unsynced(() => transaction(sqlite, writes)) : transaction(sqlite, writes);
  }
}

/** `writes` in one `BEGIN … COMMIT`, rolled back (if still open) when one fails. */
function transaction(sqlite: SqliteRunner, writes: readonly BatchedWrite<unknown>[]): unknown[] {
  const results: unknown[] = [];
  sqlite.run("begin", []);
  try {
    for (const write of writes) results.push(write.sqlite(sqlite));
    sqlite.run("commit", []);
  } catch (error) {
    if (sqlite.inTransaction) sqlite.run("rollback", []);
    throw error;
  }
  return results;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
