import { once } from "node:events";
import {
  type ClientRequest,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import SQLite from "better-sqlite3";
import pg from "pg";
import { codeChallengeOf } from "../../src/domain/pkce.js";
import { randomToken, sha256Hex } from "../../src/domain/secrets.js";
import { type ConfigInput, parseConfig, type RunningServer, startServer } from "../../src/index.js";
import { createAccount } from "../../src/services/accounts.js";
import { isPostgresUrl } from "../../src/store/open.js";
import type { TestDatabase } from "../support/databases.js";

/** Prices of the fake upstream's models: 1 micro-credit per prompt token, 10 per completion token. */
export const PROMPT_PRICE = 0.000001;
export const COMPLETION_PRICE = 0.00001;

/** The upstream API key the test configuration gives Keyport (sent as `Bearer …`). */
export const UPSTREAM_SECRET = "sk-upstream-secret";
/** An internal host name `fake/leaky` puts in its error text. */
export const LEAKED_HOST = "db.internal.example:5432";
/** An account id `fake/leaky` puts in its error text and headers. */
export const LEAKED_ACCOUNT = "acct_8675309";

/** What `fake/liar` reports: a million completion tokens, whatever it was asked for. */
export const LIAR_USAGE = {
  prompt_tokens: 10,
  completion_tokens: 1_000_000,
  total_tokens: 1_000_010,
};

/** What the fake upstream saw of one request. */
export interface SeenRequest {
  readonly body: Record<string, unknown>;
  readonly headers: IncomingMessage["headers"];
  /** The connection closed before the answer was complete (Keyport aborted it). */
  aborted: boolean;
  /**
   * The generation id in the answer: `gen-<n>` for the modes that record their generations
   * (`fake/liar`, `fake/late`, `fake/flood`, `fake/linger`, `fake/leaky*`), else `gen-fake`.
   */
  readonly id: string;
  /** Completion tokens the upstream produced for this request so far (recording modes). */
  generated: number;
  /** The upstream stopped generating: it answered in full, or the connection went away. */
  finished: boolean;
}

/** A `GET /generation?id=` the fake upstream answered. */
interface GenerationLookup {
  readonly id: string;
  readonly authorization: string | undefined;
  /** What it answered: `total_cost` in credits, or `undefined` for an unknown id (404). */
  readonly totalCost: number | undefined;
}

/** Options of {@link startUpstream}. */
export interface UpstreamOptions {
  /** How long `fake/stall` stays silent mid-stream. */
  readonly stallMs?: number;
  /** How long `fake/late` works before it answers (non-streamed). */
  readonly lateMs?: number;
  /** Completion tokens `fake/flood` produces at most (it also stops at `max_tokens`). */
  readonly floodTokens?: number;
  /** `fake/flood` produces this many tokens per millisecond tick. */
  readonly floodBurst?: number;
  /** `GET /generation` reports a cost of 0 and no tokens (an upstream that under-reports). */
  readonly understateLookups?: boolean;
}

/**
 * A real OpenAI-compatible upstream on 127.0.0.1 whose behaviour is picked by the model name
 * (`fake/chat`, `fake/endless`, `fake/stall`, `fake/greedy`, …). It records every request and
 * every abort.
 *
 * Modes for money safety (DESIGN invariant 8), each with a `gen-<n>` id whose figure
 * `GET /v1/generation?id=` reports as OpenRouter does (`{"data":{"id","total_cost",
 * "tokens_prompt","tokens_completion"}}`, 10 prompt tokens plus what it generated, at
 * {@link PROMPT_PRICE} and {@link COMPLETION_PRICE}), answered once the generation stopped:
 *
 * - `fake/liar`: answers like `fake/chat` but reports {@link LIAR_USAGE} (streamed or not);
 * - `fake/late`: not streamed, answers after `lateMs` (300) with the usual usage;
 * - `fake/flood`: streams one-token chunks (`" tok"`) as fast as it can, ignoring backpressure
 *   (a model generates whether or not the client reads), up to `max_tokens` or `floodTokens`
 *   (20,000); stops when the connection goes; a trailing usage chunk if it finishes;
 * - `fake/linger`: streams the usual words and its usage chunk, then waits (up to 10 s) before
 *   `[DONE]`;
 * - `fake/leaky` (500), `fake/leaky-400`, `fake/leaky-422`, `fake/leaky-429` (`Retry-After: 7`):
 *   an error whose body echoes the request's Authorization header, {@link LEAKED_HOST} and
 *   {@link LEAKED_ACCOUNT} (also in its headers); streamed, any of them sends two words and
 *   then a `data: {"error":…}` event with the same text, and ends.
 */
export interface FakeUpstream {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** The `GET /generation` lookups it answered, in order. */
  readonly lookups: GenerationLookup[];
  /** The request whose generation id is `id`. */
  byId(id: string): SeenRequest | undefined;
  /** Requests of `fake/gated` wait until this is called. */
  release(): void;
  close(): Promise<void>;
}

const WORDS = ["Hello", "from", "the", "fake", "upstream"];
const USAGE = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };

