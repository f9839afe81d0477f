import { OpenRouter } from "@openrouter/sdk";
import type { z } from "zod";
import type { RunningServer } from "../../src/index.js";

/**
 * OpenRouter's own TypeScript SDK pointed at a running Keyport: every call it makes validates the
 * answer against the SDK's response schemas, so a shape Keyport drifts from fails the call.
 * Retries are off, so a `5xx` shows at once.
 */
export function openRouterSdk(server: RunningServer, apiKey?: string): OpenRouter {
  return new OpenRouter({
    apiKey,
    serverURL: `${server.url}/api/v1`,
    retryConfig: { strategy: "none" },
  });
}

/** A zod schema's definition, as zod 4 keeps it (the SDK's schemas are typed only as `ZodType`). */
interface Def {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly in?: z.ZodType;
  readonly innerType?: z.ZodType;
  readonly getter?: () => z.ZodType;
}

const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The object schema under `schema`'s wrappers (transform, lazy, nullable, optional, default). */
function objectDef(schema: z.ZodType): Def {
  const def = defOf(schema);
  if (def.type === "object") return def;
  const inner = def.type === "pipe" ? def.in : def.type === "lazy" ? def.getter?.() : def.innerType;
  if (!inner) throw new Error(`not an object schema: ${def.type}`);
  return objectDef(inner);
}

/** Every field an SDK object schema declares, optional ones included. */
function declaredFields(schema: z.ZodType): string[] {
  return Object.keys(objectDef(schema).shape ?? {});
}

/**
 * Parses `value` with one of the SDK's response schemas; a mismatch throws naming every field
 * that is wrong, so a failing test says what drifted.
 */
export function sdkParse(schema: z.ZodType, value: unknown): unknown {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`does not match the SDK's schema:\n${issues.join("\n")}`);
  }
  return parsed.data;
}

/** The fields `schema` declares that `value` leaves out (absent or `undefined`). */
export function absentFields(schema: z.ZodType, value: Record<string, unknown>): string[] {
  return declaredFields(schema).filter((name) => value[name] === undefined);
}
