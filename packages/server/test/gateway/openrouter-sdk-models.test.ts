import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ListEndpointsResponse$inboundSchema,
  Model$inboundSchema,
  ModelsListResponse$inboundSchema,
  PublicEndpoint$inboundSchema,
} from "@openrouter/sdk/models";
import {
  BadRequestResponseError,
  NotFoundResponseError,
  UnauthorizedResponseError,
} from "@openrouter/sdk/models/errors";
import { ListProvidersData$inboundSchema } from "@openrouter/sdk/models/operations";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/index.js";
import type { TestDatabase } from "../support/databases.js";
import { dialects } from "../support/databases.js";
import { absentFields, openRouterSdk, sdkParse } from "../support/openrouter-sdk.js";
import { type FakeUpstream, mintKeyFor, startKeyport, startUpstream } from "./support.js";

const sqlite = dialects[0];
if (!sqlite) throw new Error("no SQLite dialect");

/** A model as OpenRouter's own `GET /models` lists it, every field filled. */
const LISTED_RICH = {
  id: "vendor/rich",
  canonical_slug: "vendor/rich-2026-01-01",
  hugging_face_id: "vendor/Rich-7B",
  name: "Vendor: Rich",
  created: 1_767_225_600,
  description: "A model the upstream describes itself.",
  context_length: 131_072,
  architecture: {
    modality: "text+image->text",
    input_modalities: ["text", "image"],
    output_modalities: ["text"],
    tokenizer: "Llama3",
    instruct_type: "llama3",
  },
  pricing: {
    prompt: "0.0000002",
    completion: "0.0000006",
    request: "0",
    image: "0.0001",
    input_cache_read: "0.00000005",
  },
  top_provider: { context_length: 131_072, max_completion_tokens: 8192, is_moderated: true },
  per_request_limits: { prompt_tokens: 100_000, completion_tokens: 8192 },
  supported_parameters: ["max_tokens", "temperature", "tools", "tool_choice", "reasoning"],
  default_parameters: { temperature: 0.7, top_p: null },
  supported_voices: null,
  knowledge_cutoff: "2025-06-30",
  expiration_date: null,
  links: { details: "/api/v1/models/vendor/rich/endpoints" },
};

/** A model as a plain OpenAI-compatible server lists it, with an odd field or two. */
const LISTED_ODD = {
  id: "vendor/odd",
  object: "model",
  created: "yesterday",
  owned_by: "vendor",
  pricing: { prompt: "0.000001", completion: "0.000002", overrides: "not a list" },
  architecture: "transformer",
  top_provider: { is_moderated: "no" },
  supported_parameters: "all of them",
};

/** A `"discover"` upstream: only its `GET /v1/models` matters here. */
async function listingUpstream(): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== "/v1/models") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ data: [LISTED_RICH, LISTED_ODD] }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return server;
}

/** A configured model with every optional field of the upstreams file. */
const CONFIGURED = {
  id: "local/tooled",
  name: "Local: Tooled",
  created: 1_750_000_000,
  description: "A configured model that calls tools",
  promptPrice: 0.000003,
  completionPrice: 0.000015,
  maxTokens: 4096,
  contextLength: 200_000,
  inputModalities: ["text", "file"],
  outputModalities: ["text"],
  tokenizer: "Claude",
  supportedParameters: ["max_tokens", "temperature", "tools", "tool_choice", "response_format"],
  defaultParameters: { temperature: 1 },
  huggingFaceId: "local/Tooled",
  isModerated: false,
};

