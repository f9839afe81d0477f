import { invalidArgument } from "./errors.js";

/**
 * Where OpenRouter serves `/auth` and `/api/v1`: the default `baseUrl` everywhere.
 *
 * @example
 * ```ts
 * const keyportServer = process.env.KEYPORT_URL ?? OPENROUTER_BASE_URL;
 * ```
 */
export const OPENROUTER_BASE_URL = "https://openrouter.ai";

const LOOPBACK = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(\/|$)/i;

/**
 * Checks `baseUrl` is an absolute https URL (http only on a loopback host, where a local server
 * runs: the verifier and the key must never cross a network in clear) and drops trailing slashes.
 */
export function normalizeBaseUrl(baseUrl: string = OPENROUTER_BASE_URL): string {
  if (typeof baseUrl !== "string" || !/^https?:\/\/[^/?#]+[^?#]*$/i.test(baseUrl)) {
    invalidArgument("baseUrl", "must be an absolute http(s) URL without query or fragment");
  }
  if (/^http:/i.test(baseUrl) && !LOOPBACK.test(baseUrl)) {
    invalidArgument("baseUrl", "must use https (http only for localhost, 127.0.0.1 or [::1])");
  }
  return baseUrl.replace(/\/+$/, "");
}
