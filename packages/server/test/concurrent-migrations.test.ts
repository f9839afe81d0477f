import { afterEach, describe, expect, it } from "vitest";
import { migrationProvider } from "../src/store/migrations.js";
import { openStore } from "../src/store/open.js";
import { dialects, type TestDatabase } from "./support/databases.js";
import { rawQuery } from "./support/raw-sql.js";

/** Separate sessions racing for a lock need a real PostgreSQL server (PGlite is one session). */
const postgres = process.env.KEYPORT_TEST_POSTGRES_URL
  ? dialects.find((dialect) => dialect.name === "postgres")
  : undefined;

describe.skipIf(!postgres)("instances starting at once on one PostgreSQL", () => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.drop();
  });

  it("all open the store; the fresh schema is migrated once (an advisory lock)", async () => {
    database = await (postgres as NonNullable<typeof postgres>).fresh();
    const url = database.url;
    const stores = await Promise.all(Array.from({ length: 5 }, () => openStore(url)));
    await Promise.all(stores.map((store) => store.close()));
    const expected = Object.keys(await migrationProvider.getMigrations()).length;
    const applied = await rawQuery(database, "SELECT name FROM kysely_migration");
    expect(applied).toHaveLength(expected);
    expect(new Set(applied.map((row) => row.name)).size).toBe(expected);
  });
});
