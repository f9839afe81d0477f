import type { SqliteRunner } from "./sqlite-runner.js";

/**
 * What differs between the databases the store runs on, decided once when the database is opened
 * rather than detected where it matters.
 */
export interface StoreDialect {
  readonly name: "sqlite" | "postgres";
  /** Runs the hot statements synchronously on SQLite's one connection; absent elsewhere. */
  readonly sqlite?: SqliteRunner;
  /**
   * Several instances may share the database (PostgreSQL): every reservation takes its lease in
   * the statement that makes it, and expired leases are swept while the server runs. On a SQLite
   * file (one server, OS-locked) only checkpointing streams write a lease, and leases are ended
   * at start-up.
   */
  readonly sharedLeases: boolean;
}

/** PostgreSQL: shared by any number of instances. */
export const POSTGRES_DIALECT: StoreDialect = Object.freeze({
  name: "postgres",
  sharedLeases: true,
});

/** A SQLite file, with its synchronous runner. */
export function sqliteDialect(runner: SqliteRunner): StoreDialect {
  return Object.freeze({ name: "sqlite", sqlite: runner, sharedLeases: false });
}