function chunk(model: string, fields: Record<string, unknown>, id = "gen-fake"): string {
  return `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: 1, model, ...fields })}\n\n`;
}

function completion(
  model: string,
  usage: Record<string, unknown> | undefined = USAGE,
  id = "gen-fake",
) {
  return {
    id,
    object: "chat.completion",
    created: 1,
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: WORDS.join(" ") },
        finish_reason: "stop",
        logprobs: null,
      },
    ],
    ...(usage ? { usage } : {}),
  };
}

/**
 * What `fake/greedy` bills, as llama.cpp or Ollama would: every one of the `n` choices runs to
 * `max_tokens` (the only token field it reads), and with none it runs until the context is full.
 */
function greedyUsage(body: Record<string, unknown>) {
  const choices = typeof body.n === "number" ? body.n : 1;
  const perChoice = typeof body.max_tokens === "number" ? body.max_tokens : 100_000;
  const completion_tokens = choices * perChoice;
  return { prompt_tokens: 10, completion_tokens, total_tokens: 10 + completion_tokens };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The modes that record their generations under a `gen-<n>` id. */
const RECORDING = /^fake\/(liar|late|flood|linger|leaky(-\d+)?)$/;

/** The text `fake/leaky` answers with: everything an upstream should never pass on. */
function leakyText(headers: IncomingMessage["headers"]): string {
  return `internal error: request with authorization '${headers.authorization ?? ""}' failed talking to ${LEAKED_HOST} (account ${LEAKED_ACCOUNT})`;
}

const LEAKY_HEADERS = { "x-upstream-account": LEAKED_ACCOUNT, "x-backend": LEAKED_HOST };

export async function startUpstream(options: UpstreamOptions = {}): Promise<FakeUpstream> {
  const requests: SeenRequest[] = [];
  const lookups: GenerationLookup[] = [];
  const generations = new Map<string, SeenRequest>();
  let generationCount = 0;
  let releaseGate!: () => void;
  const gate = new Promise<void>((resolve) => {
    releaseGate = resolve;
  });
  const sockets = new Set<import("node:net").Socket>();

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const part of req) chunks.push(part as Buffer);
    if (req.url === "/v1/models") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          data: [
            {
              id: "fake/discovered",
              pricing: { prompt: "0.000002", completion: "0.000004" },
              context_length: 8192,
            },
          ],
        }),
      );
      return;
    }
    if (req.method === "GET" && req.url?.startsWith("/v1/generation")) {
      const id = new URL(req.url, "http://fake").searchParams.get("id") ?? "";
      const generation = generations.get(id);
      // The figure is final only once the generation stopped (bounded wait).
      for (let i = 0; generation && !generation.finished && i < 100; i++) await sleep(20);
      const completionTokens = options.understateLookups ? 0 : (generation?.generated ?? 0);
      const totalCost = generation
        ? options.understateLookups
          ? 0
          : (10 + completionTokens * 10) / 1_000_000
        : undefined;
      lookups.push({ id, authorization: req.headers.authorization, totalCost });
      if (!generation) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: 404, message: "Generation not found" } }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          data: {
            id,
            total_cost: totalCost,
            tokens_prompt: options.understateLookups ? 0 : 10,
            tokens_completion: completionTokens,
          },
        }),
      );
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
    const model = String(body.model);
    const recording = RECORDING.test(model);
    const id = recording ? `gen-${++generationCount}` : "gen-fake";
    const seen: SeenRequest = {
      body,
      headers: req.headers,
      aborted: false,
      id,
      generated: 0,
      finished: false,
    };
    requests.push(seen);
    if (recording) generations.set(id, seen);
    res.on("close", () => {
      if (!res.writableFinished) seen.aborted = true;
      seen.finished = true;
    });
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(value));
    };
    switch (model) {
      case "fake/500":
        return json(500, { error: { message: "the model fell over" } });
      case "fake/429":
        return json(429, { error: { message: "slow down" } }, { "retry-after": "7" });
      case "fake/400":
        return json(400, { error: { message: "temperature must be at most 2" } });
      case "fake/401":
        return json(401, { error: { message: "bad upstream key" } });
      case "fake/hang":
        return; // never answers
      case "fake/gated":
        await gate;
        return json(200, completion(model));
      case "fake/cost":
        if (!body.stream) return json(200, completion(model, { ...USAGE, cost: 0.0042 }));
        break;
      case "fake/greedy":
        if (!body.stream) return json(200, completion(model, greedyUsage(body)));
        break;
      case "fake/no-usage":
        if (!body.stream) return json(200, completion(model, undefined));
        break;
      case "fake/liar":
        if (!body.stream) {
          seen.generated = LIAR_USAGE.completion_tokens;
          return json(200, completion(model, LIAR_USAGE, id));
        }
        break;
      case "fake/late":
        if (!body.stream) {
          await sleep(options.lateMs ?? 300);
          seen.generated = USAGE.completion_tokens;
          return json(200, completion(model, USAGE, id));
        }
        break;
      case "fake/leaky":
      case "fake/leaky-400":
      case "fake/leaky-422":
      case "fake/leaky-429":
        if (!body.stream) {
          const status = model === "fake/leaky" ? 500 : Number(model.slice("fake/leaky-".length));
          return json(
            status,
            {
              error: { message: leakyText(req.headers), metadata: { raw: leakyText(req.headers) } },
            },
            status === 429 ? { ...LEAKY_HEADERS, "retry-after": "7" } : LEAKY_HEADERS,
          );
        }
        return streamLeaky(res, model, id, req.headers);
      case "fake/flood":
        if (body.stream) return streamFlood(res, model, seen, body);
        break;
      default:
        if (!body.stream) return json(200, completion(model));
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(
      chunk(
        model,
        {
          choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
        },
        id,
      ),
    );
    if (model === "fake/endless") {
      for (let i = 0; !seen.aborted && i < 10_000; i++) {
        res.write(
          chunk(model, {
            choices: [{ index: 0, delta: { content: ` word${i}` }, finish_reason: null }],
          }),
        );
        await sleep(10);
      }
      res.end();
      return;
    }
    for (const [i, word] of WORDS.entries()) {
      res.write(
        chunk(
          model,
          {
            choices: [
              { index: 0, delta: { content: i === 0 ? word : ` ${word}` }, finish_reason: null },
            ],
          },
          id,
        ),
      );
      seen.generated = i + 1;
      if (model === "fake/stall" && i === 1) await sleep(options.stallMs ?? 300);
      if (model === "fake/die" && i === 1) {
        await sleep(50); // let the bytes so far reach Keyport, then drop the connection
        res.socket?.destroy();
        return;
      }
    }
    res.write(chunk(model, { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }, id));
    if (model !== "fake/no-usage") {
      res.write(
        chunk(
          model,
          {
            choices: [],
            usage:
              model === "fake/cost"
                ? { ...USAGE, cost: 0.0042 }
                : model === "fake/greedy"
                  ? greedyUsage(body)
                  : model === "fake/liar"
                    ? LIAR_USAGE
                    : USAGE,
          },
          id,
        ),
      );
    }
    if (model === "fake/liar") seen.generated = LIAR_USAGE.completion_tokens;
    if (model === "fake/linger") {
      for (let i = 0; i < 500 && !seen.aborted; i++) await sleep(20);
      if (seen.aborted) return;
    }
    res.end("data: [DONE]\n\n");
  }

  /** `fake/flood`: one-token chunks as fast as it can, until `max_tokens` or the connection goes. */
  async function streamFlood(
    res: ServerResponse,
    model: string,
    seen: SeenRequest,
    body: Record<string, unknown>,
  ) {
    const limit = Math.min(
      options.floodTokens ?? 20_000,
      typeof body.max_tokens === "number" ? body.max_tokens : Number.POSITIVE_INFINITY,
    );
    const burst = options.floodBurst ?? 20;
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(
      chunk(
        model,
        { choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
        seen.id,
      ),
    );
    while (seen.generated < limit) {
      if (seen.aborted || res.destroyed) return;
      let text = "";
      for (let i = 0; i < burst && seen.generated < limit; i++) {
        text += chunk(
          model,
          { choices: [{ index: 0, delta: { content: " tok" }, finish_reason: null }] },
          seen.id,
        );
        seen.generated += 1;
      }
      res.write(text); // regardless of backpressure: the model does not wait for the reader
      await sleep(1);
    }
    if (seen.aborted || res.destroyed) return;
    res.write(
      chunk(model, { choices: [{ index: 0, delta: {}, finish_reason: "length" }] }, seen.id),
    );
    res.write(
      chunk(
        model,
        {
          choices: [],
          usage: {
            prompt_tokens: 10,
            completion_tokens: seen.generated,
            total_tokens: 10 + seen.generated,
          },
        },
        seen.id,
      ),
    );
    res.end("data: [DONE]\n\n");
  }

  /** A leaky mode streamed: two words, then an error event echoing the secrets. */
  async function streamLeaky(
    res: ServerResponse,
    model: string,
    id: string,
    headers: IncomingMessage["headers"],
  ) {
    res.writeHead(200, { "content-type": "text/event-stream", ...LEAKY_HEADERS });
    for (const word of ["Hello", " from"]) {
      res.write(
        chunk(
          model,
          { choices: [{ index: 0, delta: { content: word }, finish_reason: null }] },
          id,
        ),
      );
    }
    await sleep(20);
    res.end(
      `data: ${JSON.stringify({ id, error: { code: 500, message: leakyText(headers), metadata: { provider: LEAKED_HOST } } })}\n\n`,
    );
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      res.destroy(error as Error);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    lookups,
    byId: (id) => generations.get(id),
    release: () => releaseGate(),
    close: async () => {
      releaseGate();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The models Keyport's test configuration routes to the fake upstream. */
const FAKE_MODELS = [
  "fake/chat",
  "fake/500",
  "fake/429",
  "fake/400",
  "fake/401",
  "fake/hang",
  "fake/gated",
  "fake/cost",
  "fake/no-usage",
  "fake/endless",
  "fake/stall",
  "fake/die",
  "fake/greedy",
  "fake/liar",
  "fake/late",
  "fake/flood",
  "fake/linger",
  "fake/leaky",
  "fake/leaky-400",
  "fake/leaky-422",
  "fake/leaky-429",
];

/** A Keyport server wired to the fake upstream (and to an unreachable one, `dead/model`). */
export async function startKeyport(
  db: TestDatabase,
  upstream: FakeUpstream,
  options: { clock?: () => Date; config?: ConfigInput; extraUpstreams?: unknown[] } = {},
): Promise<RunningServer> {
  const upstreams = [
    {
      name: "fake",
      baseUrl: upstream.url,
      apiKeyEnv: "FAKE_UPSTREAM_KEY",
      models: FAKE_MODELS.map((id) => ({
        id,
        promptPrice: PROMPT_PRICE,
        completionPrice: COMPLETION_PRICE,
        maxTokens: 1000,
      })),
    },
    {
      name: "dead",
      baseUrl: "http://127.0.0.1:9/v1",
      models: [{ id: "dead/model", promptPrice: 0, completionPrice: 0 }],
    },
    ...(options.extraUpstreams ?? []),
  ];
  const config = parseConfig(
    {
      port: 0,
      database: db.url,
      upstreams: JSON.stringify(upstreams),
      keepAliveMs: 50,
      upstreamTimeoutMs: 1000,
      echoDelayMs: 0,
      ...options.config,
    },
    { FAKE_UPSTREAM_KEY: UPSTREAM_SECRET },
  );
  return startServer(config, options.clock);
}

/** What a key is minted with. */
export interface KeyOptions {
  readonly limit?: number;
  readonly limitReset?: "daily" | "weekly" | "monthly";
  readonly expiresAt?: Date;
}

/**
 * A key the honest way: an account, a code as the consent page stores it, and the PKCE exchange
 * over HTTP (`POST /api/v1/auth/keys`).
 */
export async function mintKeyFor(
  server: RunningServer,
  options: KeyOptions = {},
  now = new Date(),
): Promise<{ key: string; hash: string }> {
  const user = await createAccount(
    { store: server.store, clock: () => now },
    `u${randomToken(6)}@example.com`,
    "correct horse battery staple",
  );
  if (!user) throw new Error("account not created");
  const code = randomToken();
  const verifier = randomToken();
  await server.store.createCode({
    codeHash: sha256Hex(code),
    userId: user.id,
    codeChallenge: codeChallengeOf(verifier, "S256"),
    codeChallengeMethod: "S256",
    callbackUrl: "http://localhost:3000/callback",
    keyLabel: "gateway test",
    limitMicros: options.limit === undefined ? null : Math.round(options.limit * 1_000_000),
    limitReset: options.limitReset ?? null,
    keyExpiresAt: options.expiresAt ?? null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 10 * 60_000),
  });
  const response = await fetch(`${server.url}/api/v1/auth/keys`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, code_verifier: verifier, code_challenge_method: "S256" }),
  });
  if (response.status !== 200)
    throw new Error(`exchange failed: ${response.status} ${await response.text()}`);
  const { key } = (await response.json()) as { key: string };
  return { key, hash: sha256Hex(key) };
}

