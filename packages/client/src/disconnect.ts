import { normalizeBaseUrl } from "./base-url.js";
import { invalidArgument, RevocationUnsupportedError, UnauthorizedError } from "./errors.js";
import { type RequestOptions, requestJson } from "./http.js";

/** Options of {@link disconnect}. */
export interface DisconnectOptions extends RequestOptions {
  /** Default `https://openrouter.ai`, which lacks the endpoint: see {@link disconnect}. */
  baseUrl?: string;
  /** The API key to revoke. */
  key: string;
}

/**
 * Disconnects the app: revokes its key on the server (`DELETE /api/v1/key`, a Keyport
 * extension), so it stops working at once. Resolves `{ revoked: true }`, or `{ revoked: false }`
 * when the server already refused the key (revoked, expired, unknown): either way it no longer
 * works. The app then forgets the key.
 *
 * A server without the endpoint (OpenRouter) rejects with {@link RevocationUnsupportedError}:
 * the key still works there, so the SDK does not pretend otherwise; tell the user to revoke it
 * in the server's key settings. Network and server failures reject as usual.
 *
 * @example
 * ```ts
 * await disconnect({ baseUrl: "https://keyport.example", key });
 * localStorage.removeItem("apiKey");
 * ```
 */
export async function disconnect(options: DisconnectOptions): Promise<{ revoked: boolean }> {
  const base = normalizeBaseUrl(options.baseUrl);
  const { key } = options;
  if (typeof key !== "string" || !key) invalidArgument("key", "must be a non-empty string");
  try {
    await requestJson(
      `${base}/api/v1/key`,
      { method: "DELETE", headers: { authorization: `Bearer ${key}` } },
      options,
      (status, message, errorOptions) =>
        status === 404 || status === 405 || status === 501
          ? new RevocationUnsupportedError(
              `${base} cannot revoke a key from the app (${message}); revoke it in its key settings`,
              errorOptions,
            )
          : undefined,
    );
  } catch (error) {
    if (error instanceof UnauthorizedError) return { revoked: false };
    throw error;
  }
  return { revoked: true };
}
