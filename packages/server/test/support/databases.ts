import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/** A database a test may use and throw away. */
export interface TestDatabase {
  /** The `--database` value: a SQLite file path or a postgres:// URL. */
  readonly url: string;
  drop(): Promise<void>;
}

/** One entry per dialect the suite runs on; Postgres when `KEYPORT_TEST_POSTGRES_URL` is set. */
export interface Dialect {
  readonly name: "sqlite" | "postgres";
  fresh(): Promise<TestDatabase>;
}

const postgresUrl = process.env.KEYPORT_TEST_POSTGRES_URL;

const sqlite: Dialect = {
  name: "sqlite",
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), "keyport-test-"));
    return {
      url: join(dir, "keyport.sqlite"),
      async drop() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const postgres = (serverUrl: string): Dialect => ({
  name: "postgres",
  async fresh() {
    // A schema per test database: as isolated as a database, far cheaper to create.
    const schema = `kp_test_${randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const url = new URL(serverUrl);
    url.searchParams.set("options", `-c search_path=${schema}`);
    return {
      url: url.href,
      async drop() {
        const client = new pg.Client({ connectionString: serverUrl });
        await client.connect();
        await client.query(`DROP SCHEMA ${schema} CASCADE`);
        await client.end();
      },
    };
  },
});

/** The dialects every storage-touching test runs on, selected by one loop (`describe.each`). */
export const dialects: readonly Dialect[] = postgresUrl
  ? [sqlite, postgres(postgresUrl)]
  : [sqlite];
