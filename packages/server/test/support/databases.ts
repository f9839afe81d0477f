import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { inject } from "vitest";

/** A database a test may use and throw away. */
export interface TestDatabase {
  /** The `--database` value: a SQLite file path or a postgres:// URL. */
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * One entry per dialect the suite runs on. PostgreSQL is a real server when
 * `KEYPORT_TEST_POSTGRES_URL` is set, in-process PGlite otherwise (`real: false`).
 */
export interface Dialect {
  readonly name: "sqlite" | "postgres";
  /**
   * Whether the database is a real server: PGlite is one session behind its socket, so tests of
   * what only separate sessions show (`pg_terminate_backend`, lock waits, a restart) need `real`.
   */
  readonly real: boolean;
  fresh(): Promise<TestDatabase>;
}

const postgresUrl = process.env.KEYPORT_TEST_POSTGRES_URL;

const sqlite: Dialect = {
  name: "sqlite",
  real: true,
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
  real: true,
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

/** PGlite lent by the broker vitest's global setup starts (`pglite-setup.ts`), over its socket. */
const pglite = (brokerUrl: string): Dialect => ({
  name: "postgres",
  real: false,
  async fresh() {
    const url = await broker(brokerUrl, "/claim");
    return {
      url,
      async drop() {
        await broker(brokerUrl, `/release?port=${new URL(url).port}`);
      },
    };
  },
});

async function broker(brokerUrl: string, path: string): Promise<string> {
  const response = await fetch(`${brokerUrl}${path}`, { method: "POST" });
  const body = await response.text();
  if (!response.ok) throw new Error(`PGlite broker ${path}: ${response.status} ${body}`);
  return body;
}

/** The dialects every storage-touching test runs on, selected by one loop (`describe.each`). */
export const dialects: readonly Dialect[] = postgresUrl
  ? [sqlite, postgres(postgresUrl)]
  : [sqlite, pglite(inject("pgliteBroker"))];
