import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  ServerResponse,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Readable } from "node:stream";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { UpstreamConfig } from "../config/upstreams.js";
import { KeyportError } from "../web/errors.js";
import type { ModelRoute } from "./catalog.js";
import type { UpstreamPath } from "./endpoint.js";
import {
  type FailedCall,
  upstreamBroken,
  upstreamRefusal,
  upstreamTimeout,
} from "./upstream-errors.js";

/** Why an upstream request was cut short. */
export type AbortCause = "client" | "timeout";

/**
 * One request to an upstream, bound by a timeout that `touch()` restarts, so the same deadline
 * bounds the wait for an answer and any silence mid-stream. A streamed call is also tied to the
 * client's connection (the client goes away → the upstream request is destroyed at once); an
 * unstreamed one is not: the upstream finishes and its usage is billed (DESIGN invariant 8).
 */
export class UpstreamCall {
  cause: AbortCause | undefined;
  /** Keyport holds the upstream paused for a client that has not read what it was sent. */
  private held = false;
  private controller: AbortController | undefined;
  private request: ClientRequest | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly onClientAbort = () => this.abort("client");
  private readonly onClientClose = () => {
    if (!(this.client as ServerResponse).writableFinished) this.abort("client");
  };

  /**
   * @param identity the request and upstream, named in errors and logs.
   * @param client the client's side when the call should end with it: the Node response (its
   * connection closing before the answer was sent means the client went away), or an
   * `AbortSignal` that says so.
   */
  constructor(
    readonly identity: FailedCall,
    readonly timeoutMs: number,
    private readonly client?: AbortSignal | ServerResponse,
  ) {
    // Silence while the upstream is held paused is the client's: a client that reads nothing for
    // the whole timeout is treated as gone (billed as a cut stream), not as an upstream timeout.
    this.timer = setTimeout(() => this.abort(this.held ? "client" : "timeout"), timeoutMs);
    if (client instanceof ServerResponse) {
      if (client.destroyed) this.abort("client");
      else client.on("close", this.onClientClose);
    } else if (client?.aborted) this.abort("client");
    else client?.addEventListener("abort", this.onClientAbort, { once: true });
  }

  /** Aborts with the call (for in-process upstreams such as `keyport/echo`). */
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.cause && !this.controller.signal.aborted) this.controller.abort(this.reason());
    return this.controller.signal;
  }

  /** The upstream request to destroy should the call be aborted. */
  attach(request: ClientRequest): void {
    this.request = request;
    if (this.cause) request.destroy(this.reason());
  }

  /** The upstream showed signs of life: restart the timeout. */
  touch(): void {
    this.timer.refresh();
  }

  /**
   * Keyport paused the upstream because the client has not read what it was sent (`true`), or
   * resumed it (`false`, which restarts the timeout).
   */
  hold(held: boolean): void {
    if (this.held === held) return;
    this.held = held;
    if (!held) this.timer.refresh();
  }

  abort(cause: AbortCause): void {
    if (this.cause) return;
    this.cause = cause;
    this.dispose();
    const reason = this.reason();
    this.request?.destroy(reason);
    this.controller?.abort(reason);
  }

  /** Stops watching (the request is over). */
  dispose(): void {
    clearTimeout(this.timer);
    if (this.client instanceof ServerResponse) this.client.off("close", this.onClientClose);
    else this.client?.removeEventListener("abort", this.onClientAbort);
  }

  private reason(): Error {
    return new Error(this.cause === "client" ? "Client went away" : "Upstream timed out");
  }

  /** The error a failure of this call amounts to, once it failed with `error`. */
  failure(error: unknown): KeyportError {
    if (this.cause === "timeout") return upstreamTimeout(this.identity, this.timeoutMs);
    if (this.cause === "client")
      return new KeyportError(499 as ContentfulStatusCode, "Client closed the request");
    return upstreamBroken(this.identity, error);
  }
}

/** Where an upstream's chat endpoint is, parsed once per upstream. */
interface Target {
  readonly request: typeof httpRequest;
  readonly agent: HttpAgent;
  readonly hostname: string;
  readonly port: string;
  readonly path: string;
  readonly authorization: string | undefined;
}

