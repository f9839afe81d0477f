import { closeSync, mkdirSync, openSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from "kysely";
import pg from "pg";
import { POSTGRES_DIALECT, type StoreDialect, sqliteDialect } from "./dialect.js";
import { lockMigrations } from "./file-lock.js";
import { KyselyStore } from "./kysely-store.js";
import { migrationProvider } from "./migrations.js";
import type { Database } from "./schema.js";
import type { WriteAheadLog } from "./sqlite-runner.js";
import type { Store } from "./store.js";

const INT8_OID = 20;

/** Whether a `--database` value names a PostgreSQL server rather than a SQLite file. */
export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//.test(database);
}

/**
 * Opens the database a `--database` value names, brings its schema up to date and returns the
 * store. SQLite files run in WAL mode (readers never wait for the writer) with every commit
 * synced (see {@link connectSqlite}).
 * @example
 * const store = await openStore(".keyport/keyport.sqlite");
 */
export async function openStore(database: string): Promise<Store> {
  const postgres = isPostgresUrl(database);
  const { db, dialect } = postgres ? openPostgres(database) : openSqlite(database);
  await migrate(db, postgres ? undefined : database);
  return new KyselyStore(db, dialect);
}

/**
 * Brings the schema of the database a `--database` value names up to date, as a start-up
 * would, and closes it; returns the names of the migrations it applied (none: it was current).
 * @example
 * const applied = await migrateDatabase(process.env.KEYPORT_DATABASE);
 */
export async function migrateDatabase(database: string): Promise<string[]> {
  const postgres = isPostgresUrl(database);
  const { db } = postgres ? openPostgres(database) : openSqlite(database);
  const applied = await migrate(db, postgres ? undefined : database);
  await db.destroy();
  return applied;
}

/** An open database and what its dialect can do. */
interface Opened {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
}

/**
 * The store's connection to a SQLite file. `synchronous = FULL`: each commit is synced to disk
 * before it returns, so a key or a settle a client was answered with survives a power loss or an
 * OS crash, not only a crash of the process (`NORMAL` in WAL mode syncs only at checkpoints).
 * The sync is paid once per group commit (group-commit.ts), not once per request.
 * @internal Exported for the test of these settings.
 */
export function connectSqlite(path: string): SQLite.Database {
  if (path !== ":memory:") {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the same mode.
    closeSync(openSync(path, "a", 0o600));
  }
  const sqlite = new SQLite(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = FULL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  return sqlite;
}

function openSqlite(path: string): Opened {
  const sqlite = connectSqlite(path);
  const prepare = reusingStatements(sqlite);
  const log = path === ":memory:" ? undefined : writeAheadLog(sqlite, `${path}-wal`);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({
      database: {
        close: () => {
          sqlite.close();
          log?.close();
        },
        prepare,
      },
    }),
  });
  const dialect = sqliteDialect({
    get inTransaction() {
      return sqlite.inTransaction;
    },
    all: (sql, parameters) => prepare(sql).all(parameters),
    run: (sql, parameters) => {
      prepare(sql).run(parameters);
    },
    log,
  });
  return { db, dialect };
}

/**
 * The connection's write-ahead log, for commits made durable off the event loop: they run with
 * `synchronous = NORMAL` (in WAL mode: no sync at commit, only at checkpoints, which sync the log
 * before copying it and the database before reusing it), then `fdatasync` of the log file in the
 * thread pool — the sync `FULL` would have made at the commit.
 */
