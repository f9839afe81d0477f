import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * The one error type handlers throw. It knows its status, the message the client may see, and
 * extra headers; `onError` turns it into OpenRouter's JSON body or an HTML page. `detail` is for
 * the server log only (an upstream's raw answer, say): no response ever carries it.
 */
export class KeyportError extends Error {
  override name = "KeyportError";
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly metadata?: Record<string, unknown>,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** OpenRouter's error body: `{"error": {"code": N, "message": "..."}}`. */
function errorBody(status: number, message: string, metadata?: Record<string, unknown>) {
  return { error: metadata ? { code: status, message, metadata } : { code: status, message } };
}

/** Answers a `KeyportError` (or anything else, as a logged 500) as JSON. */
export function jsonError(c: Context, error: unknown): Response {
  if (error instanceof KeyportError) {
    if (error.detail) console.error(`keyport: ${error.message}: ${error.detail}`);
    for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
    return c.json(errorBody(error.status, error.message, error.metadata), error.status);
  }
  console.error(error);
  return c.json(errorBody(500, "Internal server error"), 500);
}
