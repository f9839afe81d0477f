/**
 * Runs SQL synchronously on a SQLite connection, for the hot statements: each is a single
 * statement, or a batch in one `BEGIN … COMMIT` run without yielding to the event loop, so
 * skipping Kysely's asynchronous connection hand-over changes nothing about atomicity.
 */
export interface SqliteRunner {
  /** A transaction (Kysely's) is open on the connection: leave the connection to it. */
  readonly inTransaction: boolean;
  all(sql: string, parameters: readonly unknown[]): unknown[];
  run(sql: string, parameters: readonly unknown[]): void;
  /** How the hot writes are made durable off the event loop; absent: each commit syncs itself. */
  readonly log?: WriteAheadLog;
}

/**
 * The connection's write-ahead log, synced on demand. The connection syncs every commit
 * (`synchronous = FULL`), blocking the event loop for the length of an fsync; the hot writes
 * instead commit `unsynced` and wait for a `sync` that the thread pool runs while the event loop
 * goes on reading requests. A commit's frames are on disk once a sync begun after it has
 * completed: what `FULL` does, without stalling the process.
 */
export interface WriteAheadLog {
  /** Runs `commit` (one or more whole transactions) without syncing them. */
  unsynced<T>(commit: () => T): T;
  /** Syncs the log: everything committed before the call is on disk once it resolves. */
  sync(): Promise<void>;
}
