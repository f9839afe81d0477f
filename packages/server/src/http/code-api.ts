import { Hono } from "hono";
import { z } from "zod";
import { AUTH_PARAMS, parseAuthRequest } from "../domain/auth-request.js";
import { issueCode } from "../services/issue-code.js";
import type { AppDeps, AppEnv } from "../web/context.js";
import { KeyportError } from "../web/errors.js";
import { readJson } from "../web/json-body.js";
import { authenticateManagementKey } from "../web/management-auth.js";

/** The `app_id` of a code not tied to a registered app (Keyport has none). */
const NO_APP = 0;

const text = (max: number) => z.string().max(max).nullish();

/** The JSON body: `/auth`'s parameters, `limit` as a number. */
const codeBody = z.object({
  callback_url: text(2048),
  code_challenge: text(512),
  code_challenge_method: text(16),
  key_label: text(512),
  limit: z.number().nullish(),
  usage_limit_type: text(16),
  expires_at: text(64),
});

/**
 * `POST /api/v1/auth/keys/code`: a management key asks for an authorization code for its own
 * user, on the same terms (and checked by the same rules) as a consent-page approval; the code
 * then exchanges at `POST /api/v1/auth/keys` like any other. Keyport has no app registry, so
 * `app_id` (an integer in OpenRouter's SDK) is `0`: no registered app.
 * @see https://openrouter.ai/docs/api-reference/o-auth/create-auth-keys-code
 */
export function codeApiRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.post("/api/v1/auth/keys/code", async (c) => {
    const owner = await authenticateManagementKey(c, deps);
    const body = await readJson(c, codeBody);
    const values: Record<string, string | undefined> = {};
    for (const name of AUTH_PARAMS) {
      if (name === "state" || name === "app_name") continue;
      const value = body[name];
      values[name] = value == null ? undefined : String(value);
    }
    const request = parseAuthRequest(
      (name) => (values[name] === undefined ? undefined : [values[name] as string]),
      deps.clock(),
      deps.config,
    );
    if ("message" in request) throw new KeyportError(400, request.message);
    const { code, createdAt } = await issueCode(deps, owner.userId, request);
    return c.json({ data: { id: code, app_id: NO_APP, created_at: createdAt.toISOString() } });
  });
  return app;
}
