import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { KEYS_PAGE_SIZE, MAX_CREDIT_LIMIT, MAX_KEY_LABEL } from "../domain/constants.js";
import { toMicros } from "../domain/credits.js";
import { issueKey } from "../services/issue-key.js";
import type { KeyChanges } from "../store/store.js";
import type { AppDeps, AppEnv } from "../web/context.js";
import { KeyportError } from "../web/errors.js";
import { readJson } from "../web/json-body.js";
import { authenticateManagementKey } from "../web/management-auth.js";
import { invalidInput } from "../web/zod-error.js";
import { keyView } from "./key-view.js";

const name = z.string().trim().min(1).max(MAX_KEY_LABEL);
const limit = z.number().min(0).max(MAX_CREDIT_LIMIT).nullable();
const limitReset = z.enum(["daily", "weekly", "monthly"]).nullable();

const createBody = z.object({
  name,
  limit: limit.optional(),
  limit_reset: limitReset.optional(),
  expires_at: z.iso.datetime().nullable().optional(),
  // OpenRouter's SDKs send it; Keyport has no BYOK, so only `false` means anything.
  include_byok_in_limit: z.boolean().optional(),
});

const patchBody = z.object({
  name: name.optional(),
  disabled: z.boolean().optional(),
  limit: limit.optional(),
  limit_reset: limitReset.optional(),
  include_byok_in_limit: z.boolean().optional(),
});

const listQuery = z.object({
  offset: z
    .string()
    .regex(/^\d{1,9}$/, "must be a whole number")
    .transform(Number)
    .optional(),
  include_disabled: z.enum(["true", "false"]).optional(),
});

const HASH = /^[0-9a-f]{64}$/;

/**
 * OpenRouter's key-management API on `/api/v1/keys`, for a management key: list, create, get,
 * patch and delete (revoke) the ordinary keys of the management key's own user. A key of anyone
 * else, a management key and a missing key all answer the same `404`.
 * @see https://openrouter.ai/docs/api-reference/api-keys/list-api-keys
 */
export function keysApiRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  app.get("/api/v1/keys", async (c) => {
    const owner = await authenticateManagementKey(c, deps);
    const query = listQuery.safeParse(c.req.query());
    if (!query.success) throw invalidInput(query.error, "query");
    const keys = await deps.store.listKeys(owner.userId, {
      offset: query.data.offset ?? 0,
      limit: KEYS_PAGE_SIZE,
      includeDisabled: query.data.include_disabled === "true",
      includeManagement: false,
    });
    const now = deps.clock();
    return c.json({ data: keys.map((key) => keyView(key, now)) });
  });

  app.post("/api/v1/keys", async (c) => {
    const owner = await authenticateManagementKey(c, deps);
    const body = await readJson(c, createBody);
    const now = deps.clock();
    const expiresAt = body.expires_at ? new Date(body.expires_at) : null;
    if (expiresAt && expiresAt <= now) throw new KeyportError(400, "expires_at is in the past");
    const { key, stored } = await issueKey(deps.store, now, {
      userId: owner.userId,
      label: body.name,
      limitMicros: body.limit == null ? null : toMicros(body.limit),
      limitReset: body.limit_reset ?? null,
      expiresAt,
      isManagement: false,
      origin: { via: "management" },
    });
    return c.json({ data: keyView(stored, now), key }, 201);
  });

  app.get("/api/v1/keys/:hash", async (c) => {
    const owner = await authenticateManagementKey(c, deps);
    const hash = hashParam(c);
    const key = await deps.store.findKey(hash);
    if (!key || key.userId !== owner.userId || key.isManagement || key.revokedAt) throw notFound();
    return c.json({ data: keyView(key, deps.clock()) });
  });

  app.patch("/api/v1/keys/:hash", async (c) => {
    const owner = await authenticateManagementKey(c, deps);
    const hash = hashParam(c);
    const body = await readJson(c, patchBody);
    const changes: KeyChanges = {
      label: body.name,
      disabled: body.disabled,
      limitMicros: body.limit == null ? body.limit : toMicros(body.limit),
      limitReset: body.limit_reset,
    };
    const key = await deps.store.updateKey(owner.userId, hash, changes);
    if (!key) throw notFound();
    return c.json({ data: keyView(key, deps.clock()) });
  });

  app.delete("/api/v1/keys/:hash", async (c) => {
    const owner = await authenticateManagementKey(c, deps);
    const hash = hashParam(c);
    if (!(await deps.store.revokeKey(hash, deps.clock(), owner.userId))) throw notFound();
    return c.json({ deleted: true });
  });

  return app;
}

function hashParam(c: Context): string {
  const hash = c.req.param("hash") ?? "";
  if (!HASH.test(hash)) throw new KeyportError(400, "hash must be 64 lower-case hex characters");
  return hash;
}

function notFound(): KeyportError {
  return new KeyportError(404, "Key not found");
}
