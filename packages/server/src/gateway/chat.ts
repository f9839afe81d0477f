import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import type { Context } from "hono";
import { fromMicros, usageAgainstLimit } from "../domain/credits.js";
import type { AppDeps } from "../web/context.js";
import { KeyportError } from "../web/errors.js";
import { authenticateKey } from "../web/key-auth.js";
import {
  bodyTooLarge,
  declaresTooLarge,
  nodeIncoming,
  nodeOutgoing,
  readNodeBody,
} from "../web/node-body.js";
import type { RateLimiter } from "../web/rate-limit.js";
import { respond } from "../web/respond.js";
import type { ModelCatalog, ModelRoute } from "./catalog.js";
import { echoResponse } from "./echo.js";
import { costMicros, estimateUsage, readUsage, type TokenUsage } from "./pricing.js";
import { planRequest } from "./request-plan.js";
import { parseChatRequest } from "./request-validation.js";
import { SseRelay } from "./sse-relay.js";
import { callUpstream, readText, UpstreamCall } from "./upstream-call.js";

/** Headers an app may send for OpenRouter's app attribution; passed on to upstreams. */
const PASSED_HEADERS = ["http-referer", "x-title"] as const;

/** What the chat-completions handler is built from. */
export interface ChatDeps {
  readonly app: AppDeps;
  readonly catalog: ModelCatalog;
  readonly limiter: RateLimiter | undefined;
}

/**
 * `POST /api/v1/chat/completions`: authenticate the key, read the request, find the model's
 * upstream, reserve the worst case, forward, then settle the real cost — one key lookup, one
 * reservation UPDATE and one settle transaction per request.
 */
