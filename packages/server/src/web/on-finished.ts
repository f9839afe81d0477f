import type { Context } from "hono";
import { nodeOutgoing } from "./node-request.js";

/**
 * Calls `done` once the response has been sent, a stream's last byte included (or its
 * connection closed); at once where no Node response stands behind the context (`app.request`).
 */
export function onFinished(c: Context, done: () => void): void {
  const outgoing = nodeOutgoing(c);
  if (outgoing) outgoing.once("close", done);
  else done();
}