/**
 * Keep-alive connection pools for upstreams: reusing connections saves a TCP (and TLS) handshake
 * per request. The agent drops an idle socket when the server's `Keep-Alive: timeout` says so.
 */
const httpAgent = new HttpAgent({ keepAlive: true, keepAliveMsecs: 1000, scheduling: "lifo" });
const httpsAgent = new HttpsAgent({ keepAlive: true, keepAliveMsecs: 1000, scheduling: "lifo" });

const targets = new WeakMap<UpstreamConfig, Map<UpstreamPath, Target>>();

function targetOf(upstream: UpstreamConfig, path: UpstreamPath): Target {
  let byPath = targets.get(upstream);
  if (!byPath) {
    byPath = new Map();
    targets.set(upstream, byPath);
  }
  let target = byPath.get(path);
  if (!target) {
    const url = new URL(`${upstream.baseUrl}${path}`);
    const https = url.protocol === "https:";
    target = {
      request: https ? httpsRequest : httpRequest,
      agent: https ? httpsAgent : httpAgent,
      hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: url.port || (https ? "443" : "80"),
      path: `${url.pathname}${url.search}`,
      authorization: upstream.apiKey ? `Bearer ${upstream.apiKey.reveal()}` : undefined,
    };
    byPath.set(path, target);
  }
  return target;
}

const noop = () => {};

/**
 * Sends the request to the route's upstream (its chat endpoint unless `path` says otherwise) over a pooled keep-alive connection (`node:http`
 * / `node:https`). Resolves with a `2xx` response whose body is still to be read; any other
 * answer, an unreachable upstream or a timeout throws the sanitized `KeyportError` the client
 * gets (see `upstreamRefusal`).
 */
export function callUpstream(
  route: ModelRoute,
  body: string,
  call: UpstreamCall,
  extraHeaders: Record<string, string>,
  path: UpstreamPath = "/chat/completions",
): Promise<IncomingMessage> {
  const upstream = route.upstream;
  if (!upstream) return Promise.reject(new Error(`${route.id} has no upstream`));
  const target = targetOf(upstream, path);
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "content-length": Buffer.byteLength(body),
    ...extraHeaders,
  };
  if (target.authorization) headers.authorization = target.authorization;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const request = target.request(
      {
        agent: target.agent,
        hostname: target.hostname,
        port: target.port,
        path: target.path,
        method: "POST",
        headers,
      },
      (response) => {
        // Whoever reads the body listens for errors; until then an abort must not crash.
        response.on("error", noop);
        const status = response.statusCode ?? 502;
        if (status >= 200 && status < 300) {
          resolve(response);
          return;
        }
        const retryAfter = response.headers["retry-after"];
        readText(response).then(
          (text) => reject(upstreamRefusal(call.identity, status, text, retryAfter)),
          () => reject(upstreamRefusal(call.identity, status, "", retryAfter)),
        );
      },
    );
    request.on("error", (error) => reject(call.failure(error)));
    call.attach(request);
    request.end(body);
  });
}

/** A response body as text (error answers are small). */
export function readText(response: Readable): Promise<string> {
  const declared = Number((response as IncomingMessage).headers?.["content-length"] ?? Number.NaN);
  if (!response.readableFlowing && declared >= 0 && response.readableLength >= declared) {
    // The whole body has arrived with the headers: take it from the buffer at once, and let the
    // stream run to its end (which hands the connection back to the pool).
    const chunks: Buffer[] = [];
    for (let chunk = response.read() as Buffer | null; chunk !== null; chunk = response.read())
      chunks.push(chunk);
    response.resume();
    return Promise.resolve(
      chunks.length === 1 ? (chunks[0] as Buffer).toString() : Buffer.concat(chunks).toString(),
    );
  }
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("end", () =>
      resolve(
        chunks.length === 1 ? (chunks[0] as Buffer).toString() : Buffer.concat(chunks).toString(),
      ),
    );
    response.on("error", reject);
    response.on("aborted", () => reject(new Error("Upstream connection closed")));
  });
}
