import { closeSync, existsSync, openSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import SQLite from "better-sqlite3";
import { isPostgresUrl } from "./open.js";

/** Thrown when a backup cannot be made this way (a PostgreSQL URL, a missing database file). */
export class BackupError extends Error {
  override name = "BackupError";
}

/** All the remaining pages in one step: one read transaction, so writers never restart it. */
const ALL_PAGES = 0x7fffffff;

/**
 * Copies a SQLite database to `target` with SQLite's online backup API, safe while a server
 * writes to it: the copy is one consistent snapshot (WAL readers never block the writer, nor it
 * them). It is written beside `target` (mode 0600: it holds what the database holds) and renamed
 * into place once it passed `PRAGMA quick_check`, so `target` is never a half-written file.
 * PostgreSQL has its own tool, `pg_dump`. Returns the number of pages copied.
 * @example
 * await backupDatabase(".keyport/keyport.sqlite", "/backups/keyport-2026-01-01.sqlite");
 */
export async function backupDatabase(database: string, target: string): Promise<number> {
  if (isPostgresUrl(database)) {
    throw new BackupError(
      'the database is PostgreSQL: back it up with pg_dump (e.g. pg_dump --format=custom --file=keyport.dump "$KEYPORT_DATABASE"), restore with pg_restore.',
    );
  }
  if (database === ":memory:" || !existsSync(database))
    throw new BackupError(`no SQLite database at ${database}.`);
  const partial = join(dirname(target), `.${Date.now()}-${process.pid}.keyport-backup`);
  // Created 0600 before SQLite writes to it.
  closeSync(openSync(partial, "wx", 0o600));
  const source = new SQLite(database, { fileMustExist: true });
  try {
    source.pragma("busy_timeout = 5000");
    const { totalPages } = await source.backup(partial, { progress: () => ALL_PAGES });
    const copy = new SQLite(partial, { fileMustExist: true });
    try {
      const check = copy.pragma("quick_check", { simple: true });
      if (check !== "ok") throw new BackupError(`the copy failed its check: ${String(check)}`);
    } finally {
      copy.close();
    }
    renameSync(partial, target);
    return totalPages;
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    source.close();
  }
}
