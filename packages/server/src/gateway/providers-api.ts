import { Hono } from "hono";
import type { UpstreamConfig } from "../config/upstreams.js";
import type { AppEnv } from "../web/context.js";
import { BUILTIN_UPSTREAM } from "./catalog.js";

/**
 * A provider as OpenRouter's `GET /api/v1/providers` lists it: Keyport's providers are its
 * configured upstreams (their pages as configured, else `null`), and Keyport itself, which serves
 * the built-in models.
 */
function providerEntry(upstream: UpstreamConfig | undefined) {
  return {
    name: upstream?.name ?? BUILTIN_UPSTREAM,
    slug: (upstream?.name ?? BUILTIN_UPSTREAM).toLowerCase(),
    privacy_policy_url: upstream?.privacyPolicyUrl ?? null,
    terms_of_service_url: upstream?.termsOfServiceUrl ?? null,
    status_page_url: upstream?.statusPageUrl ?? null,
    headquarters: null,
    datacenters: null,
  };
}

/**
 * `GET /api/v1/providers`: `{"data": [{name, slug, privacy_policy_url, terms_of_service_url,
 * status_page_url, headquarters, datacenters}]}`, public as on OpenRouter.
 * @see https://openrouter.ai/docs/api-reference/list-providers
 */
export function providersApiRoutes(upstreams: readonly UpstreamConfig[]) {
  const app = new Hono<AppEnv>();
  const body = { data: [providerEntry(undefined), ...upstreams.map(providerEntry)] };
  app.get("/api/v1/providers", (c) => c.json(body));
  return app;
}
