import type { Kysely, Migration, MigrationProvider } from "kysely";

/** Every schema change, in order; each runs once per database, inside the migrator's lock. */
const migrations: Record<string, Migration> = {
  "2026-11-27-001-core": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("users")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("email", "text", (c) => c.notNull().unique())
        .addColumn("password_hash", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("sessions")
        .addColumn("id_hash", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("keys")
        .addColumn("hash", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("label", "text", (c) => c.notNull())
        .addColumn("limit_micros", "bigint")
        .addColumn("limit_reset", "text")
        .addColumn("usage_micros", "bigint", (c) => c.notNull().defaultTo(0))
        .addColumn("is_management", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("disabled", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("expires_at", "bigint")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("revoked_at", "bigint")
        .execute();
      await db.schema.createIndex("keys_user_id").on("keys").column("user_id").execute();
      await db.schema
        .createTable("codes")
        .addColumn("code_hash", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("code_challenge", "text")
        .addColumn("code_challenge_method", "text")
        .addColumn("callback_url", "text")
        .addColumn("key_label", "text", (c) => c.notNull())
        .addColumn("limit_micros", "bigint")
        .addColumn("limit_reset", "text")
        .addColumn("key_expires_at", "bigint")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("consumed_at", "bigint")
        .addColumn("replayed_at", "bigint")
        .addColumn("key_hash", "text")
        .execute();
      await db.schema.createIndex("codes_expires_at").on("codes").column("expires_at").execute();
      await db.schema
        .createTable("settings")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("value", "text", (c) => c.notNull())
        .execute();
    },
  },
};

/** Hands Kysely's migrator the migrations compiled into this build. */
export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