function writeAheadLog(sqlite: SQLite.Database, path: string): WriteAheadLog & { close(): void } {
  const normal = sqlite.prepare("PRAGMA synchronous = NORMAL");
  const full = sqlite.prepare("PRAGMA synchronous = FULL");
  let handle: Promise<FileHandle> | undefined;
  const openLog = async () => {
    const log = await open(path, "r");
    const directory = await open(dirname(path), "r");
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
    return log;
  };
  return {
    unsynced<T>(commit: () => T): T {
      normal.run();
      try {
        return commit();
      } finally {
        full.run();
      }
    },
    async sync() {
      // The log file stays while the connection is open (only the last connection's close
      // deletes it; checkpoints truncate or rewrite it in place), so one handle serves. Its
      // directory entry is synced once, as SQLite does for a log it created.
      handle ??= openLog().catch((error: unknown) => {
        handle = undefined;
        throw error;
      });
      await (await handle).datasync();
    },
    close() {
      void handle?.then((opened) => opened.close()).catch(() => {});
    },
  };
}

const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely prepares every query anew; preparing costs more than running the small statements the
 * gateway's hot path issues. The SQL text Kysely compiles is the same for every call of a store
 * method (values are parameters), so prepared statements are kept by their text.
 */
function reusingStatements(sqlite: SQLite.Database): (sql: string) => SQLite.Statement {
  const statements = new Map<string, SQLite.Statement>();
  return (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = sqlite.prepare(sql);
      if (statements.size < STATEMENT_CACHE_SIZE) statements.set(sql, statement);
    }
    return statement;
  };
}

function openPostgres(url: string): Opened {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8_OID
          ? Number
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection the server drops (a restart, a failover, pg_terminate_backend) is reported
  // here; unheard, the pool's `error` event would kill the process. The pool has already let the
  // connection go and opens a new one for the next query.
  pool.on("error", (error) => {
    console.error(`keyport: an idle database connection failed: ${error.message}`);
  });
  // A connection cut while checked out (between a transaction's statements, or as the server
  // closes its socket right after failing the query in flight) emits `error` on the client, which
  // the pool only listens to while the client is idle. The query that used it already failed
  // (answered 503); the pool drops the dead client when it comes back.
  pool.on("connect", (client) => {
    client.on("error", () => {});
  });
  return {
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    dialect: POSTGRES_DIALECT,
  };
}

/**
 * Brings the schema up to date. On a SQLite file, processes take turns through an OS lock on a
 * side file (`lockMigrations`). On PostgreSQL, instances starting at once take turns: a session
 * advisory lock (per schema) on one pooled connection is held while the migrator runs on the
 * others, so the first migrates and the rest find nothing left to do. Kysely's own lock covers
 * only the migrations, not the creation of its bookkeeping tables, which could then race.
 */
async function migrate(db: Kysely<Database>, sqliteFile: string | undefined): Promise<string[]> {
  try {
    if (sqliteFile === ":memory:") return await runMigrations(db, undefined);
    if (sqliteFile !== undefined) {
      const lock = await lockMigrations(sqliteFile);
      try {
        return await runMigrations(db, undefined);
      } finally {
        lock.release();
      }
    }
    return await db.connection().execute(async (locked) => {
      const schema = (
        await sql<{ schema: string }>`select current_schema() as schema`.execute(locked)
      ).rows[0]?.schema;
      const key = sql`hashtext(${`keyport-migrations:${schema}`})`;
      await sql`select pg_advisory_lock(${key})`.execute(locked);
      try {
        return await runMigrations(db, schema);
      } finally {
        await sql`select pg_advisory_unlock(${key})`.execute(locked);
      }
    });
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

async function runMigrations(
  db: Kysely<Database>,
  // Kysely looks for its migration tables in every schema; pin them to the connection's own, or a
  // server where another schema already holds them would skip creating them in this one.
  migrationTableSchema: string | undefined,
): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await new Migrator({
      db,
      provider: migrationProvider,
      migrationTableSchema,
    }).migrateToLatest();
    if (!error) return (results ?? []).map((result) => result.migrationName);
    // Kysely's look for its tables scans every schema of the database; one that another tenant
    // drops at that moment fails the scan ("schema … does not exist", 3F000). Ours is intact.
    if (!(attempt < 5 && (error as { code?: unknown }).code === "3F000")) throw error;
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
  }
}
