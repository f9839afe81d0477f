import type { z } from "zod";
import { KeyportError } from "./errors.js";

/**
 * Keyport's answer to input a zod schema refused: a `400` that names the first field at fault,
 * `Invalid <field>: <reason>` (`whole` names the input when the fault is in all of it).
 * @example
 * const parsed = schema.safeParse(body);
 * if (!parsed.success) throw invalidInput(parsed.error);
 */
export function invalidInput(error: z.ZodError, whole = "body"): KeyportError {
  const issue = error.issues[0];
  const field = issue?.path.join(".") || whole;
  return new KeyportError(400, `Invalid ${field}: ${issue?.message ?? "malformed"}`);
}