/** Runs one SQL statement on the test database directly (what an operator's tooling would do). */
export async function runSql(
  db: TestDatabase,
  statement: string,
  params: unknown[] = [],
): Promise<void> {
  if (isPostgresUrl(db.url)) {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(
      statement.replace(/\?/g, (_, i: number) => `$${statement.slice(0, i).split("?").length}`),
      params,
    );
    await client.end();
  } else {
    const sqlite = new SQLite(db.url);
    sqlite.prepare(statement).run(...params);
    sqlite.close();
  }
}

/**
 * Runs one query on the test database directly and returns its rows (`?` placeholders; numbers
 * may come back as strings from PostgreSQL's bigint columns: wrap them in `Number()`).
 */
export async function querySql(
  db: TestDatabase,
  statement: string,
  params: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  if (isPostgresUrl(db.url)) {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const result = await client.query(
        statement.replace(/\?/g, (_, i: number) => `$${statement.slice(0, i).split("?").length}`),
        params,
      );
      return result.rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  }
  const sqlite = new SQLite(db.url, { readonly: true });
  try {
    return sqlite.prepare(statement).all(...params) as Record<string, unknown>[];
  } finally {
    sqlite.close();
  }
}

/** Chat request helper: POSTs JSON with the key, returns the raw response. */
export function chat(
  server: RunningServer,
  key: string | undefined,
  body: unknown,
  init: RequestInit = {},
): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  return fetch(`${server.url}/api/v1/chat/completions`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
}

/** `GET /api/v1/key` data for a key. */
export async function keyInfo(
  server: RunningServer,
  key: string,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.url}/api/v1/key`, {
    headers: { authorization: `Bearer ${key}` },
  });
  return ((await response.json()) as { data: Record<string, unknown> }).data;
}

/** Polls until `check` returns a value (or throws after `timeoutMs`). */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 3000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}

/**
 * A chat request over raw `node:http` with `body`'s full length declared: the caller decides how
 * much of the body to send and when to read or drop the answer (slow readers, half-sent bodies).
 */
export function rawChatRequest(server: RunningServer, key: string, body: string): ClientRequest {
  const { hostname, port } = new URL(server.url);
  const request = httpRequest({
    hostname,
    port,
    path: "/api/v1/chat/completions",
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${key}`,
      "content-length": Buffer.byteLength(body),
    },
  });
  request.on("error", () => {});
  return request;
}
