import {
  type KeyportError,
  type KeyportErrorOptions,
  MethodNotAllowedError,
  NetworkError,
  ProtocolError,
  RateLimitedError,
  ServerError,
  UnauthorizedError,
} from "./errors.js";
import { type AbortSignalLike, type FetchLike, platform, type ResponseLike } from "./platform.js";

/** Maps an endpoint's own error statuses; `undefined` falls through to the shared ones. */
export type ErrorMapper = (
  status: number,
  message: string,
  options: KeyportErrorOptions,
) => KeyportError | undefined;

/** A JSON object: the only kind of value the core narrows field by field. */
export type JsonObject = Record<string, unknown>;

/** Narrows untrusted JSON to a plain object, field by field from there. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `Retry-After` is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
function retryAfterSeconds(header: string | null): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function errorFor(response: ResponseLike, body: unknown, mapper?: ErrorMapper): KeyportError {
  const { status } = response;
  const error = isObject(body) ? body.error : undefined;
  const serverMessage = isObject(error) ? error.message : undefined;
  const message = typeof serverMessage === "string" ? serverMessage : `HTTP ${status}`;
  const options = { status, cause: body };
  const mapped = mapper?.(status, message, options);
  if (mapped) return mapped;
  if (status === 401) return new UnauthorizedError(message, options);
  if (status === 405) return new MethodNotAllowedError(message, options);
  if (status === 429) {
    const seconds = retryAfterSeconds(response.headers.get("retry-after"));
    return new RateLimitedError(message, { ...options, retryAfterSeconds: seconds });
  }
  return new ServerError(message, options);
}

/** Options every request-making function accepts. */
export interface RequestOptions {
  /** Replaces the platform `fetch`. */
  fetch?: FetchLike;
  /** Aborts the request; the promise then rejects with `signal.reason`. */
  signal?: AbortSignalLike;
}

/**
 * Sends one request and returns the parsed JSON body of a `2xx` answer; anything else becomes
 * the matching {@link KeyportError}.
 */
export async function requestJson(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  options: RequestOptions,
  mapper?: ErrorMapper,
): Promise<unknown> {
  const { signal } = options;
  const fetch = options.fetch ?? platform.fetch;
  let response: ResponseLike;
  let text: string;
  try {
    response = await fetch(url, signal ? { ...init, signal } : init);
    text = await response.text();
  } catch (cause) {
    if (signal?.aborted) throw signal.reason;
    throw new NetworkError(`Could not reach ${url}`, { cause });
  }
  let body: unknown = text;
  let parseError: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    parseError = error;
  }
  const { status } = response;
  if (status < 200 || status > 299) throw errorFor(response, body, mapper);
  if (parseError) throw new ProtocolError("Response body is not JSON", { status, cause: text });
  return body;
}
