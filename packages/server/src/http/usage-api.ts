import { Hono } from "hono";
import { z } from "zod";
import { MAX_CREDIT_LIMIT } from "../domain/constants.js";
import { fromMicros, toMicros, usageAgainstLimit } from "../domain/credits.js";
import type { RequestRecord, StoredKey } from "../store/store.js";
import type { AppDeps, AppEnv } from "../web/context.js";
import { KeyportError } from "../web/errors.js";
import { authenticateKey } from "../web/key-auth.js";
import { authenticateManagementKey } from "../web/management-auth.js";
import { invalidInput } from "../web/zod-error.js";

const DAY_MS = 86_400_000;
/** How far back `GET /api/v1/activity` reaches, as on OpenRouter. */
const ACTIVITY_DAYS = 30;

const generationQuery = z.object({ id: z.string().min(1).max(200) });
const activityQuery = z.object({
  date: z.iso.date().optional(),
  api_key_hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be 64 lower-case hex characters")
    .optional(),
});

/**
 * What an account has spent, in OpenRouter's shapes: `GET /api/v1/credits` (any key of the
 * account), `GET /api/v1/generation?id=` (one call of the account's keys) and
 * `GET /api/v1/activity` (per day and model, management keys only).
 * @see https://openrouter.ai/docs/api-reference/get-credits
 */
export function usageApiRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  app.get("/api/v1/credits", async (c) => {
    const key = await authenticateKey(c, deps);
    const keys = await deps.store.accountKeys(key.userId);
    const owner = await deps.store.findUserById(key.userId);
    return c.json({ data: accountCredits(keys, deps.clock(), owner?.creditMicros ?? null) });
  });

  app.get("/api/v1/generation", async (c) => {
    const key = await authenticateKey(c, deps);
    const query = generationQuery.safeParse(c.req.query());
    if (!query.success) throw invalidInput(query.error, "query");
    const record = await deps.store.findGeneration(key.userId, query.data.id);
    // Another user's generation reads exactly as a missing one.
    if (!record) throw new KeyportError(404, "Generation not found");
    return c.json({ data: generationView(record) });
  });

  app.get("/api/v1/activity", async (c) => {
    const key = await authenticateManagementKey(c, deps);
    const query = activityQuery.safeParse(c.req.query());
    if (!query.success) throw invalidInput(query.error, "query");
    const today = Math.floor(deps.clock().getTime() / DAY_MS) * DAY_MS;
    const oldest = today - (ACTIVITY_DAYS - 1) * DAY_MS;
    let from = oldest;
    let to = today + DAY_MS;
    if (query.data.date) {
      from = Date.parse(`${query.data.date}T00:00:00Z`);
      to = from + DAY_MS;
      if (from < oldest || from > today)
        throw new KeyportError(400, `date must be within the last ${ACTIVITY_DAYS} days (UTC)`);
    }
    const rows = await deps.store.activity(key.userId, {
      from: new Date(from),
      to: new Date(to),
      keyHash: query.data.api_key_hash,
    });
    return c.json({
      data: rows.map((row) => ({
        date: row.day.toISOString().slice(0, 10),
        model: row.model,
        model_permaslug: row.model,
        endpoint_id: `${row.upstream}:${row.model}`,
        provider_name: row.upstream,
        usage: fromMicros(row.costMicros),
        byok_usage_inference: 0,
        requests: row.requests,
        prompt_tokens: row.promptTokens,
        completion_tokens: row.completionTokens,
        reasoning_tokens: 0,
      })),
    });
  });
  return app;
}

/**
 * An account's credits. Keyport sells nothing: its keys' limits are what the account may
 * spend. `total_usage` is what every key of the account ever spent (revoked ones included);
 * `total_credits` adds what its usable keys may still spend, a key without a limit counting
 * as the largest limit there is ({@link MAX_CREDIT_LIMIT} credits). An account credit set by
 * the operator caps it: then `total_credits` is at most that credit.
 */
function accountCredits(keys: readonly StoredKey[], now: Date, creditMicros: number | null) {
  const capped = keysCredits(keys, now);
  if (creditMicros === null) return capped;
  return { ...capped, total_credits: Math.min(capped.total_credits, fromMicros(creditMicros)) };
}

function keysCredits(keys: readonly StoredKey[], now: Date) {
  let usage = 0;
  let remaining = 0;
  for (const key of keys) {
    usage += key.usageMicros;
    const usable =
      !key.revokedAt &&
      !key.disabled &&
      !key.isManagement &&
      !(key.expiresAt && key.expiresAt <= now);
    if (!usable) continue;
    remaining +=
      key.limitMicros === null
        ? toMicros(MAX_CREDIT_LIMIT)
        : Math.max(0, key.limitMicros - usageAgainstLimit(key, now) - key.reservedMicros);
  }
  return { total_credits: fromMicros(usage + remaining), total_usage: fromMicros(usage) };
}

/** A request record in the shape of OpenRouter's `GET /api/v1/generation`. */
function generationView(record: RequestRecord) {
  const details = record.details ?? {};
  return {
    id: details.completionId ?? record.id,
    request_id: record.id,
    total_cost: fromMicros(record.costMicros),
    usage: fromMicros(record.costMicros),
    upstream_inference_cost: null,
    cache_discount: null,
    created_at: record.createdAt.toISOString(),
    model: record.model,
    origin: details.httpReferer ?? "",
    http_referer: details.httpReferer ?? null,
    app_id: null,
    app_title: details.appTitle ?? null,
    api_type: details.apiType ?? "completions",
    streamed: record.streamed,
    cancelled: record.status === 499,
    status: record.status,
    provider_name: record.upstream,
    provider_responses: null,
    router: null,
    latency: details.latencyMs ?? null,
    moderation_latency: null,
    generation_time: record.durationMs,
    finish_reason: details.finishReason ?? null,
    native_finish_reason: details.finishReason ?? null,
    tokens_prompt: record.promptTokens,
    tokens_completion: record.completionTokens,
    native_tokens_prompt: record.promptTokens,
    native_tokens_completion: record.completionTokens,
    native_tokens_reasoning: null,
    native_tokens_cached: null,
    native_tokens_completion_images: null,
    num_media_prompt: null,
    num_media_completion: null,
    num_input_audio_prompt: null,
    num_search_results: null,
    num_fetches: null,
    usage_estimated: record.usageEstimated,
    is_byok: false,
    upstream_id: null,
    external_user: null,
    user_agent: null,
    preset_id: null,
    service_tier: null,
    web_search_engine: null,
    workspace_id: null,
    data_region: "global",
  };
}
