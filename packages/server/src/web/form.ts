import type { Context } from "hono";
import { KeyportError } from "./errors.js";

/** A urlencoded or multipart form body, each field as the list of its values. */
export type FormFields = Record<string, string[]>;

/** Reads a form body; anything but text fields is refused. */
export async function readForm(c: Context): Promise<FormFields> {
  let body: Record<string, unknown>;
  try {
    body = await c.req.parseBody({ all: true });
  } catch {
    throw new KeyportError(400, "The form could not be read.");
  }
  const fields: FormFields = {};
  for (const [name, value] of Object.entries(body)) {
    const values = Array.isArray(value) ? value : [value];
    if (!values.every((item) => typeof item === "string")) {
      throw new KeyportError(400, `The form field ${name} must be text.`);
    }
    fields[name] = values as string[];
  }
  return fields;
}

/** The single value of a form field, or `undefined` when absent or repeated. */
export function single(fields: FormFields, name: string): string | undefined {
  const values = fields[name];
  return values?.length === 1 ? values[0] : undefined;
}

/**
 * A local path to continue to after a form, never another site (no open redirect). Browsers
 * drop tabs and newlines from URLs (`/\t/evil.com` is `//evil.com`) and a CR/LF would break the
 * `Location` header, so control characters are refused along with `//` and `/\\`.
 */
export function safeNext(next: string | undefined): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  if (!next?.startsWith("/") || /[\u0000-\u001f\u007f]/.test(next)) return "/";
  if (next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next;
}
