import { type Context, Hono } from "hono";
import type { AppDeps, AppEnv } from "../web/context.js";
import { KeyportError } from "../web/errors.js";
import { authenticateKey } from "../web/key-auth.js";
import type { ModelCatalog } from "./catalog.js";
import { modelCard, modelEndpoints } from "./model-card.js";
import {
  type ListedModel,
  type ModelQuery,
  matches,
  parseModelQuery,
  sortModels,
} from "./model-filters.js";

type Card = ListedModel & Record<string, unknown>;

/**
 * OpenRouter's model catalogue endpoints, answered from the models Keyport serves:
 *
 * - `GET /api/v1/models`: every model, filtered (`supported_parameters`, modalities, `q`, prices,
 *   context, age, authors, providers), sorted and paged (`offset`, `limit`) as OpenRouter does,
 *   with `total_count` and `links.next`;
 * - `GET /api/v1/models/user`: the same for the calling key (every model it may use);
 * - `GET /api/v1/models/count`: how many models `output_modalities` leaves;
 * - `GET /api/v1/model/{author}/{slug}`: one model;
 * - `GET /api/v1/models/{author}/{slug}/endpoints`: the model with the endpoint that serves it.
 *
 * An unknown model is OpenRouter's `404`.
 * @see https://openrouter.ai/docs/api-reference/list-available-models
 */
export function modelsApiRoutes(deps: AppDeps, catalog: ModelCatalog) {
  const app = new Hono<AppEnv>();

  const cards = async (): Promise<Card[]> =>
    (await catalog.list()).map((route) => modelCard(route) as Card);

  /** The page of models `query` asks for, in OpenRouter's list shape. */
  const page = async (c: Context, query: ModelQuery) => {
    const now = deps.clock();
    const listed = sortModels(
      (await cards()).filter((card) => matches(card, query, now)),
      query.sort,
    );
    const paged = query.offset !== undefined || query.limit !== undefined;
    const offset = query.offset ?? 0;
    const data = paged ? listed.slice(offset, offset + (query.limit ?? 500)) : listed;
    const end = offset + data.length;
    let next: string | null = null;
    if (paged && end < listed.length) {
      const url = new URL(c.req.url);
      url.searchParams.set("offset", String(end));
      next = `${url.pathname}${url.search}`;
    }
    return c.json({ object: "list", data, total_count: listed.length, links: { next } });
  };

  app.get("/api/v1/models", (c) => page(c, parseModelQuery(c.req.query())));

  app.get("/api/v1/models/user", async (c) => {
    const key = await authenticateKey(c, deps);
    if (key.disabled) throw new KeyportError(403, "Key is disabled");
    // A key may use every model Keyport serves: keys carry no model restrictions.
    return page(c, parseModelQuery(c.req.query()));
  });

  app.get("/api/v1/models/count", async (c) => {
    const query = parseModelQuery(c.req.query());
    const now = deps.clock();
    const count = (await cards()).filter((card) => matches(card, query, now)).length;
    return c.json({ data: { count } });
  });

  const routeOf = async (author: string, slug: string) => {
    const id = `${author}/${slug}`;
    const route = catalog.known(id) ?? (await catalog.resolve(id));
    if (!route) throw new KeyportError(404, `Model ${id} not found`);
    return route;
  };

  app.get("/api/v1/model/:author/:slug", async (c) => {
    const route = await routeOf(c.req.param("author"), c.req.param("slug"));
    return c.json({ data: modelCard(route) });
  });

  app.get("/api/v1/models/:author/:slug/endpoints", async (c) => {
    const route = await routeOf(c.req.param("author"), c.req.param("slug"));
    return c.json({ data: modelEndpoints(route) });
  });

  return app;
}
