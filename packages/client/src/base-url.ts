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

/** Checks `baseUrl` is an absolute http(s) URL and drops trailing slashes. */
export function normalizeBaseUrl(baseUrl: string = OPENROUTER_BASE_URL): string {
  if (typeof baseUrl !== "string" || !/^https?:\/\/[^/?#]+[^?#]*$/i.test(baseUrl)) {
    invalidArgument("baseUrl", "must be an absolute http(s) URL without query or fragment");
  }
  return baseUrl.replace(/\/+$/, "");
}
