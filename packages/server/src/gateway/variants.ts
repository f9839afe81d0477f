import { KeyportError } from "../web/errors.js";
import type { ModelCatalog, ModelRoute } from "./catalog.js";

/**
 * OpenRouter's routing variants: accepted on any of its models, they change only which provider
 * serves it (`:nitro` sorts by throughput, `:floor` by price, `:exacto` by tool-calling quality),
 * so the base model's prices stand.
 */
const ROUTING_VARIANTS = new Set(["nitro", "floor", "exacto"]);

/**
 * OpenRouter's catalog variants: separate models with their own prices, served only when an
 * upstream lists them (a discovered OpenRouter upstream does).
 */
const CATALOG_VARIANTS = new Set(["free", "extended", "thinking", "batch"]);

/** What a request's `model` resolves to. */
export interface ResolvedModel {
  readonly route: ModelRoute;
  /** `:online`: the web plugin is added to the request, and priced like it (or refused). */
  readonly online: boolean;
}

/**
 * The route serving `model`: a listed model (a catalog variant such as `x:free` included), else a
 * variant of one. `:nitro`, `:floor` and `:exacto` pass to OpenRouter upstreams only, at the base
 * model's prices; `:online` is the web plugin on the base model (OpenRouter's alias for it), so
 * it is priced like the plugin or refused where web search has no price.
 * @throws KeyportError `400`: an unknown model, an unknown suffix (named), a catalog variant its
 * upstream does not list, or a routing variant of a model not served through OpenRouter.
 */
export async function resolveModel(catalog: ModelCatalog, model: string): Promise<ResolvedModel> {
  const listed = catalog.known(model) ?? (await catalog.resolve(model));
  if (listed) return { route: listed, online: false };
  const colon = model.lastIndexOf(":");
  // As OpenRouter answers: a request naming no served model is the client's mistake, not worth retrying.
  const invalid = (why = "") =>
    new KeyportError(400, `${model} is not a valid model ID${why}`, {}, { model });
  if (colon <= 0) throw invalid();
  const suffix = model.slice(colon + 1);
  const base = model.slice(0, colon);
  const known = ROUTING_VARIANTS.has(suffix) || CATALOG_VARIANTS.has(suffix) || suffix === "online";
  if (!known) throw invalid(`: unknown model variant suffix :${suffix}`);
  const route = catalog.known(base) ?? (await catalog.resolve(base));
  if (!route) throw invalid();
  if (CATALOG_VARIANTS.has(suffix)) {
    // Its price is the variant's own, which no upstream stated: it cannot be reserved for.
    throw invalid(`: the :${suffix} variant of ${base} is not listed by its upstream`);
  }
  if (suffix === "online") return { route, online: true };
  if (!route.upstream?.openRouter)
    throw invalid(`: the :${suffix} variant is only served through OpenRouter upstreams`);
  return {
    route: { ...route, id: model, upstreamModel: `${route.upstreamModel}:${suffix}` },
    online: false,
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A request for an `:online` model: the web plugin added, unless it is already there. */
export function withWebPlugin<T extends Readonly<Record<string, unknown>>>(request: T): T {
  const plugins = Array.isArray(request.plugins) ? request.plugins : [];
  if (plugins.some((plugin) => isRecord(plugin) && plugin.id === "web")) return request;
  return { ...request, plugins: [...plugins, { id: "web" }] };
}

/**
 * Checks OpenRouter's `provider` preferences loosely: an object (its fields are OpenRouter's to
 * judge). They reach OpenRouter upstreams only; see `attemptBody`.
 * @throws KeyportError `400` naming `provider`.
 */
export function checkProvider(request: Readonly<Record<string, unknown>>): void {
  if (request.provider != null && !isRecord(request.provider))
    throw new KeyportError(400, "Invalid provider: must be an object");
}
