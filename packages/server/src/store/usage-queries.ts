import { type Kysely, sql } from "kysely";
import { toKey, toRequestRecord } from "./rows.js";
import type { Database } from "./schema.js";
import type { ActivityFilter, ActivityRow, RequestRecord, StoredKey } from "./store.js";

const DAY_MS = 86_400_000;

/**
 * What an account's requests add up to: one request by its id (`GET /api/v1/generation`), the
 * account's keys with their usage (`GET /api/v1/credits`) and its usage per day and model
 * (`GET /api/v1/activity`). Reads only, off the gateway's hot path.
 */
export class UsageQueries {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * The newest request of one of `userId`'s keys whose completion id (or Keyport request id) is
   * `id`; another user's request reads as missing.
   */
  async findGeneration(userId: string, id: string): Promise<RequestRecord | undefined> {
    const row = await this.db
      .selectFrom("requests")
      .innerJoin("keys", "keys.hash", "requests.key_hash")
      .selectAll("requests")
      .where("keys.user_id", "=", userId)
      .where((eb) => eb.or([eb("requests.completion_id", "=", id), eb("requests.id", "=", id)]))
      .orderBy("requests.created_at", "desc")
      .limit(1)
      .executeTakeFirst();
    return row && toRequestRecord(row);
  }

  /** Every key of the account, revoked and management keys included. */
  async accountKeys(userId: string): Promise<StoredKey[]> {
    const rows = await this.db
      .selectFrom("keys")
      .selectAll()
      .where("user_id", "=", userId)
      .execute();
    return rows.map(toKey);
  }

  /** The account's requests per UTC day and model, oldest day first. */
  async activity(userId: string, filter: ActivityFilter): Promise<ActivityRow[]> {
    // A literal, so the select and the GROUP BY are one expression (and integer division).
    const day = sql<number>`(requests.created_at / ${sql.lit(DAY_MS)})`;
    let query = this.db
      .selectFrom("requests")
      .innerJoin("keys", "keys.hash", "requests.key_hash")
      .where("keys.user_id", "=", userId)
      .where("requests.created_at", ">=", filter.from.getTime())
      .where("requests.created_at", "<", filter.to.getTime());
    if (filter.keyHash !== undefined) query = query.where("requests.key_hash", "=", filter.keyHash);
    const rows = await query
      .select([
        day.as("day"),
        "requests.model as model",
        "requests.upstream as upstream",
        sql<number>`count(*)`.as("requests"),
        sql<number>`sum(requests.prompt_tokens)`.as("prompt_tokens"),
        sql<number>`sum(requests.completion_tokens)`.as("completion_tokens"),
        sql<number>`sum(requests.cost_micros)`.as("cost_micros"),
      ])
      .groupBy([day, "requests.model", "requests.upstream"])
      .orderBy(day)
      .orderBy("requests.model")
      .orderBy("requests.upstream")
      .execute();
    return rows.map((row) => ({
      day: new Date(Number(row.day) * DAY_MS),
      model: row.model,
      upstream: row.upstream,
      requests: Number(row.requests),
      promptTokens: Number(row.prompt_tokens),
      completionTokens: Number(row.completion_tokens),
      costMicros: Number(row.cost_micros),
    }));
  }
}
