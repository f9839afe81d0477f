import { z } from "zod";
import { invalidInput } from "../web/zod-error.js";

/** A model as the filters see it: the card `GET /api/v1/models` lists. */
export interface ListedModel {
  readonly id: string;
  readonly name: string;
  readonly created: number;
  readonly context_length: number | null;
  readonly owned_by: string;
  readonly architecture: {
    readonly input_modalities: readonly string[];
    readonly output_modalities: readonly string[];
    readonly tokenizer: string;
  };
  readonly pricing: { readonly prompt: string; readonly completion: string };
  readonly supported_parameters: readonly string[];
}

/** Comma-separated words, lower-cased, empty entries dropped. */
const list = z
  .string()
  .max(2000)
  .transform((value) =>
    value
      .split(",")
      .map((word) => word.trim().toLowerCase())
      .filter(Boolean),
  );
const number = z.coerce.number().finite();
const days = z.coerce.number().int().min(0);

/**
 * The query of OpenRouter's model lists. Filters Keyport keeps data for narrow the list; filters
 * on what it has no record of — use-case categories, zero data retention, data regions,
 * distillation, benchmark indices, tool-call success rates — match no model, since none is known
 * to qualify (`distillable=false` matches every one). Other parameters are ignored, as on
 * OpenRouter; a malformed value is a `400`.
 */
const querySchema = z.object({
  offset: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  supported_parameters: list.optional(),
  input_modalities: list.optional(),
  output_modalities: list.optional(),
  q: z.string().max(200).optional(),
  context: z.coerce.number().int().min(0).optional(),
  min_price: number.optional(),
  max_price: number.optional(),
  min_output_price: number.optional(),
  max_output_price: number.optional(),
  min_age_days: days.optional(),
  max_age_days: days.optional(),
  arch: z.string().max(64).optional(),
  model_authors: list.optional(),
  providers: list.optional(),
  sort: z.string().max(64).optional(),
  distillable: z.enum(["true", "false"]).optional(),
  category: z.string().max(64).optional(),
  zdr: z.string().max(16).optional(),
  region: z.string().max(16).optional(),
  min_intelligence_index: number.optional(),
  max_intelligence_index: number.optional(),
  min_coding_index: number.optional(),
  max_coding_index: number.optional(),
  min_agentic_index: number.optional(),
  max_agentic_index: number.optional(),
  min_tool_success_rate: number.optional(),
  max_tool_success_rate: number.optional(),
});

/** A parsed model-list query. */
export type ModelQuery = z.output<typeof querySchema>;

/** Parses a model-list query; `400` in OpenRouter's shape naming the bad parameter. */
export function parseModelQuery(query: Record<string, string>): ModelQuery {
  const parsed = querySchema.safeParse(query);
  if (!parsed.success) throw invalidInput(parsed.error, "query");
  return parsed.data;
}

/** Filters Keyport has no data for: any of them set leaves no model. */
const UNKNOWABLE = [
  "category",
  "zdr",
  "region",
  "min_intelligence_index",
  "max_intelligence_index",
  "min_coding_index",
  "max_coding_index",
  "min_agentic_index",
  "max_agentic_index",
  "min_tool_success_rate",
  "max_tool_success_rate",
] as const;

const PER_MILLION = 1_000_000;

/** Whether `model` passes every filter of `query` (`now` for the age filters). */
export function matches(model: ListedModel, query: ModelQuery, now: Date): boolean {
  if (UNKNOWABLE.some((name) => query[name] !== undefined)) return false;
  if (query.distillable === "true") return false;
  const { architecture } = model;
  const outputs = query.output_modalities ?? ["text"];
  if (!outputs.includes("all") && !outputs.some((m) => architecture.output_modalities.includes(m)))
    return false;
  const inputs = query.input_modalities ?? [];
  if (!inputs.every((m) => architecture.input_modalities.includes(m))) return false;
  const parameters = query.supported_parameters ?? [];
  if (!parameters.every((p) => model.supported_parameters.includes(p))) return false;
  if (query.q !== undefined) {
    const needle = query.q.trim().toLowerCase();
    if (!model.id.toLowerCase().includes(needle) && !model.name.toLowerCase().includes(needle))
      return false;
  }
  if (query.context !== undefined && (model.context_length ?? 0) < query.context) return false;
  const prompt = Number(model.pricing.prompt) * PER_MILLION;
  const completion = Number(model.pricing.completion) * PER_MILLION;
  if (!within(prompt, query.min_price, query.max_price)) return false;
  if (!within(completion, query.min_output_price, query.max_output_price)) return false;
  const ageDays = (now.getTime() / 1000 - model.created) / 86_400;
  if (!within(ageDays, query.min_age_days, query.max_age_days)) return false;
  if (query.arch !== undefined && architecture.tokenizer.toLowerCase() !== query.arch.toLowerCase())
    return false;
  if (query.model_authors && !query.model_authors.includes(authorOf(model.id))) return false;
  if (query.providers && !query.providers.includes(model.owned_by.toLowerCase())) return false;
  return true;
}

function within(value: number, min: number | undefined, max: number | undefined): boolean {
  return (min === undefined || value >= min) && (max === undefined || value <= max);
}

function authorOf(id: string): string {
  const slash = id.indexOf("/");
  return (slash < 0 ? "" : id.slice(0, slash)).toLowerCase();
}

/**
 * `models` in the order `sort` asks for, among those Keyport can rank (price, context length,
 * newest); any other order keeps the list's own (a stable sort).
 */
export function sortModels<T extends ListedModel>(models: T[], sort: string | undefined): T[] {
  const price = (model: ListedModel) =>
    (Number(model.pricing.prompt) + Number(model.pricing.completion)) / 2;
  switch (sort) {
    case "pricing-low-to-high":
      return models.sort((a, b) => price(a) - price(b));
    case "pricing-high-to-low":
      return models.sort((a, b) => price(b) - price(a));
    case "context-high-to-low":
      return models.sort((a, b) => (b.context_length ?? 0) - (a.context_length ?? 0));
    case "newest":
      return models.sort((a, b) => b.created - a.created);
    default:
      return models;
  }
}
