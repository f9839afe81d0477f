import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import type { Context } from "hono";
import { fromMicros } from "../domain/credits.js";
import { newRequestId } from "../domain/request-ids.js";
import type { KeyAdmission, RequestDetails } from "../store/store.js";
import { bodyTooLarge, declaresTooLarge, readBody } from "../web/body.js";
import type { AppDeps } from "../web/context.js";
import { KeyportError } from "../web/errors.js";
import { admitGatewayKey } from "../web/key-auth.js";
import { nodeIncoming, nodeOutgoing } from "../web/node-request.js";
import type { RateLimiter } from "../web/rate-limit.js";
import { respond } from "../web/respond.js";
import { type Attribution, attributionHeaders, attributionOf } from "./attribution.js";
import type { ModelCatalog, ModelRoute } from "./catalog.js";
import {
  completionChars,
  errorChunk,
  usageChunk,
  withCost,
  withFingerprint,
} from "./completion-shapes.js";
import { fallbackRoutes } from "./cost-fields.js";
import { echoResponse } from "./echo.js";
import type { Endpoint, ParsedRequest, PlannedRequest, SseEvents } from "./endpoint.js";
import { attemptBody, mayFallBack, servedCost } from "./fallback.js";
import { generationCostMicros } from "./generation-cost.js";
import type { Meter, Reservation } from "./metering.js";
import { estimateUsage, readUsage, type TokenUsage } from "./pricing.js";
import { planRequest, type RequestPlan } from "./request-plan.js";
import { parseChatRequest } from "./request-validation.js";
import { answeredWithin, SseRelay, type StreamEnd } from "./sse-relay.js";
import { SseUsage } from "./sse-usage.js";
import { callUpstream, readText, UpstreamCall } from "./upstream-call.js";
import { type FailedCall, streamedUpstreamError } from "./upstream-errors.js";
import { checkProvider, resolveModel, withWebPlugin } from "./variants.js";

/** What the chat-completions handler is built from. */
export interface ChatDeps {
  readonly app: AppDeps;
  readonly catalog: ModelCatalog;
  readonly meter: Meter;
  readonly limiter: RateLimiter | undefined;
  /** For generation-cost look-ups. */
  readonly fetch: typeof fetch;
}

/** One request on its way: what every step after the reservation works with. */
interface Call {
  readonly id: string;
  readonly key: KeyAdmission;
  readonly parsed: ParsedRequest;
  readonly request: PlannedRequest;
  readonly route: ModelRoute;
  /** The `models` fallback list after `route`, tried in order. */
  readonly fallbacks: readonly ModelRoute[];
  /** The model whose upstream is answering: `route`, or the fallback that took over. */
  served: ModelRoute;
  readonly plan: RequestPlan;
  readonly reservation: Reservation;
  readonly bodyBytes: number;
  readonly attribution: Attribution;
  /** Until the upstream's answer began, once it did. */
  latencyMs?: number;
}

/** Chat completions: forwarded as they are. */
export const CHAT_ENDPOINT: Endpoint = {
  apiType: "completions",
  path: "/chat/completions",
  chunkObject: "chat.completion.chunk",
  parse(text) {
    const request = parseChatRequest(text);
    return { request, original: request };
  },
  echo: (request, maxTokens, delayMs, signal) =>
    echoResponse(
      { messages: request.messages ?? [], stream: request.stream === true, maxTokens },
      delayMs,
      signal,
    ),
  generatedChars: completionChars,
};

/** `POST /api/v1/chat/completions`. */
export function chatCompletions(deps: ChatDeps) {
  return meteredEndpoint(deps, CHAT_ENDPOINT);
}

/**
 * A metered endpoint, as the steps it takes: admit the key (rate and in-flight limits, before
 * the body is read), read the request, plan its worst case, reserve it, call the upstream (the
 * next model of a `models` list when one fails before answering), relay or read the answer, and
 * settle what it cost — never more than it reserved. Every response carries `X-Request-Id`, the
 * id errors name and the log records.
 */