export function chatCompletions(deps: ChatDeps) {
  const { app, catalog } = deps;
  const gateway = app.config.gateway;
  return async function chatCompletions(c: Context): Promise<Response> {
    const startedAt = performance.now();
    const incoming = nodeIncoming(c);
    // As the body-limit middleware would: a declared oversize body is refused before anything.
    if (incoming && declaresTooLarge(incoming, gateway.maxBodyBytes))
      throw bodyTooLarge(gateway.maxBodyBytes);
    const key = await authenticateKey(c, app);
    if (key.disabled) throw new KeyportError(403, "Key is disabled");
    if (key.isManagement)
      throw new KeyportError(403, "Management keys cannot be used for completions");
    // Straight from the Node request when there is one (no web Request, no ReadableStream).
    const raw = incoming
      ? (await readNodeBody(incoming, gateway.maxBodyBytes)).toString()
      : await c.req.text();
    const request = parseChatRequest(raw);
    const bodyBytes = Buffer.byteLength(raw);
    const route = catalog.known(request.model) ?? (await catalog.resolve(request.model));
    if (!route)
      throw new KeyportError(
        503,
        `No upstream serves model ${request.model}`,
        {},
        { model: request.model },
      );
    deps.limiter?.hit(key.hash);

    const plan = planRequest(route, request, bodyBytes, key, gateway);
    const createdAt = app.clock();
    // The request's record id also names its reservation until the settle.
    const requestId = randomUUID();
    if (!(await app.store.reserveBudget(key.hash, plan.reserveMicros, createdAt, requestId))) {
      throw await refusal(key.hash, plan.reserveMicros);
    }

    const stream = request.stream === true;
    const settle = (
      status: number,
      usage: TokenUsage,
      cost: number,
      options?: { answerFirst?: boolean },
    ) => {
      // Billed all the same; an upstream fee the plan did not foresee (OpenRouter's `usage.cost`
      // includes web search, for one) is worth knowing about. Never names the key.
      if (cost > plan.reserveMicros) {
        console.error(
          `keyport: a request to model ${JSON.stringify(route.id)} on upstream ${JSON.stringify(route.upstreamName)} cost ${fromMicros(cost)} credits, more than the ${fromMicros(plan.reserveMicros)} reserved`,
        );
      }
      return app.store.settleRequest(
        {
          reservedMicros: plan.reserveMicros,
          settledAt: app.clock(),
          record: {
            id: requestId,
            keyHash: key.hash,
            model: route.id,
            upstream: route.upstreamName,
            streamed: stream,
            status,
            promptTokens: usage.promptTokens,
            completionTokens: usage.completionTokens,
            costMicros: cost,
            usageEstimated: usage.estimated,
            durationMs: Math.round(performance.now() - startedAt),
            createdAt,
          },
        },
        options,
      );
    };

    const outgoing = nodeOutgoing(c);
    const call = new UpstreamCall(gateway.upstreamTimeoutMs, outgoing ?? c.req.raw.signal);
    let response: Readable;
    try {
      response = route.upstream
        ? await callUpstream(route, JSON.stringify(plan.upstreamBody), call, passedHeaders(c))
        : echoResponse(
            { messages: request.messages, stream, maxTokens: plan.maxTokens },
            gateway.echoDelayMs,
            call.signal,
          );
    } catch (error) {
      call.dispose();
      await settle(error instanceof KeyportError ? error.status : 502, NO_USAGE, 0);
      throw error;
    }

    if (stream) {
      const relay = new SseRelay(response, {
        route,
        call,
        keepAliveMs: gateway.keepAliveMs,
        promptBytes: bodyBytes,
        output: outgoing,
        settle: (outcome) => settle(outcome.status, outcome.usage, outcome.costMicros),
      });
      // Under `@hono/node-server` a plain reader object, elsewhere a web stream.
      const body = outgoing
        ? (relay.nodeBody() as unknown as ReadableStream<Uint8Array>)
        : relay.webStream();
      return respond(
        c,
        c.body(body, 200, {
          "Content-Type": "text/event-stream",
          "Cache-Control": "no-cache",
          "X-Accel-Buffering": "no",
        }),
      );
    }

    let completion: Record<string, unknown>;
    try {
      completion = await readCompletion(route, response, call);
    } catch (error) {
      call.dispose();
      const failure = error instanceof KeyportError ? error : call.failure(route, error);
      await settle(failure.status, NO_USAGE, 0);
      throw failure;
    }
    call.dispose();
    const usage =
      readUsage(completion.usage) ?? estimateUsage(bodyBytes, completionChars(completion), 0);
    const cost = costMicros(route, usage);
    completion.usage = withCost(completion.usage, usage, cost);
    try {
      // A lone request on SQLite answers before its settle, which commits right after.
      await settle(200, usage, cost, { answerFirst: true });
    } catch (error) {
      // The upstream did the work and the reservation still holds the worst case: answer anyway.
      console.error("keyport: settling a request failed", error);
    }
    return respond(
      c,
      c.body(JSON.stringify(completion), 200, { "Content-Type": "application/json" }),
    );
  };

  /** Why a reservation failed: the key changed meanwhile, or it has no room for the worst case. */
  async function refusal(keyHash: string, requested: number): Promise<KeyportError> {
    const key = await app.store.findKey(keyHash);
    if (!key || key.revokedAt) return new KeyportError(401, "User not found.");
    if (key.disabled) return new KeyportError(403, "Key is disabled");
    const limit = key.limitMicros ?? 0;
    const used = usageAgainstLimit(key, app.clock());
    const remaining = Math.max(0, limit - used);
    return new KeyportError(
      402,
      `Key limit reached: this request may cost up to ${fromMicros(requested)} credits and the key has ${fromMicros(remaining)} of its ${fromMicros(limit)} left` +
        (key.reservedMicros > 0
          ? ` (${fromMicros(key.reservedMicros)} held by requests in flight)`
          : "") +
        ". Lower max_tokens (or n) or raise the key's limit.",
      {},
      {
        limit_source: "key",
        limit: fromMicros(limit),
        limit_reset: key.limitReset,
        limit_remaining: fromMicros(remaining),
        reserved: fromMicros(key.reservedMicros),
        requested: fromMicros(requested),
      },
    );
  }
}

const NO_USAGE: TokenUsage = { promptTokens: 0, completionTokens: 0, estimated: false };

function passedHeaders(c: Context): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of PASSED_HEADERS) {
    const value = c.req.header(name);
    if (value) headers[name] = value;
  }
  return headers;
}

async function readCompletion(
  route: ModelRoute,
  response: Readable,
  call: UpstreamCall,
): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readText(response);
  } catch (error) {
    throw call.failure(route, error);
  }
  if (call.cause) throw call.failure(route, new Error("aborted"));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new KeyportError(
      502,
      `Upstream ${route.upstreamName} sent a completion that is not a JSON object`,
      {},
      { upstream: route.upstreamName },
    );
  }
  return json as Record<string, unknown>;
}

function completionChars(completion: Record<string, unknown>): number {
  const choices = completion.choices;
  if (!Array.isArray(choices)) return 0;
  let chars = 0;
  for (const choice of choices) {
    const content = (choice as { message?: { content?: unknown } } | null)?.message?.content;
    if (typeof content === "string") chars += content.length;
  }
  return chars;
}

/** The usage object the client gets: the upstream's, with `cost` (credits) added if missing. */
function withCost(original: unknown, usage: TokenUsage, cost: number): Record<string, unknown> {
  const base =
    typeof original === "object" && original !== null
      ? (original as Record<string, unknown>)
      : {
          prompt_tokens: usage.promptTokens,
          completion_tokens: usage.completionTokens,
          total_tokens: usage.promptTokens + usage.completionTokens,
        };
  return base.cost === undefined ? { ...base, cost: fromMicros(cost) } : base;
}
