import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { z } from "zod";

/**
 * A credential read from the environment once at start-up. It never prints: `String()`,
 * `JSON.stringify` and `console.log` all show `[redacted]`; only `reveal()` gives the value.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return "[redacted]";
  }
  toJSON(): string {
    return "[redacted]";
  }
  [inspect.custom](): string {
    return "[redacted]";
  }
}

/** Prices are credits per token, as OpenRouter's `/models` gives them (`"0.00000015"`). */
const price = z.coerce.number().finite().min(0);

/** A short list of lower-case words such as modalities or request parameters. */
const words = (max: number) =>
  z.array(z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, "must be a lower-case word")).max(max);

const modelSchema = z.strictObject({
  id: z.string().min(1).max(200),
  upstreamModel: z.string().min(1).max(200).optional(),
  promptPrice: price.default(0),
  completionPrice: price.default(0),
  requestPrice: price.default(0),
  webSearchPrice: price.optional(),
  maxTokens: z.number().int().positive().optional(),
  description: z.string().max(1000).optional(),
  // What `GET /api/v1/models` says of the model (OpenRouter's fields); none changes routing.
  name: z.string().min(1).max(200).optional(),
  created: z.number().int().min(0).optional(),
  contextLength: z.number().int().positive().optional(),
  inputModalities: words(10).min(1).optional(),
  outputModalities: words(10).min(1).optional(),
  tokenizer: z.string().min(1).max(64).optional(),
  instructType: z.string().min(1).max(64).optional(),
  supportedParameters: words(64).optional(),
  defaultParameters: z
    .strictObject({
      temperature: z.number().finite().optional(),
      top_p: z.number().finite().optional(),
      top_k: z.number().int().optional(),
      frequency_penalty: z.number().finite().optional(),
      presence_penalty: z.number().finite().optional(),
      repetition_penalty: z.number().finite().optional(),
    })
    .optional(),
  huggingFaceId: z.string().min(1).max(200).optional(),
  isModerated: z.boolean().optional(),
});

const pageUrl = z.url({ protocol: /^https?$/ }).optional();

const upstreamSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 characters of A-Z a-z 0-9 . _ -"),
  baseUrl: z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, "")),
  apiKeyEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name")
    .optional(),
  generationLookup: z.boolean().default(false),
  kind: z.enum(["openrouter", "openai"]).optional(),
  // What `GET /api/v1/providers` says of the upstream.
  privacyPolicyUrl: pageUrl,
  termsOfServiceUrl: pageUrl,
  statusPageUrl: pageUrl,
  models: z.union([z.literal("discover"), z.array(modelSchema).min(1)]),
});

const upstreamsSchema = z.array(upstreamSchema);

/** One model an upstream serves, with what it costs. */
export interface UpstreamModelConfig {
  /** The id clients send as `model`. */
  readonly id: string;
  /** The id sent to the upstream (defaults to `id`). */
  readonly upstreamModel: string;
  /** Credits per prompt token. */
  readonly promptPrice: number;
  /** Credits per completion token. */
  readonly completionPrice: number;
  /** Credits per request, on top of tokens (a provider's per-request fee). */
  readonly requestPrice: number;
  /** Credits per web search result; without it, requests that ask for web search get `400`. */
  readonly webSearchPrice?: number;
  /** The most completion tokens one request may ask for (also its worst case for budgets). */
  readonly maxTokens?: number;
  readonly description?: string;
  /** The display name (defaults to `id`). */
  readonly name?: string;
  /** When the model was published, in Unix seconds. */
  readonly created?: number;
  /** Tokens of prompt and completion the model takes at most. */
  readonly contextLength?: number;
  /** OpenRouter's modality words: `text`, `image`, `file`, `audio`, `video` (default `text`). */
  readonly inputModalities?: readonly string[];
  readonly outputModalities?: readonly string[];
  /** OpenRouter's model family, e.g. `GPT`, `Claude`, `Llama3` (default `Other`). */
  readonly tokenizer?: string;
  readonly instructType?: string;
  /** The request parameters the model honours, e.g. `tools`, `temperature`, `response_format`. */
  readonly supportedParameters?: readonly string[];
  /** Sampling defaults the provider applies, in OpenRouter's `default_parameters` shape. */
  readonly defaultParameters?: Readonly<Record<string, number>>;
  readonly huggingFaceId?: string;
  /** The provider moderates prompts before the model sees them. */
  readonly isModerated?: boolean;
}

