import type { Selectable } from "kysely";
import type { LimitReset } from "../domain/credits.js";
import { originFromColumns } from "../domain/key-origin.js";
import type { CodeChallengeMethod } from "../domain/pkce.js";
import type { CodesTable, KeysTable, RequestsTable, UsersTable } from "./schema.js";
import type { ApiType, RequestRecord, StoredCode, StoredKey, User } from "./store.js";

/** Dates as stored: integer milliseconds since the epoch. */
export const ms = (date: Date) => date.getTime();
/** An optional date as stored (`null` stays `null`). */
export const msOrNull = (date: Date | null) => (date ? date.getTime() : null);
const dateOrNull = (millis: number | null) => (millis === null ? null : new Date(Number(millis)));

/** Row mappers: a table row as the domain type the `Store` contract speaks. */
export function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    createdAt: new Date(Number(row.created_at)),
    isAdmin: Number(row.is_admin) === 1,
    disabledAt: dateOrNull(row.disabled_at),
    creditMicros: row.credit_micros === null ? null : Number(row.credit_micros),
  };
}

/** A `codes` row as a `StoredCode`. */
export function toCode(row: Selectable<CodesTable>): StoredCode {
  return {
    codeHash: row.code_hash,
    userId: row.user_id,
    codeChallenge: row.code_challenge,
    codeChallengeMethod: row.code_challenge_method as CodeChallengeMethod | null,
    callbackUrl: row.callback_url,
    keyLabel: row.key_label,
    limitMicros: row.limit_micros === null ? null : Number(row.limit_micros),
    limitReset: row.limit_reset as LimitReset | null,
    keyExpiresAt: dateOrNull(row.key_expires_at),
    createdAt: new Date(Number(row.created_at)),
    expiresAt: new Date(Number(row.expires_at)),
  };
}

/** A `keys` row as a `StoredKey`, usage counters included. */
export function toKey(
  row: Selectable<KeysTable> & { owner_disabled_at?: unknown; owner_credit_micros?: unknown },
): StoredKey {
  return {
    ...(row.owner_disabled_at === undefined
      ? {}
      : { ownerDisabled: row.owner_disabled_at !== null }),
    ...(row.owner_credit_micros === undefined
      ? {}
      : { ownerCapped: row.owner_credit_micros !== null }),
    hash: row.hash,
    userId: row.user_id,
    label: row.label,
    limitMicros: row.limit_micros === null ? null : Number(row.limit_micros),
    limitReset: row.limit_reset as LimitReset | null,
    usageMicros: Number(row.usage_micros),
    isManagement: Number(row.is_management) === 1,
    disabled: Number(row.disabled) === 1,
    expiresAt: dateOrNull(row.expires_at),
    createdAt: new Date(Number(row.created_at)),
    revokedAt: dateOrNull(row.revoked_at),
    reservedMicros: Number(row.reserved_micros),
    origin: originFromColumns(row.created_via, row.app_origin),
    counters: {
      dayStart: Number(row.day_start),
      dayMicros: Number(row.day_micros),
      weekStart: Number(row.week_start),
      weekMicros: Number(row.week_micros),
      monthStart: Number(row.month_start),
      monthMicros: Number(row.month_micros),
    },
  };
}

/** A `requests` row as a `RequestRecord`. */
export function toRequestRecord(row: Selectable<RequestsTable>): RequestRecord {
  return {
    id: row.id,
    keyHash: row.key_hash,
    model: row.model,
    upstream: row.upstream,
    streamed: Number(row.streamed) === 1,
    status: Number(row.status),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    costMicros: Number(row.cost_micros),
    overrunMicros: Number(row.overrun_micros),
    usageEstimated: Number(row.usage_estimated) === 1,
    durationMs: Number(row.duration_ms),
    createdAt: new Date(Number(row.created_at)),
    details: {
      completionId: row.completion_id,
      finishReason: row.finish_reason,
      latencyMs: row.latency_ms === null ? null : Number(row.latency_ms),
      apiType: (row.api_type ?? "completions") as ApiType,
      httpReferer: row.http_referer,
      appTitle: row.app_title,
    },
  };
}
