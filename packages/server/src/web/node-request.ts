import { type IncomingMessage, ServerResponse } from "node:http";
import type { Context } from "hono";

/** The Node request behind a Hono context when served by `@hono/node-server` (not `app.request()`). */
export function nodeIncoming(c: Context): IncomingMessage | undefined {
  const env = c.env as { incoming?: IncomingMessage } | undefined;
  return env?.incoming;
}

/** The Node response behind a Hono context when served by `@hono/node-server`. */
export function nodeOutgoing(c: Context): ServerResponse | undefined {
  const env = c.env as { outgoing?: ServerResponse } | undefined;
  return env?.outgoing instanceof ServerResponse ? env.outgoing : undefined;
}
