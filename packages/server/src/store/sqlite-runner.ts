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
}
