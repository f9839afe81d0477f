import type { Context } from "hono";
import type { z } from "zod";
import { KeyportError } from "./errors.js";
import { MAX_BODY_BYTES } from "./limits.js";
import { bodyTooLarge, nodeIncoming, readNodeBody } from "./node-body.js";

/**
 * Reads and validates a JSON body. Malformed JSON and wrong types get a `400` that names the
 * field, in OpenRouter's error shape.
 */
export async function readJson<T extends z.ZodType>(
  c: Context,
  schema: T,
  maxBytes = MAX_BODY_BYTES,
): Promise<z.output<T>> {
  const incoming = nodeIncoming(c);
  const text = incoming
    ? (await readNodeBody(incoming, maxBytes)).toString("utf8")
    : await c.req.text();
  if (!incoming && Buffer.byteLength(text) > maxBytes) throw bodyTooLarge(maxBytes);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new KeyportError(400, "Request body must be JSON");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "body";
    throw new KeyportError(400, `Invalid ${field}: ${issue?.message ?? "malformed"}`);
  }
  return parsed.data;
}
