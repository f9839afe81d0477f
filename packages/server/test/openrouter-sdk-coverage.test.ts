import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/index.js";
import { dialects } from "./support/databases.js";
import { useServer } from "./support/server.js";

const sqlite = dialects[0];
if (!sqlite) throw new Error("no SQLite dialect");

/** One HTTP operation of `@openrouter/sdk`, read from its generated `funcs/` modules. */
interface Operation {
  readonly name: string;
  readonly method: string;
  /** Under the SDK's server URL (`…/api/v1`), with `{params}`. */
  readonly path: string;
}

function sdkOperations(): Operation[] {
  const funcs = join(dirname(fileURLToPath(import.meta.resolve("@openrouter/sdk"))), "funcs");
  const operations: Operation[] = [];
  for (const file of readdirSync(funcs).filter((name) => name.endsWith(".js"))) {
    const source = readFileSync(join(funcs, file), "utf8");
    const path = /pathToFunc\("([^"]+)"\)/.exec(source)?.[1];
    const method = /method: "([A-Z]+)"/.exec(source)?.[1];
    if (path && method) operations.push({ name: file.slice(0, -3), method, path });
  }
  return operations;
}

/** The SDK operations Keyport serves (DESIGN's wire contract; the README's closing note). */
const SERVED = [
  "apiKeysCreate",
  "apiKeysDelete",
  "apiKeysGet",
  "apiKeysGetCurrentKeyMetadata",
  "apiKeysList",
  "apiKeysUpdate",
  "analyticsGetUserActivity",
  "chatSend",
  "creditsGetCredits",
  "embeddingsGenerate",
  "endpointsList",
  "generationsGetGeneration",
  "modelsCount",
  "modelsGet",
  "modelsList",
  "modelsListForUser",
  "oAuthCreateAuthCode",
  "oAuthExchangeAuthCodeForAPIKey",
  "providersList",
  "responsesSend",
];

/** Being added by other work: neither asserted served nor absent here yet (none now). */
const PENDING: string[] = [];

/**
 * Left out on purpose, by reason; each must answer `404` (no route), so a half-served one shows.
 * The prefixes group an SDK namespace's operations.
 */
const LEFT_OUT: Record<string, string> = {
  // OpenRouter's organisations; Keyport's accounts are one user with keys.
  workspaces: "workspaces, members and budgets: Keyport has no organisations",
  organization: "organisation members: no organisations",
  guardrails: "guardrails: per-key limits are Keyport's only policy",
  scim: "SCIM group sync: no organisations or identity provider",
  byok: "bring-your-own-key: upstream keys are the operator's, in the upstreams file",
  observability: "export destinations: the request log stays in the operator's database",
  presets: "presets: no stored prompt or routing presets",
  vault: "secret vault for agents: not a gateway concern",
  interns: "hosted agents: not a gateway concern",
  // Other modalities, whose wire formats Keyport neither meters nor relays yet.
  images: "image generation and its model lists",
  videoGeneration: "video generation and its model list",
  tts: "speech synthesis",
  stt: "transcription",
  rerank: "reranking",
  embeddingsListModels: "the embeddings model list: Keyport does not know which models embed",
  // OpenRouter's own data and services.
  analyticsGetAnalyticsMeta: "analytics queries: GET /activity is the per-day usage Keyport has",
  analyticsQueryAnalytics: "analytics queries",
  datasets: "OpenRouter's public rankings and session datasets",
  benchmarks: "benchmark scores: none are measured",
  classifications: "OpenRouter's task classifications",
  generationsListGenerationContent: "stored prompts and completions: Keyport keeps none",
  generationsSubmitFeedback: "generation feedback",
  alpha: "OpenRouter's alpha decision API",
  systemOne: "OpenRouter's SystemOne",
  endpointsListZdrEndpoints: "zero-data-retention endpoints: Keyport cannot vouch for upstreams",
  files: "file storage",
  containers: "code-execution containers",
  // A different OAuth: OpenRouter's OAuth 2.0 token server, not the PKCE key exchange.
  oAuthCreateOauthToken: "OAuth 2.0 token endpoint: keys come from the PKCE exchange",
  oAuthListOauthJwks: "JWKS: Keyport issues no JWTs",
};

function reasonFor(name: string): string | undefined {
  const prefix = Object.keys(LEFT_OUT).find((group) => name.startsWith(group));
  return prefix ? LEFT_OUT[prefix] : undefined;
}

/** A concrete URL path for an operation, its parameters filled with harmless values. */
const concrete = (path: string) =>
  `/api/v1${path.replace(/\{(\w+)\}/g, (_, name: string) => (name === "hash" ? "0".repeat(64) : "x"))}`;

/**
 * Which of `@openrouter/sdk`'s operations Keyport serves, counted from the SDK itself: every
 * operation is either served (its route answers something other than the app's `404 Not found`)
 * or left out on purpose with a reason (its route is the app's `404`). A new SDK operation fails
 * here until it is placed.
 */
describe("@openrouter/sdk coverage", () => {
  const running = useServer(sqlite);
  let server: RunningServer;
  const operations = sdkOperations();

  beforeAll(() => {
    server = running.server;
  });

  it("every SDK operation is served, pending, or left out with a reason", () => {
    const unplaced = operations
      .map((operation) => operation.name)
      .filter((name) => !SERVED.includes(name) && !PENDING.includes(name) && !reasonFor(name));
    expect(unplaced).toEqual([]);
    for (const name of [...SERVED, ...PENDING])
      expect(operations.map((operation) => operation.name)).toContain(name);
    // The closing note's figures.
    expect(operations.length).toBe(121);
    expect(SERVED.length).toBe(20);
  });

  it("each served operation has its route; each left-out one has none", async () => {
    const answers = await Promise.all(
      operations
        .filter((operation) => !PENDING.includes(operation.name))
        .map(async (operation) => {
          const response = await fetch(`${server.url}${concrete(operation.path)}`, {
            method: operation.method,
            headers: { "content-type": "application/json" },
            body: operation.method === "GET" || operation.method === "DELETE" ? undefined : "{}",
          });
          const body = (await response.json().catch(() => ({}))) as {
            error?: { message?: string };
          };
          const routed = !(response.status === 404 && body.error?.message === "Not found");
          return { name: operation.name, routed };
        }),
    );
    const wrong = answers
      .filter(({ name, routed }) => routed !== SERVED.includes(name))
      .map(({ name, routed }) => `${name}: ${routed ? "answered" : "no route"}`);
    expect(wrong).toEqual([]);
  });
});