export function meteredEndpoint(deps: ChatDeps, endpoint: Endpoint) {
  const { app, catalog, meter } = deps;
  const gateway = app.config.gateway;

  return async function metered(c: Context): Promise<Response> {
    // The request's id names its record (and its generation): unique, so never the client's.
    const id: string =
      c.get("requestId") !== undefined && !c.get("requestIdFromClient")
        ? c.get("requestId")
        : newRequestId();
    if (c.get("requestId") === undefined) c.header("X-Request-Id", id);
    const incoming = nodeIncoming(c);
    // As the body-limit middleware would: a declared oversize body is refused before anything.
    if (incoming && declaresTooLarge(incoming, gateway.maxBodyBytes))
      throw bodyTooLarge(gateway.maxBodyBytes);
    const key = await admissibleKey(c);
    await deps.limiter?.hit(key.hash);
    const release = meter.admit(key.hash);
    // Once a relay runs, it releases the slot when the stream ends.
    let relaying = false;
    try {
      const raw = await readBody(c, gateway.maxBodyBytes);
      const parsed = endpoint.parse(raw);
      checkProvider(parsed.request);
      const { route, online } = await resolveModel(catalog, parsed.request.model);
      const request = online ? withWebPlugin(parsed.request) : parsed.request;
      const fallbacks = await fallbackRoutes(catalog, route, request.models);
      const bodyBytes = Buffer.byteLength(raw);
      const plan = (endpoint.plan ?? planRequest)(
        route,
        request,
        bodyBytes,
        key,
        gateway,
        fallbacks,
      );
      const attribution = attributionOf(c);
      const reservation = await meter.reserve(key, {
        id,
        micros: plan.reserveMicros,
        model: route.id,
        upstream: route.upstreamName,
        streamed: request.stream === true,
        details: { apiType: endpoint.apiType, ...attribution },
      });
      const call: Call = {
        id,
        key,
        parsed,
        request,
        route,
        fallbacks,
        served: route,
        plan,
        reservation,
        bodyBytes,
        attribution,
      };
      if (request.stream === true) {
        const response = await relayStream(c, call, release);
        relaying = true;
        return response;
      }
      return await answerJson(c, call);
    } finally {
      if (!relaying) release();
    }
  };

  async function admissibleKey(c: Context): Promise<KeyAdmission> {
    const key = await admitGatewayKey(c, app);
    if (key.disabled) throw new KeyportError(403, "Key is disabled");
    if (key.isManagement)
      throw new KeyportError(403, "Management keys cannot be used for completions");
    return key;
  }

  /**
   * Starts the upstream call, walking the `models` list while upstreams fail before answering
   * (see `mayFallBack`; one `UpstreamCall`, its timeout restarted for each model); `read` is the
   * part of the answer that must arrive before it counts as served. The last failure settles (at
   * no cost, unless Keyport cut a call that may have been generating) and is thrown.
   */
  async function startCall<T>(
    call: Call,
    upstream: UpstreamCall,
    read: (response: Readable, upstream: UpstreamCall) => Promise<T>,
  ): Promise<T> {
    const routes = [call.route, ...call.fallbacks];
    const started = performance.now();
    for (const [index, route] of routes.entries()) {
      call.served = route;
      upstream.touch();
      try {
        const headers = route.upstream?.openRouter ? attributionHeaders(call.attribution) : {};
        const body = attemptBody(call.plan.upstreamBody, route);
        const response = route.upstream
          ? await callUpstream(route, JSON.stringify(body), upstream, headers, endpoint.path)
          : endpoint.echo(call.request, call.plan.maxTokens, gateway.echoDelayMs, upstream.signal);
        const answer = await read(response, upstream);
        call.latencyMs = Math.round(performance.now() - started);
        return answer;
      } catch (caught) {
        const error =
          caught instanceof KeyportError || upstream.cause === undefined
            ? caught
            : upstream.failure(caught);
        if (index + 1 < routes.length && mayFallBack(error, upstream)) {
          const detail = error instanceof KeyportError ? (error.detail ?? error.message) : "";
          console.error(
            `keyport: request ${call.id}: ${route.id} failed, trying the next model: ${detail}`,
          );
          continue;
        }
        upstream.dispose();
        const status = error instanceof KeyportError ? error.status : 502;
        await call.reservation.settle({
          status,
          usage: NO_USAGE,
          costMicros: unknownCost(call, upstream),
          model: route.id,
          upstream: route.upstreamName,
        });
        throw error;
      }
    }
    throw new Error("no model to call");
  }

  /** The upstream call of `call`, tied to the client's side when given one. */
  function upstreamCall(call: Call, client?: AbortSignal | ServerResponse): UpstreamCall {
    const identity: FailedCall = { requestId: call.id, upstreamName: call.route.upstreamName };
    return new UpstreamCall(identity, gateway.upstreamTimeoutMs, client);
  }

  /**
   * Not streamed: the upstream call is not tied to the client, so a client that hangs up is
   * still billed what the upstream did (bounded by the upstream timeout).
   */
  async function answerJson(c: Context, call: Call): Promise<Response> {
    const outgoing = nodeOutgoing(c);
    const upstream = upstreamCall(call);
    const completion = await startCall(call, upstream, readCompletion);
    upstream.dispose();
    const usage =
      (endpoint.usage ?? ((answer) => readUsage(answer.usage)))(completion) ??
      estimateUsage(call.bodyBytes, endpoint.generatedChars(completion), 0);
    const left = clientLeft(c, outgoing);
    let charged = 0;
    try {
      // A lone request on SQLite answers before its settle, which commits right after.
      charged = (
        await call.reservation.settle(
          {
            status: left ? 499 : 200,
            usage,
            costMicros: cost(call, usage),
            details: jsonDetails(call, completion),
            model: call.served.id,
            upstream: call.served.upstreamName,
          },
          { answerFirst: !left },
        )
      ).chargedMicros;
    } catch (error) {
      // The upstream did the work and the reservation still holds the worst case: answer anyway.
      console.error(`keyport: settling request ${call.id} failed`, error);
      charged = Math.min(cost(call, usage), call.reservation.micros);
    }
    completion.usage = withCost(withFingerprint(completion).usage, usage, charged);
    const body = endpoint.answer ? endpoint.answer(completion, call.parsed) : completion;
    return respond(c, c.body(JSON.stringify(body), 200, { "Content-Type": "application/json" }));
  }

  /**
   * Streamed: relayed as it comes, the lease checkpointed with what was received; a client that
   * hangs up cancels the upstream and is billed by {@link streamCost}.
   */
  async function relayStream(c: Context, call: Call, release: () => void): Promise<Response> {
    const outgoing = nodeOutgoing(c);
    const upstream = upstreamCall(call, outgoing ?? c.req.raw.signal);
    const starting = startCall(call, upstream, async (response) => response);
    // An upstream that answers (or refuses, with its own status) within a keep-alive interval is
    // relayed as it is; a slower one gets the headers and keep-alives while it thinks.
    const response = (await answeredWithin(starting, gateway.keepAliveMs)) ?? starting;
    const identity = upstream.identity;
    const events = new SseUsage({
      promptBytes: call.bodyBytes,
      chargedCredits: (usage) => fromMicros(Math.min(cost(call, usage), call.reservation.micros)),
      errorLine: (payload, head) => {
        const failure = streamedUpstreamError(identity, payload);
        console.error(`keyport: ${failure.message}: ${failure.detail}`);
        return errorChunk(head, call.served, call.id, failure, endpoint.chunkObject).trimEnd();
      },
    });
    const dialect = endpoint.stream?.(events, call.parsed);
    const translate = (text: string) => (dialect ? dialect.translate(text) : text);
    const reader: SseEvents = dialect ?? events;
    call.reservation.delivered = () => cost(call, events.usage());
    const relay = new SseRelay(response, {
      call: upstream,
      events: reader,
      keepAliveMs: gateway.keepAliveMs,
      output: outgoing,
      errorEvent: (_status, failure) => {
        if (failure instanceof KeyportError && failure.detail)
          console.error(`keyport: ${failure.message}: ${failure.detail}`);
        return translate(
          errorChunk(events.head, call.served, call.id, failure, endpoint.chunkObject),
        );
      },
      refused: (failure) => {
        // `startCall` has billed it; only the in-flight slot is still held.
        release();
        if (failure instanceof KeyportError && failure.detail)
          console.error(`keyport: ${failure.message}: ${failure.detail}`);
        return translate(
          errorChunk(events.head, call.served, call.id, failure, endpoint.chunkObject),
        );
      },
      finish: async (end) => {
        release();
        const usage = events.usage();
        const costMicros = await streamCost(call, events, end);
        const { chargedMicros } = await call.reservation.settle({
          status: end.status,
          usage,
          costMicros,
          details: {
            completionId: typeof events.head.id === "string" ? events.head.id.slice(0, 200) : null,
            finishReason:
              end.status === 200 ? (events.finishReason ?? null) : end.clientLeft ? null : "error",
            latencyMs: call.latencyMs ?? null,
          },
          model: call.served.id,
          upstream: call.served.upstreamName,
        });
        // After an error event the stream ends with it, as OpenRouter's do.
        return events.reported || events.upstreamError
          ? ""
          : translate(
              usageChunk(
                events.head,
                call.served,
                call.id,
                usage,
                chargedMicros,
                endpoint.chunkObject,
              ),
            );
      },
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

  /**
   * What a stream is billed. Finished, or failed upstream: its reported usage, else an estimate
   * of what was received. Cut by the client before the upstream reported usage: the upstream may
   * have generated far more than was relayed, so the figure is the upstream's own (asked from an
   * upstream that answers `GET /generation`, and never below what was received), else the whole
   * reservation stays spent.
   */
  async function streamCost(call: Call, events: SseUsage, end: StreamEnd): Promise<number> {
    const received = cost(call, events.usage());
    if (!end.clientLeft || events.reported) return received;
    const upstream = call.served.upstream;
    const generation = typeof events.head.id === "string" ? events.head.id : undefined;
    if (upstream?.generationLookup && generation) {
      const exact = await generationCostMicros(upstream, generation, deps.fetch);
      if (exact !== undefined) return Math.max(exact, received);
    }
    return Math.max(call.reservation.micros, received);
  }
}

/**
 * What a call that ended without a figure is billed: nothing when the upstream answered an error
 * or could not be reached; the whole reservation when it was cut short (timed out, or the client
 * left) while it may have been generating — providers bill work they did.
 */
function unknownCost(call: Call, upstream: UpstreamCall): number {
  return upstream.cause === undefined ? 0 : call.reservation.micros;
}

/**
 * What a call's usage costs at the serving model's prices (the upstream's own figure when it gave
 * one); the reservation bounds what the key is charged.
 */
function cost(call: Call, usage: TokenUsage): number {
  return servedCost(call.plan, call.served, usage);
}

/** What a JSON completion tells for its request record: its id, finish reason and latency. */
function jsonDetails(call: Call, completion: Record<string, unknown>): Partial<RequestDetails> {
  const choices = completion.choices;
  const first = Array.isArray(choices) ? (choices[0] as { finish_reason?: unknown }) : undefined;
  const reason = first?.finish_reason;
  return {
    completionId: typeof completion.id === "string" ? completion.id.slice(0, 200) : null,
    finishReason: typeof reason === "string" ? reason.slice(0, 40) : null,
    latencyMs: call.latencyMs ?? null,
  };
}

const NO_USAGE: TokenUsage = { promptTokens: 0, completionTokens: 0, estimated: false };

/** Whether the client hung up before its answer was sent. */
function clientLeft(c: Context, outgoing: ServerResponse | undefined): boolean {
  if (outgoing) return outgoing.destroyed || outgoing.socket?.destroyed === true;
  return c.req.raw.signal.aborted;
}

async function readCompletion(
  response: Readable,
  call: UpstreamCall,
): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readText(response);
  } catch (error) {
    throw call.failure(error);
  }
  if (call.cause) throw call.failure(new Error("aborted"));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw call.failure(new Error(`a completion that is not a JSON object: ${text.slice(0, 500)}`));
  // A 2xx that carries an error (some proxies answer so): its text may hold secrets.
  const error = (json as { error?: unknown }).error;
  if (error !== undefined && error !== null)
    throw call.failure(new Error(`a completion carrying an error: ${text.slice(0, 4096)}`));
  return json as Record<string, unknown>;
}
