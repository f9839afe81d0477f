import Database from "better-sqlite3";
import pg from "pg";
import type { TestDatabase } from "./databases.js";

/**
 * Runs SQL on a test database behind the server's back, over a connection of its own: to look at
 * what is at rest, or to set up a state no endpoint produces yet. `?` placeholders on both dialects.
 */
export async function rawQuery(
  database: TestDatabase,
  sql: string,
  params: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  if (/^postgres(ql)?:\/\//.test(database.url)) {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      let n = 0;
      const result = await client.query(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      );
      return result.rows;
    } finally {
      await client.end();
    }
  }
  const sqlite = new Database(database.url);
  try {
    const statement = sqlite.prepare(sql);
    if (statement.reader) return statement.all(...params) as Record<string, unknown>[];
    statement.run(...params);
    return [];
  } finally {
    sqlite.close();
  }
}

/** Every value of every row of every table of the database, as text. */
export async function everyStoredValue(database: TestDatabase): Promise<string[]> {
  const tables = /^postgres(ql)?:\/\//.test(database.url)
    ? await rawQuery(
        database,
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()",
      )
    : await rawQuery(database, "SELECT name FROM sqlite_master WHERE type = 'table'");
  const values: string[] = [];
  for (const { name } of tables) {
    for (const row of await rawQuery(database, `SELECT * FROM "${String(name)}"`)) {
      for (const value of Object.values(row)) if (value !== null) values.push(String(value));
    }
  }
  return values;
}
