import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";

/** What the loopback upstream saw of one request. */
interface Seen {
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly headers: IncomingMessage["headers"];
  /** The connection closed before the answer was complete. */
  aborted: boolean;
}

/** A loopback upstream serving `/completions`, `/embeddings` and `/chat/completions`. */
export interface EndpointsUpstream {
  readonly url: string;
  readonly seen: Seen[];
  close(): Promise<void>;
}

/** The usage every ordinary answer reports. */
const UPSTREAM_USAGE = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
/** What the greedy models report whatever they were asked: far past any reservation. */
const GREEDY_USAGE = {
  prompt_tokens: 10,
  completion_tokens: 900_000,
  total_tokens: 900_010,
};

const WORDS = ["Hello", "from", "the", "loopback"];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A real upstream on 127.0.0.1 whose behaviour is picked by the model's name (its last segment):
 * `ok`, `greedy` (reports {@link GREEDY_USAGE}), `500`, `429`, `err200` (a `200` whose body is an
 * error), `endless` (streams until the connection goes, bounded), `slow` (streams a word every
 * 20 ms). Chat and `prompt`-form answers carry {@link WORDS}; embeddings a 3-number vector per input.
 */
export async function startEndpointsUpstream(): Promise<EndpointsUpstream> {
  const seen: Seen[] = [];
  const sockets = new Set<import("node:net").Socket>();

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const path = (req.url ?? "").replace(/^\/v1/, "");
    const body = JSON.parse(Buffer.concat(parts).toString("utf8")) as Record<string, unknown>;
    const record: Seen = { path, body, headers: req.headers, aborted: false };
    seen.push(record);
    res.on("close", () => {
      if (!res.writableFinished) record.aborted = true;
    });
    const model = String(body.model);
    const mode = model.slice(model.lastIndexOf("/") + 1);
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(value));
    };
    if (mode === "500") return json(500, { error: { message: "fell over at db.internal" } });
    if (mode === "429")
      return json(429, { error: { message: "slow down" } }, { "retry-after": "3" });
    if (mode === "err200") return json(200, { error: { code: 500, message: "secret-host down" } });
    const usage = mode === "greedy" ? GREEDY_USAGE : UPSTREAM_USAGE;
    const head = { id: `gen-up-${seen.length}`, created: 1, model };
    if (path === "/embeddings") {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      return json(200, {
        object: "list",
        model,
        data: inputs.map((_, index) => ({
          object: "embedding",
          index,
          embedding: [0.1, 0.2, index],
        })),
        // Greedy: far more prompt tokens than the input could hold.
        usage:
          mode === "greedy"
            ? { prompt_tokens: 900_000, total_tokens: 900_000 }
            : { prompt_tokens: usage.prompt_tokens, total_tokens: usage.prompt_tokens },
      });
    }
    const text = path === "/completions";
    const object = text ? "text_completion" : "chat.completion";
    const choice = (content: string, finish: string | null, delta: boolean) =>
      text
        ? { index: 0, text: content, finish_reason: finish, logprobs: null }
        : delta
          ? { index: 0, delta: content === "" ? {} : { content }, finish_reason: finish }
          : { index: 0, message: { role: "assistant", content }, finish_reason: finish };
    if (!body.stream) {
      return json(200, {
        ...head,
        object,
        choices: [choice(WORDS.join(" "), "stop", false)],
        usage,
      });
    }
    const chunkObject = text ? "text_completion" : "chat.completion.chunk";
    const chunk = (fields: Record<string, unknown>) =>
      `data: ${JSON.stringify({ ...head, object: chunkObject, ...fields })}\n\n`;
    res.writeHead(200, { "content-type": "text/event-stream" });
    const words = mode === "endless" ? Array.from({ length: 2000 }, (_, i) => `w${i}`) : WORDS;
    for (const [i, word] of words.entries()) {
      if (record.aborted) return;
      res.write(chunk({ choices: [choice(i === 0 ? word : ` ${word}`, null, true)] }));
      if (mode === "endless" || mode === "slow") await sleep(20);
    }
    res.write(chunk({ choices: [choice("", "stop", true)] }));
    res.write(chunk({ choices: [], usage }));
    res.end("data: [DONE]\n\n");
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error) => res.destroy(error as Error));
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
    seen,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Upstream configuration entries for `startKeyport`'s `extraUpstreams`: `up/<mode>` models. */
export function endpointsUpstreams(url: string, options: { openRouter?: boolean } = {}) {
  const model = (id: string, completionPrice = 0.00001) => ({
    id,
    promptPrice: 0.000001,
    completionPrice,
    maxTokens: 100,
  });
  return [
    {
      name: "up",
      baseUrl: url,
      ...(options.openRouter ? { kind: "openrouter" } : { kind: "openai" }),
      models: [
        model("up/ok"),
        model("up/greedy"),
        model("up/500"),
        model("up/429"),
        model("up/err200"),
        model("up/endless"),
        model("up/slow"),
        model("up/dear-ok", 0.0001),
      ],
    },
  ];
}

/** POSTs JSON to a Keyport API path with a key. */
export function post(baseUrl: string, path: string, key: string, body: unknown): Promise<Response> {
  return fetch(`${baseUrl}/api/v1${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** What `GET /api/v1/generation` says of the request with this id (its `X-Request-Id`). */
export async function generation(
  baseUrl: string,
  key: string,
  id: string | null,
): Promise<Record<string, unknown>> {
  const response = await fetch(
    `${baseUrl}/api/v1/generation?id=${encodeURIComponent(String(id))}`,
    {
      headers: { authorization: `Bearer ${key}` },
    },
  );
  if (response.status !== 200) throw new Error(`generation ${id}: ${response.status}`);
  return ((await response.json()) as { data: Record<string, unknown> }).data;
}

/** The `data:` events of an SSE body, parsed (`[DONE]` left out). */
export function dataEvents(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("data: ") && line !== "data: [DONE]")
    .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
}

/** The openai client on Keyport's `/api/v1` at `baseUrl`, with `key`; it never retries. */
export function openaiClient(baseUrl: string, key: string): OpenAI {
  return new OpenAI({ baseURL: `${baseUrl}/api/v1`, apiKey: key, maxRetries: 0 });
}
