import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from "kysely";
import pg from "pg";
import { POSTGRES_DIALECT, type StoreDialect, sqliteDialect } from "./dialect.js";
import { KyselyStore } from "./kysely-store.js";
import { migrationProvider } from "./migrations.js";
import type { Database } from "./schema.js";
import type { Store } from "./store.js";

const INT8_OID = 20;

/** Whether a `--database` value names a PostgreSQL server rather than a SQLite file. */
export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//.test(database);
}

/**
 * Opens the database a `--database` value names, brings its schema up to date and returns the
 * store. SQLite files run in WAL mode: readers never wait for the writer and a crash of the
 * process loses no committed transaction.
 * @example
 * const store = await openStore(".keyport/keyport.sqlite");
 */
export async function openStore(database: string): Promise<Store> {
  const postgres = isPostgresUrl(database);
  const { db, dialect } = postgres ? openPostgres(database) : openSqlite(database);
  await migrate(db, postgres);
  return new KyselyStore(db, dialect);
}

/** An open database and what its dialect can do. */
interface Opened {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
}

function openSqlite(path: string): Opened {
  if (path !== ":memory:") {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the same mode.
    closeSync(openSync(path, "a", 0o600));
  }
  const sqlite = new SQLite(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  const prepare = reusingStatements(sqlite);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: { close: () => sqlite.close(), prepare } }),
  });
  const dialect = sqliteDialect({
    get inTransaction() {
      return sqlite.inTransaction;
    },
    all: (sql, parameters) => prepare(sql).all(parameters),
    run: (sql, parameters) => {
      prepare(sql).run(parameters);
    },
  });
  return { db, dialect };
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
  return {
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    dialect: POSTGRES_DIALECT,
  };
}

async function migrate(db: Kysely<Database>, postgres: boolean): Promise<void> {
  // Kysely looks for its migration tables in every schema; pin them to the connection's own, or a
  // server where another schema already holds them would skip creating them in this one.
  const migrationTableSchema = postgres
    ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema
    : undefined;
  const { error } = await new Migrator({
    db,
    provider: migrationProvider,
    migrationTableSchema,
  }).migrateToLatest();
  if (error) {
    await db.destroy();
    throw error;
  }
}