/** An OpenAI-compatible provider Keyport forwards to. */
export interface UpstreamConfig {
  readonly name: string;
  /** Up to and including the API version, e.g. `https://api.openai.com/v1`. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer …`; resolved from `apiKeyEnv` at start-up. */
  readonly apiKey?: Secret;
  /**
   * The upstream answers OpenRouter's `GET /generation?id=` with a generation's final cost, so a
   * stream the client cut short is billed that figure rather than its whole reservation.
   */
  readonly generationLookup: boolean;
  /**
   * The upstream is OpenRouter (`"kind": "openrouter"`, the default for an `openrouter.ai` base
   * URL): it gets `provider` preferences and the app's attribution headers; other upstreams
   * (`"kind": "openai"`) get neither.
   */
  readonly openRouter: boolean;
  /** Listed models, or `"discover"`: ask the upstream's `GET /models` at start-up. */
  readonly models: readonly UpstreamModelConfig[] | "discover";
  /** The provider's pages, for `GET /api/v1/providers`. */
  readonly privacyPolicyUrl?: string;
  readonly termsOfServiceUrl?: string;
  readonly statusPageUrl?: string;
}

/** Thrown for an upstreams file that cannot be used; the message names the entry and field. */
export class UpstreamConfigError extends Error {
  override name = "UpstreamConfigError";
}

/**
 * Reads the upstreams configuration: a path to a JSON file, or the JSON itself when the value
 * starts with `[` (handy in containers). API keys are looked up in `env` here, once; a named
 * variable that is unset is a configuration error rather than a silent unauthenticated upstream.
 *
 * @example
 * // upstreams.json
 * // [{ "name": "openrouter", "baseUrl": "https://openrouter.ai/api/v1",
 * //    "apiKeyEnv": "OPENROUTER_API_KEY", "models": "discover" }]
 * const upstreams = loadUpstreams("upstreams.json", process.env);
 */
export function loadUpstreams(
  source: string,
  env: Readonly<Record<string, string | undefined>>,
): readonly UpstreamConfig[] {
  let text = source.trim();
  if (!text.startsWith("[")) {
    try {
      text = readFileSync(source, "utf8");
    } catch (error) {
      throw new UpstreamConfigError(`Cannot read upstreams file ${source}: ${String(error)}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UpstreamConfigError(`Upstreams configuration is not JSON: ${String(error)}`);
  }
  const parsed = upstreamsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where =
      issue?.path
        .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
        .join("") ?? "";
    throw new UpstreamConfigError(`Invalid upstreams${where}: ${issue?.message ?? "malformed"}`);
  }
  const names = new Set<string>();
  return Object.freeze(
    parsed.data.map((upstream, index) => {
      if (names.has(upstream.name)) {
        throw new UpstreamConfigError(
          `Invalid upstreams[${index}].name: "${upstream.name}" is used twice`,
        );
      }
      names.add(upstream.name);
      let apiKey: Secret | undefined;
      if (upstream.apiKeyEnv) {
        const value = env[upstream.apiKeyEnv];
        if (!value) {
          throw new UpstreamConfigError(
            `Upstream "${upstream.name}" needs the environment variable ${upstream.apiKeyEnv}, which is not set`,
          );
        }
        apiKey = new Secret(value);
      }
      const models =
        upstream.models === "discover"
          ? "discover"
          : Object.freeze(
              upstream.models.map((model) =>
                Object.freeze({ ...model, upstreamModel: model.upstreamModel ?? model.id }),
              ),
            );
      return Object.freeze({
        name: upstream.name,
        baseUrl: upstream.baseUrl,
        apiKey,
        generationLookup: upstream.generationLookup,
        openRouter:
          upstream.kind === undefined
            ? new URL(upstream.baseUrl).hostname.endsWith("openrouter.ai")
            : upstream.kind === "openrouter",
        models,
        privacyPolicyUrl: upstream.privacyPolicyUrl,
        termsOfServiceUrl: upstream.termsOfServiceUrl,
        statusPageUrl: upstream.statusPageUrl,
      });
    }),
  );
}
