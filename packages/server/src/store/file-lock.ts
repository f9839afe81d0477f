import { closeSync, existsSync, mkdirSync, openSync, realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import SQLite from "better-sqlite3";

/** Held for a server's life; `release` lets the next server on the same file start. */
export interface ServerLock {
  /** The side file whose OS lock this is, e.g. `.keyport/keyport.sqlite.lock`. */
  readonly path: string;
  release(): void;
}

/** A second server tried to open a SQLite database another live server already serves. */
class DatabaseInUseError extends Error {
  override name = "DatabaseInUseError";
  constructor(
    readonly database: string,
    readonly lockPath: string,
  ) {
    super(
      `Another Keyport server is already using ${database} (it holds the lock on ${lockPath}). ` +
        "Stop that server first, or give this one another --database.",
    );
  }
}

/**
 * Takes the one-server-per-file lock of a SQLite database: an OS lock on the side file
 * `<database>.lock`, held until `release()` or until the process ends, however it ends (the OS
 * drops a dead process's locks, so a SIGKILL leaves nothing stale behind).
 *
 * Node has no `flock`; SQLite's own locking is used instead. The side file is opened as a SQLite
 * database in exclusive locking mode and a `BEGIN EXCLUSIVE` transaction is left open: SQLite
 * takes a POSIX `fcntl` write lock for it, and a second taker — another process, or another
 * connection in this process, which SQLite tracks per inode — gets `SQLITE_BUSY` at once
 * (`busy_timeout` 0). Nothing is ever written, so no journal appears. The side file is not the
 * database itself, so the lock never gets in the way of the store's WAL readers and writers, nor
 * of the CLI's admin commands (`keyport users create`), which open the database while a server
 * runs. Like any `fcntl` lock it is only as good as the file system's locking: reliable on a
 * local disk, not to be trusted on some network file systems.
 *
 * @throws {DatabaseInUseError} when another live server holds the lock.
 * @example
 * const lock = lockDatabaseFile(".keyport/keyport.sqlite");
 * try { await serve(); } finally { lock.release(); }
 */
export function lockDatabaseFile(database: string): ServerLock {
  const path = lockPathOf(database);
  createPrivately(path);
  const sqlite = new SQLite(path, { timeout: 0 });
  try {
    sqlite.pragma("locking_mode = EXCLUSIVE");
    sqlite.exec("BEGIN EXCLUSIVE");
  } catch (error) {
    sqlite.close();
    if (isBusy(error)) throw new DatabaseInUseError(database, path);
    throw error;
  }
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      sqlite.exec("ROLLBACK");
      sqlite.close();
    },
  };
}

/**
 * Takes the migration lock of a SQLite database, `<database>.migrate.lock`, the same kind of OS
 * lock as {@link lockDatabaseFile}'s on a file of its own, waiting (without blocking the event
 * loop) while another process or connection migrates. Kysely's SQLite migrator takes no lock
 * across processes, so a `keyport users create` started beside a first `keyport serve` on a new
 * file would otherwise apply the same migration twice and fail with "duplicate column name".
 *
 * @throws when the lock is still held after `timeoutMs`.
 * @example
 * const lock = await lockMigrations(".keyport/keyport.sqlite");
 * try { await migrator.migrateToLatest(); } finally { lock.release(); }
 */
export async function lockMigrations(
  database: string,
  timeoutMs = 60_000,
): Promise<{ release(): void }> {
  const path = `${lockPathOf(database).slice(0, -".lock".length)}.migrate.lock`;
  createPrivately(path);
  const deadline = Date.now() + timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    const sqlite = new SQLite(path, { timeout: 0 });
    try {
      sqlite.exec("BEGIN EXCLUSIVE");
      return {
        release() {
          if (!sqlite.open) return;
          sqlite.exec("ROLLBACK");
          sqlite.close();
        },
      };
    } catch (error) {
      sqlite.close();
      if (!isBusy(error) || Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/**
 * `<database>.lock` next to the database's real file, so that two spellings of one database (a
 * relative path, a symlink) meet at the same lock.
 */
function lockPathOf(database: string): string {
  mkdirSync(dirname(database), { recursive: true, mode: 0o700 });
  const real = existsSync(database)
    ? realpathSync(database)
    : join(realpathSync(dirname(database)), basename(database));
  return `${real}.lock`;
}

/**
 * Creates the side file 0600, like the database beside it. Only a new file is opened here: closing
 * a descriptor of a file this process already holds an `fcntl` lock on would drop that lock.
 */
function createPrivately(path: string): void {
  try {
    closeSync(openSync(path, "wx", 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "SQLITE_BUSY" || code === "SQLITE_LOCKED";
}
