import type { ContentfulStatusCode } from "hono/utils/http-status";
import { KeyportError } from "../web/errors.js";

/** Which upstream a failure came from, and which request it failed (for the log and the client). */
export interface FailedCall {
  readonly requestId: string;
  readonly upstreamName: string;
}

/**
 * The client's view of an upstream failure: OpenRouter's error shape, a mapped status and a
 * generic message naming the request id. What the upstream said — which may echo the operator's
 * upstream key, internal host names or account ids — goes to `detail`, for the server log only.
 */
function upstreamError(
  call: FailedCall,
  status: ContentfulStatusCode,
  what: string,
  detail: string,
  headers: Record<string, string> = {},
): KeyportError {
  return new KeyportError(
    status,
    `${what} (request ${call.requestId})`,
    headers,
    { upstream: call.upstreamName, request_id: call.requestId },
    `upstream ${call.upstreamName}: ${detail}`,
  );
}

/**
 * An upstream's non-`2xx` answer: its `429` stays `429` (with its `Retry-After` when that is a
 * plain number of seconds), `400`/`413`/`422` (a request the model refuses) become `400`,
 * `408`/`504` become `408`, and everything else — `401`/`403` about Keyport's own upstream
 * credentials included — is a `502`.
 */
export function upstreamRefusal(
  call: FailedCall,
  status: number,
  body: string,
  retryAfter: string | undefined,
): KeyportError {
  const detail = `answered ${status}: ${body.length > 4096 ? `${body.slice(0, 4096)}…` : body}`;
  if (status === 429) {
    const seconds = retryAfter && /^\d{1,6}$/.test(retryAfter) ? retryAfter : "1";
    return upstreamError(call, 429, "The upstream provider is rate limiting requests", detail, {
      "Retry-After": seconds,
    });
  }
  if (status === 400 || status === 413 || status === 422)
    return upstreamError(call, 400, "The upstream provider refused the request", detail);
  if (status === 408 || status === 504)
    return upstreamError(call, 408, "The upstream provider timed out", detail);
  return upstreamError(call, 502, "The upstream provider failed", detail);
}

/** `408`: the upstream did not answer (or fell silent) for `timeoutMs`. */
export function upstreamTimeout(call: FailedCall, timeoutMs: number): KeyportError {
  return upstreamError(
    call,
    408,
    `The upstream provider timed out after ${timeoutMs} ms`,
    `no answer for ${timeoutMs} ms`,
  );
}

/** `502`: the upstream could not be reached, dropped the connection or sent nonsense. */
export function upstreamBroken(call: FailedCall, error: unknown): KeyportError {
  const detail =
    error instanceof Error
      ? error.cause instanceof Error
        ? `${error.message}: ${error.cause.message}`
        : error.message
      : String(error);
  return upstreamError(call, 502, "The upstream provider failed", detail);
}

/** An error an upstream sent inside its stream (`data: {"error": …}`), as the client gets it. */
export function streamedUpstreamError(call: FailedCall, payload: string): KeyportError {
  return upstreamError(call, 502, "The upstream provider failed mid-stream", payload);
}