const fetchJson = async (server: RunningServer, path: string, key?: string) => {
  const response = await fetch(`${server.url}${path}`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

type Listed = Record<string, unknown> & { id: string };

/** The model catalogue as `@openrouter/sdk` reads it, through its own client and schemas. */
describe("model catalogue against @openrouter/sdk", () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let listing: Server;
  let server: RunningServer;
  let key: string;

  beforeAll(async () => {
    db = await sqlite.fresh();
    upstream = await startUpstream();
    listing = await listingUpstream();
    const { port } = listing.address() as AddressInfo;
    server = await startKeyport(db, upstream, {
      extraUpstreams: [
        {
          name: "Local",
          baseUrl: "http://127.0.0.1:9/v1",
          privacyPolicyUrl: "https://local.example/privacy",
          termsOfServiceUrl: "https://local.example/terms",
          statusPageUrl: "https://status.local.example/",
          models: [CONFIGURED],
        },
        { name: "lister", baseUrl: `http://127.0.0.1:${port}/v1`, models: "discover" },
      ],
    });
    ({ key } = await mintKeyFor(server, { limit: 1 }));
  });

  afterAll(async () => {
    await server?.close();
    await upstream?.close();
    listing?.close();
    await db?.drop();
  });

  const allModels = async (query = "") => {
    const { status, body } = await fetchJson(server, `/api/v1/models${query}`);
    expect(status).toBe(200);
    sdkParse(ModelsListResponse$inboundSchema, body);
    return body as { data: Listed[]; total_count: number; links: { next: string | null } };
  };

  it("the SDK's models.list reads every model: built-in, configured and discovered", async () => {
    const page = await openRouterSdk(server).models.list();
    const ids = page.result.data.map((model) => model.id);
    expect(ids).toEqual(expect.arrayContaining(["keyport/echo", "fake/chat", "local/tooled"]));
    expect(ids).toEqual(expect.arrayContaining(["vendor/rich", "vendor/odd"]));
    expect(page.result.totalCount).toBe(ids.length);
    expect(page.result.links.next).toBeNull();
    const echo = page.result.data.find((model) => model.id === "keyport/echo");
    expect(echo).toMatchObject({
      canonicalSlug: "keyport/echo",
      name: "Keyport: Echo (test model)",
      contextLength: 65_536,
      architecture: {
        inputModalities: ["text"],
        outputModalities: ["text"],
        modality: "text->text",
      },
      pricing: { prompt: "0.000001", completion: "0.000002", request: "0" },
      topProvider: { contextLength: 65_536, maxCompletionTokens: 1024, isModerated: false },
      supportedParameters: ["max_tokens", "max_completion_tokens"],
      perRequestLimits: null,
      defaultParameters: null,
      links: { details: "/api/v1/models/keyport/echo/endpoints" },
    });
  });

  it("every field of the SDK's Model is present on every model (only the optional objects left out)", async () => {
    const { data } = await allModels();
    for (const model of data) {
      expect(absentFields(Model$inboundSchema, model)).toEqual([
        "alias_target",
        "benchmarks",
        "reasoning",
      ]);
    }
  });

  it("a configured model says what its configuration says", async () => {
    const { data } = await allModels();
    expect(data.find((model) => model.id === "local/tooled")).toMatchObject({
      name: "Local: Tooled",
      created: 1_750_000_000,
      description: "A configured model that calls tools",
      context_length: 200_000,
      architecture: {
        input_modalities: ["text", "file"],
        output_modalities: ["text"],
        tokenizer: "Claude",
        instruct_type: null,
        modality: "text+file->text",
      },
      pricing: { prompt: "0.000003", completion: "0.000015", request: "0" },
      top_provider: { context_length: 200_000, max_completion_tokens: 4096, is_moderated: false },
      supported_parameters: CONFIGURED.supportedParameters,
      default_parameters: { temperature: 1 },
      hugging_face_id: "local/Tooled",
      owned_by: "Local",
    });
  });

  it("a discovered model passes through as its upstream listed it, odd fields replaced", async () => {
    const { data } = await allModels();
    const rich = data.find((model) => model.id === "vendor/rich");
    const { links: _links, ...listed } = LISTED_RICH;
    expect(rich).toMatchObject(listed);
    const odd = data.find((model) => model.id === "vendor/odd");
    expect(odd).toMatchObject({
      created: 0,
      architecture: { input_modalities: ["text"], output_modalities: ["text"], tokenizer: "Other" },
      pricing: { prompt: "0.000001", completion: "0.000002" },
      top_provider: { is_moderated: false },
      supported_parameters: [],
    });
    expect(odd?.pricing).not.toHaveProperty("overrides");
  });

  it("?supported_parameters= keeps the models that support every one listed", async () => {
    const sdk = openRouterSdk(server);
    const tools = await sdk.models.list({ supportedParameters: "tools,tool_choice" });
    expect(tools.result.data.map((model) => model.id).sort()).toEqual([
      "local/tooled",
      "vendor/rich",
    ]);
    const json = await sdk.models.list({ supportedParameters: "tools,response_format" });
    expect(json.result.data.map((model) => model.id)).toEqual(["local/tooled"]);
    expect((await allModels("?supported_parameters=no_such_thing")).data).toEqual([]);
    const all = await allModels();
    const maxTokens = await allModels("?supported_parameters=MAX_TOKENS");
    expect(maxTokens.data.length).toBe(
      all.data.filter((model) => (model.supported_parameters as string[]).includes("max_tokens"))
        .length,
    );
    expect(maxTokens.data.map((model) => model.id)).toContain("keyport/echo");
  });

  it("filters by modality, search, context, price, author and provider, and sorts", async () => {
    const sdk = openRouterSdk(server);
    const ids = async (request: Parameters<typeof sdk.models.list>[0]) =>
      (await sdk.models.list(request)).result.data.map((model) => model.id);
    expect(await ids({ inputModalities: "image" })).toEqual(["vendor/rich"]);
    expect(await ids({ outputModalities: "embeddings" })).toEqual([]);
    expect(await ids({ q: "TOOLED" })).toEqual(["local/tooled"]);
    expect(await ids({ context: 150_000 })).toEqual(["local/tooled"]);
    // $/M prompt tokens: local/tooled costs 3, vendor/rich 0.2.
    expect(await ids({ minPrice: 2.5 })).toEqual(["local/tooled"]);
    expect(await ids({ maxOutputPrice: 0.6, modelAuthors: "vendor" })).toEqual(["vendor/rich"]);
    expect(await ids({ providers: "local" })).toEqual(["local/tooled"]);
    expect(await ids({ arch: "claude" })).toEqual(["local/tooled"]);
    const newest = await ids({ sort: "newest" });
    expect(newest.slice(0, 2)).toEqual(["vendor/rich", "local/tooled"]);
    const roomiest = await ids({ sort: "context-high-to-low" });
    expect(roomiest[0]).toBe("local/tooled");
  });

  it("filters on what Keyport keeps no record of match no model; unknown parameters are ignored", async () => {
    const sdk = openRouterSdk(server);
    expect((await sdk.models.list({ category: "programming" })).result.data).toEqual([]);
    expect((await sdk.models.list({ zdr: "true" })).result.data).toEqual([]);
    expect((await sdk.models.list({ region: "eu" })).result.totalCount).toBe(0);
    expect((await sdk.models.list({ minIntelligenceIndex: 10 })).result.data).toEqual([]);
    const all = await allModels();
    expect((await allModels("?distillable=false")).total_count).toBe(all.total_count);
    expect((await allModels("?no_such_filter=1")).total_count).toBe(all.total_count);
  });

  it("pages with offset and limit: total_count and links.next, and the SDK's iterator walks them", async () => {
    const all = await allModels();
    const first = await allModels("?limit=2&supported_parameters=max_tokens");
    expect(first.data).toHaveLength(2);
    expect(first.links.next).toBe(
      "/api/v1/models?limit=2&supported_parameters=max_tokens&offset=2",
    );
    const second = await allModels(first.links.next?.slice("/api/v1/models".length));
    expect(second.data[0]?.id).not.toBe(first.data[0]?.id);
    const seen: string[] = [];
    for await (const page of await openRouterSdk(server).models.list({ limit: 2 }))
      seen.push(...page.result.data.map((model) => model.id));
    expect(seen).toEqual(all.data.map((model) => model.id));
    const last = await allModels(`?offset=${all.total_count - 1}&limit=5`);
    expect(last.data).toHaveLength(1);
    expect(last.links.next).toBeNull();
  });

  it.each([
    ["?limit=0", "limit"],
    ["?limit=1001", "limit"],
    ["?offset=-1", "offset"],
    ["?limit=ten", "limit"],
    ["?context=lots", "context"],
    ["?min_price=cheap", "min_price"],
    [`?q=${"x".repeat(201)}`, "q"],
    [`?sort=${"s".repeat(65)}`, "sort"],
  ])("%s is a 400 in OpenRouter's shape naming %s", async (query, field) => {
    const { status, body } = await fetchJson(server, `/api/v1/models${query}`);
    expect(status).toBe(400);
    expect(body).toEqual({ error: { code: 400, message: expect.stringContaining(field) } });
    const error = await openRouterSdk(server)
      .models.list({ limit: 0 })
      .catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(BadRequestResponseError);
  });

  it("models.count counts what output_modalities leaves", async () => {
    const sdk = openRouterSdk(server);
    const all = await allModels();
    expect(await sdk.models.count()).toEqual({ data: { count: all.total_count } });
    expect(await sdk.models.count({ outputModalities: "embeddings" })).toEqual({
      data: { count: 0 },
    });
    expect((await sdk.models.count({ outputModalities: "all" })).data.count).toBe(all.total_count);
  });

  it("models.listForUser needs a key and lists every model the key may use", async () => {
    const sdk = openRouterSdk(server);
    const page = await sdk.models.listForUser({ bearer: key });
    expect(page.result.data.map((model) => model.id)).toEqual(
      (await allModels()).data.map((model) => model.id),
    );
    const missing = await sdk.models
      .listForUser({ bearer: "" })
      .catch((failure: unknown) => failure);
    expect(missing).toBeInstanceOf(UnauthorizedResponseError);
    const wrong = await fetchJson(server, "/api/v1/models/user", `sk-kp-v1-${"0".repeat(64)}`);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: { code: 401 } });
  });

  it("models.get and endpoints.list read one model; an unknown one is a 404", async () => {
    const sdk = openRouterSdk(server);
    const got = await sdk.models.get({ author: "local", slug: "tooled" });
    expect(got.data).toMatchObject({ id: "local/tooled", name: "Local: Tooled" });

    const { data } = await sdk.endpoints.list({ author: "local", slug: "tooled" });
    expect(data).toMatchObject({
      id: "local/tooled",
      name: "Local: Tooled",
      created: 1_750_000_000,
      architecture: { tokenizer: "Claude", instructType: null },
    });
    expect(data.endpoints).toHaveLength(1);
    expect(data.endpoints[0]).toMatchObject({
      modelId: "local/tooled",
      modelName: "Local: Tooled",
      providerName: "Local",
      tag: "Local",
      contextLength: 200_000,
      maxCompletionTokens: 4096,
      pricing: { prompt: "0.000003", completion: "0.000015" },
      supportsToolChoice: { auto: true, none: true, required: true, function: true },
      uptimeLast30m: null,
      latencyLast30m: null,
    });
    const raw = await fetchJson(server, "/api/v1/models/keyport/echo/endpoints");
    sdkParse(ListEndpointsResponse$inboundSchema, (raw.body as { data: unknown }).data);
    const endpoint = (raw.body as { data: { endpoints: Record<string, unknown>[] } }).data
      .endpoints[0] as Record<string, unknown>;
    expect(absentFields(PublicEndpoint$inboundSchema, endpoint)).toEqual([
      "perf_last_30m_by_workload",
    ]);
    expect(endpoint.supports_tool_choice).toEqual({
      auto: false,
      none: false,
      required: false,
      function: false,
    });

    for (const call of [
      () => sdk.endpoints.list({ author: "nobody", slug: "nothing" }),
      () => sdk.models.get({ author: "nobody", slug: "nothing" }),
    ]) {
      const error = await call().catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(NotFoundResponseError);
      expect((error as Error).message).toContain("nobody/nothing");
    }
    for (const path of [
      "/api/v1/models/..%2F..%2Fkey/x/endpoints",
      "/api/v1/model/keyport/echo%00",
      `/api/v1/model/${"a".repeat(300)}/b`,
    ]) {
      const odd = await fetchJson(server, path);
      expect(odd.status).toBe(404);
      expect(odd.body).toMatchObject({ error: { code: 404 } });
    }
    const missing = await fetchJson(server, "/api/v1/models/nobody/nothing/endpoints");
    expect(missing).toEqual({
      status: 404,
      body: { error: { code: 404, message: "Model nobody/nothing not found" } },
    });
  });

  it("providers.list names every upstream, with its pages when configured", async () => {
    const { data } = await openRouterSdk(server).providers.list();
    expect(data.map((provider) => provider.slug)).toEqual([
      "keyport",
      "fake",
      "dead",
      "local",
      "lister",
    ]);
    expect(data.find((provider) => provider.name === "Local")).toEqual({
      name: "Local",
      slug: "local",
      privacyPolicyUrl: "https://local.example/privacy",
      termsOfServiceUrl: "https://local.example/terms",
      statusPageUrl: "https://status.local.example/",
      headquarters: null,
      datacenters: null,
    });
    const raw = await fetchJson(server, "/api/v1/providers");
    for (const provider of (raw.body as { data: Record<string, unknown>[] }).data)
      expect(absentFields(ListProvidersData$inboundSchema, provider)).toEqual([]);
  });
});
