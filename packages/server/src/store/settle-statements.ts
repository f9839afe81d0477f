import type { CompiledQuery, Kysely } from "kysely";
import { sql } from "kysely";
import { windowStarts } from "../domain/credits.js";
import { Precompiled, param } from "./precompiled.js";
import type { Database } from "./schema.js";
import type { Settlement } from "./store.js";

/**
 * The statements that end a request, compiled once: the key update (release the reservation,
 * add the cost to the total and to the day/week/month counters) and the request record.
 */
export class SettleStatements {
  private readonly settleKeyQuery: Precompiled<unknown>;
  private readonly insertRequestQuery: Precompiled<unknown>;

  constructor(private readonly db: Kysely<Database>) {
    // Each counter restarts at `cost` when its window rolled over, in the same statement that
    // releases the reservation; a counter already in a later window (clock skew between
    // instances) is left alone.
    const cost = param<number>("cost");
    const counter = (window: "day" | "week" | "month") => {
      const start = param<number>(window);
      return {
        [`${window}_micros`]: sql<number>`CASE WHEN ${sql.ref(`${window}_start`)} = ${start} THEN ${sql.ref(`${window}_micros`)} + ${cost} WHEN ${sql.ref(`${window}_start`)} > ${start} THEN ${sql.ref(`${window}_micros`)} ELSE ${cost} END`,
        [`${window}_start`]: sql<number>`CASE WHEN ${sql.ref(`${window}_start`)} > ${start} THEN ${sql.ref(`${window}_start`)} ELSE ${start} END`,
      };
    };
    const reserved = param<number>("reserved");
    this.settleKeyQuery = new Precompiled(
      db
        .updateTable("keys")
        .set({
          reserved_micros: sql<number>`CASE WHEN reserved_micros > ${reserved} THEN reserved_micros - ${reserved} ELSE 0 END`,
          usage_micros: sql<number>`usage_micros + ${cost}`,
          ...counter("day"),
          ...counter("week"),
          ...counter("month"),
        })
        .where("hash", "=", param<string>("hash"))
        .compile(),
    );
    this.insertRequestQuery = new Precompiled(
      db
        .insertInto("requests")
        .values({
          id: param("id"),
          key_hash: param<string>("hash"),
          model: param("model"),
          upstream: param("upstream"),
          streamed: param("streamed"),
          status: param("status"),
          prompt_tokens: param("promptTokens"),
          completion_tokens: param("completionTokens"),
          cost_micros: cost,
          overrun_micros: param("overrun"),
          usage_estimated: param("usageEstimated"),
          duration_ms: param("durationMs"),
          created_at: param("createdAt"),
          completion_id: param("completionId"),
          finish_reason: param("finishReason"),
          latency_ms: param("latencyMs"),
          api_type: param("apiType"),
          http_referer: param("httpReferer"),
          app_title: param("appTitle"),
        })
        .compile(),
    );
  }

  /** What an earlier end of request `id` charged (a lease that expired before its settle). */
  priorCharge(id: string): CompiledQuery<{ cost_micros: number }> {
    return this.db.selectFrom("requests").select("cost_micros").where("id", "=", id).compile();
  }

  /** Forgets request `id`'s record (to write it anew). */
  deleteRequest(id: string): CompiledQuery<unknown> {
    return this.db.deleteFrom("requests").where("id", "=", id).compile();
  }

  /** Releases `reserved` on the settlement's key and charges it `cost`. */
  settleKey(
    { record, settledAt }: Settlement,
    reserved: number,
    cost: number,
  ): CompiledQuery<unknown> {
    const starts = windowStarts(settledAt);
    return this.settleKeyQuery.bind({
      hash: record.keyHash,
      reserved,
      cost,
      day: starts.day,
      week: starts.week,
      month: starts.month,
    });
  }

  /** The settlement's request record. */
  insertRequest({ record }: Settlement): CompiledQuery<unknown> {
    return this.insertRequestQuery.bind({
      id: record.id,
      hash: record.keyHash,
      model: record.model,
      upstream: record.upstream,
      streamed: record.streamed ? 1 : 0,
      status: record.status,
      promptTokens: record.promptTokens,
      completionTokens: record.completionTokens,
      cost: record.costMicros,
      overrun: record.overrunMicros,
      usageEstimated: record.usageEstimated ? 1 : 0,
      durationMs: record.durationMs,
      createdAt: record.createdAt.getTime(),
      completionId: record.details?.completionId ?? null,
      finishReason: record.details?.finishReason ?? null,
      latencyMs: record.details?.latencyMs ?? null,
      apiType: record.details?.apiType ?? null,
      httpReferer: record.details?.httpReferer ?? null,
      appTitle: record.details?.appTitle ?? null,
    });
  }
}
