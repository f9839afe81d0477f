import type { Context } from "hono";
import type { z } from "zod";
import { MAX_BODY_BYTES, readBody } from "./body.js";
import { KeyportError } from "./errors.js";
import { invalidInput } from "./zod-error.js";

/**
 * Reads and validates a JSON body. Malformed JSON and wrong types get a `400` that names the
 * field, in OpenRouter's error shape.
 */
export async function readJson<T extends z.ZodType>(
  c: Context,
  schema: T,
  maxBytes = MAX_BODY_BYTES,
): Promise<z.output<T>> {
  const text = await readBody(c, maxBytes);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new KeyportError(400, "Request body must be JSON");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw invalidInput(parsed.error);
  return parsed.data;
}
