import { type Kysely, type Migration, type MigrationProvider, sql } from "kysely";
import { exchangeOrigin, originColumns } from "../domain/key-origin.js";

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
  "2026-11-27-002-gateway": {
    async up(db: Kysely<unknown>) {
      // Money a request holds against its key's limit while it is in flight.
      await db.schema
        .alterTable("keys")
        .addColumn("reserved_micros", "bigint", (c) => c.notNull().defaultTo(0))
        .execute();
      // Usage per window; each counter belongs to the window starting at its *_start (UTC ms).
      for (const window of ["day", "week", "month"]) {
        await db.schema
          .alterTable("keys")
          .addColumn(`${window}_start`, "bigint", (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .alterTable("keys")
          .addColumn(`${window}_micros`, "bigint", (c) => c.notNull().defaultTo(0))
          .execute();
      }
      await db.schema
        .createTable("requests")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("key_hash", "text", (c) => c.notNull())
        .addColumn("model", "text", (c) => c.notNull())
        .addColumn("upstream", "text", (c) => c.notNull())
        .addColumn("streamed", "integer", (c) => c.notNull())
        .addColumn("status", "integer", (c) => c.notNull())
        .addColumn("prompt_tokens", "bigint", (c) => c.notNull())
        .addColumn("completion_tokens", "bigint", (c) => c.notNull())
        .addColumn("cost_micros", "bigint", (c) => c.notNull())
        .addColumn("usage_estimated", "integer", (c) => c.notNull())
        .addColumn("duration_ms", "bigint", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("requests_key_hash_created_at")
        .on("requests")
        .columns(["key_hash", "created_at"])
        .execute();
    },
  },
  "2026-11-27-003-reservation-leases": {
    async up(db: Kysely<unknown>) {
      // One row per reservation held on a shared database (PostgreSQL): a crashed instance's
      // reservations expire instead of holding their keys' budgets forever.
      await db.schema
        .createTable("reservations")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("key_hash", "text", (c) => c.notNull())
        .addColumn("micros", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("reservations_expires_at")
        .on("reservations")
        .column("expires_at")
        .execute();
    },
  },
  "2026-12-02-001-money-safety": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable("requests")
        .addColumn("overrun_micros", "bigint", (c) => c.notNull().defaultTo(0))
        .execute();
      // A lease records what its request had delivered, and enough to bill it after a crash.
      await db.schema
        .alterTable("reservations")
        .addColumn("checkpoint_micros", "bigint", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable("reservations")
        .addColumn("model", "text", (c) => c.notNull().defaultTo(""))
        .execute();
      await db.schema
        .alterTable("reservations")
        .addColumn("upstream", "text", (c) => c.notNull().defaultTo(""))
        .execute();
      await db.schema
        .alterTable("reservations")
        .addColumn("streamed", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable("reservations")
        .addColumn("created_at", "bigint", (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  "2026-12-02-002-request-details": {
    async up(db: Kysely<unknown>) {
      // What `GET /api/v1/generation` and `GET /api/v1/activity` report of each request.
      const columns: [string, "text" | "bigint"][] = [
        ["completion_id", "text"],
        ["finish_reason", "text"],
        ["latency_ms", "bigint"],
        ["api_type", "text"],
        ["http_referer", "text"],
        ["app_title", "text"],
      ];
      for (const [name, type] of columns)
        await db.schema.alterTable("requests").addColumn(name, type).execute();
      await db.schema
        .createIndex("requests_completion_id")
        .on("requests")
        .column("completion_id")
        .execute();
    },
  },
  "2026-12-02-010-headless-user-codes": {
    async up(db: Kysely<unknown>) {
      // Headless consent shows a short user code; the exchange finds its code by it, and counts
      // wrong ones against the code of the verifier that sent them.
      await db.schema.alterTable("codes").addColumn("user_code_hash", "text").execute();
      await db.schema
        .alterTable("codes")
        .addColumn("user_code_misses", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createIndex("codes_user_code_hash")
        .on("codes")
        .column("user_code_hash")
        .execute();
      await db.schema
        .createIndex("codes_code_challenge")
        .on("codes")
        .column("code_challenge")
        .execute();
    },
  },
  "2026-12-02-030-operator-accounts": {
    async up(db: Kysely<unknown>) {
      // Operators: an admin flag, accounts disabled at a time (their sessions and keys stop),
      // and an account credit that caps what all of an account's keys spend together.
      await db.schema
        .alterTable("users")
        .addColumn("is_admin", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable("users").addColumn("disabled_at", "bigint").execute();
      await db.schema.alterTable("users").addColumn("credit_micros", "bigint").execute();
    },
  },
  "2026-12-02-031-dashboard": {
    async up(db: Kysely<unknown>) {
      // How each key was made (the dashboard's keys and connected apps), and password resets.
      await db.schema.alterTable("keys").addColumn("created_via", "text").execute();
      await db.schema.alterTable("keys").addColumn("app_origin", "text").execute();
      // Keys whose code is still kept (a day past its expiry) get their origin back.
      const minted = await sql<{ key_hash: string; callback_url: string | null }>`
        select key_hash, callback_url from codes where key_hash is not null`.execute(db);
      for (const row of minted.rows) {
        const origin = originColumns(exchangeOrigin(row.callback_url));
        await sql`update keys set created_via = ${origin.created_via},
          app_origin = ${origin.app_origin} where hash = ${row.key_hash}`.execute(db);
      }
      await db.schema
        .createTable("password_resets")
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("used_at", "bigint")
        .execute();
      await db.schema
        .createIndex("password_resets_user_id")
        .on("password_resets")
        .column("user_id")
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
