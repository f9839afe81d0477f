import { normalizeBaseUrl } from "./base-url.js";
import { invalidArgument, ProtocolError } from "./errors.js";
import { isObject, type RequestOptions, requestJson } from "./http.js";

/**
 * The calling key's `data` from `GET /api/v1/key`, passed through with the server's own
 * snake_case names so it reads like the API reference. Fields other than the four checked ones
 * are passed through unchecked; servers may add more.
 */
export interface KeyInfo {
  /** Display label; OpenRouter shows a masked key here when the key has no name. */
  label: string;
  /** Credits used so far. */
  usage: number;
  /** Spending limit in credits, `null` for none. */
  limit: number | null;
  is_free_tier: boolean;
  limit_remaining?: number | null;
  limit_reset?: string | null;
  usage_daily?: number;
  usage_weekly?: number;
  usage_monthly?: number;
  is_management_key?: boolean;
  expires_at?: string | null;
  [field: string]: unknown;
}

/** Options of {@link getKeyInfo}. */
export interface GetKeyInfoOptions extends RequestOptions {
  /** Default `https://openrouter.ai`. */
  baseUrl?: string;
  /** The API key to describe. */
  key: string;
}

function check(data: Record<string, unknown>, field: string, ok: (value: unknown) => boolean) {
  if (!ok(data[field])) throw new ProtocolError(`"data.${field}" is missing or malformed`);
}

/**
 * Describes an API key (limit, usage, expiry): `GET /api/v1/key` with the key as bearer
 * token. Rejects with {@link UnauthorizedError} when the key is unknown, revoked or expired.
 *
 * @see https://openrouter.ai/docs/api-reference/api-keys/get-current-key
 * @example
 * ```ts
 * const info = await getKeyInfo({ key });
 * console.log(`${info.label}: ${info.usage} of ${info.limit ?? "unlimited"} credits used`);
 * ```
 */
export async function getKeyInfo(options: GetKeyInfoOptions): Promise<KeyInfo> {
  const base = normalizeBaseUrl(options.baseUrl);
  const { key } = options;
  if (typeof key !== "string" || !key) invalidArgument("key", "must be a non-empty string");
  const body = await requestJson(
    `${base}/api/v1/key`,
    { method: "GET", headers: { authorization: `Bearer ${key}` } },
    options,
  );
  const data = isObject(body) ? body.data : undefined;
  if (!isObject(data)) throw new ProtocolError('"data" is missing from the response');
  check(data, "label", (v) => typeof v === "string");
  check(data, "usage", (v) => typeof v === "number");
  check(data, "limit", (v) => v === null || typeof v === "number");
  check(data, "is_free_tier", (v) => typeof v === "boolean");
  return data as KeyInfo;
}
