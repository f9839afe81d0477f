import type { ContentfulStatusCode } from "hono/utils/http-status";
import { KeyportError } from "../http/errors.js";
import type { ModelRoute } from "./catalog.js";

/** Why an upstream request was cut short. */
export type AbortCause = "client" | "timeout";

/**
 * One request to an upstream: its abort controller, tied to the client's connection (the client
 * goes away → the upstream is aborted at once) and to a timeout that `touch()` restarts, so the
 * same deadline bounds the wait for an answer and any silence mid-stream.
 */
export class UpstreamCall {
  readonly controller = new AbortController();
  cause: AbortCause | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly onClientAbort = () => this.abort("client");

  constructor(
    readonly timeoutMs: number,
    private readonly clientSignal: AbortSignal,
  ) {
    this.timer = setTimeout(() => this.abort("timeout"), timeoutMs);
    if (clientSignal.aborted) this.abort("client");
    else clientSignal.addEventListener("abort", this.onClientAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The upstream showed signs of life: restart the timeout. */
  touch(): void {
    this.timer.refresh();
  }

  abort(cause: AbortCause): void {
    if (this.controller.signal.aborted) return;
    this.cause = cause;
    this.dispose();
    this.controller.abort(
      new Error(cause === "client" ? "Client went away" : "Upstream timed out"),
    );
  }

  /** Stops watching (the request is over). */
  dispose(): void {
    clearTimeout(this.timer);
    this.clientSignal.removeEventListener("abort", this.onClientAbort);
  }

  /** The error a failure of this call amounts to, once it failed with `error`. */
  failure(route: ModelRoute, error: unknown): KeyportError {
    if (this.cause === "timeout") return upstreamTimeout(route, this.timeoutMs);
    if (this.cause === "client")
      return new KeyportError(499 as ContentfulStatusCode, "Client closed the request");
    const detail =
      error instanceof Error
        ? error.cause instanceof Error
          ? error.cause.message
          : error.message
        : String(error);
    return new KeyportError(
      502,
      `Upstream ${route.upstreamName} failed: ${detail}`,
      {},
      { upstream: route.upstreamName },
    );
  }
}

/** `408`: the upstream did not answer (or fell silent) for too long. */
export function upstreamTimeout(route: ModelRoute, timeoutMs: number): KeyportError {
  return new KeyportError(
    408,
    `Upstream ${route.upstreamName} timed out after ${timeoutMs} ms`,
    {},
    { upstream: route.upstreamName },
  );
}

/**
 * Sends the chat request to the route's upstream. Resolves with a `2xx` response (its body still
 * to be read); any other answer, an unreachable upstream or a timeout throws the `KeyportError`
 * the client gets: the upstream's `429` stays `429` (with its `Retry-After`), `400`/`413`/`422`
 * (a request the model refuses) stay `400`, `408`/`504` become `408`, and everything else —
 * including `401`/`403` about Keyport's own upstream credentials — is a `502`.
 */
export async function callUpstream(
  route: ModelRoute,
  body: string,
  call: UpstreamCall,
  fetchFn: typeof fetch,
  extraHeaders: Record<string, string>,
): Promise<Response> {
  const upstream = route.upstream;
  if (!upstream) throw new Error(`${route.id} has no upstream`);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...extraHeaders,
  };
  if (upstream.apiKey) headers.authorization = `Bearer ${upstream.apiKey.reveal()}`;
  let response: Response;
  try {
    response = await fetchFn(`${upstream.baseUrl}/chat/completions`, {
      method: "POST",
      headers,
      body,
      signal: call.signal,
    });
  } catch (error) {
    throw call.failure(route, error);
  }
  if (response.ok) return response;
  let message = "";
  try {
    message = upstreamMessage(await response.text());
  } catch {
    // the status says enough
  }
  const status = response.status;
  const metadata = { upstream: route.upstreamName, upstream_status: status };
  const text = `Upstream ${route.upstreamName} answered ${status}${message ? `: ${message}` : ""}`;
  if (status === 429) {
    const retryAfter = response.headers.get("retry-after");
    throw new KeyportError(
      429,
      text,
      retryAfter && /^\d{1,6}$/.test(retryAfter)
        ? { "Retry-After": retryAfter }
        : { "Retry-After": "1" },
      metadata,
    );
  }
  if (status === 400 || status === 413 || status === 422)
    throw new KeyportError(400, text, {}, metadata);
  if (status === 408 || status === 504) throw new KeyportError(408, text, {}, metadata);
  throw new KeyportError(502, text, {}, metadata);
}

/** The upstream's error message, from OpenAI's `{"error":{"message"}}` or as text, shortened. */
function upstreamMessage(text: string): string {
  let message = text;
  try {
    const json = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const candidate =
      typeof json.error === "string" ? json.error : (json.error?.message ?? json.message);
    if (typeof candidate === "string") message = candidate;
  } catch {
    // not JSON: keep the text
  }
  message = message.replace(/\s+/g, " ").trim();
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}
