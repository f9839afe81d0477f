import type { Context } from "hono";
import type { z } from "zod";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../domain/json-depth.js";
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
  const body = parseJsonBody(await readBody(c, maxBytes));
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw invalidInput(parsed.error);
  return parsed.data;
}

/**
 * Parses a request body's JSON text: a `400` when it is not JSON, or when it nests deeper than
 * {@link MAX_JSON_DEPTH} (checked first, in one pass, so no later step recurses that deep).
 * Every JSON endpoint parses its body through here.
 * @example
 * parseJsonBody('{"model":"keyport/echo"}'); // { model: "keyport/echo" }
 */
export function parseJsonBody(text: string): unknown {
  if (nestsDeeperThan(text)) {
    throw new KeyportError(400, `Request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new KeyportError(400, "Request body must be JSON");
  }
}
