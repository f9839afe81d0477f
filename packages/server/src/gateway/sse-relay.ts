import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { fromMicros } from "../domain/credits.js";
import { errorBody, type KeyportError } from "../http/errors.js";
import type { ModelRoute } from "./catalog.js";
import { costMicros, estimateUsage, readUsage, type TokenUsage } from "./pricing.js";
import type { UpstreamCall } from "./upstream-call.js";

/** The keep-alive comment sent while the upstream is silent (OpenRouter sends the same shape). */
export const KEEP_ALIVE_COMMENT = ": KEYPORT PROCESSING\n\n";

/** How a relayed stream ended and what it is billed. */
export interface StreamOutcome {
  /** `200`, the error status sent as an SSE event, or `499` when the client went away. */
  readonly status: number;
  readonly usage: TokenUsage;
  readonly costMicros: number;
}

/** What `relaySse` needs besides the upstream response. */
export interface RelayOptions {
  readonly route: ModelRoute;
  readonly call: UpstreamCall;
  readonly keepAliveMs: number;
  /** The request body's size, for the prompt estimate when the upstream reports no usage. */
  readonly promptBytes: number;
  /**
   * The Node response the stream is written to, when there is one: writes made in one turn of
   * the event loop (the headers and the first chunk; the last chunk and the end of the body) are
   * corked into one packet instead of one system call each.
   */
  readonly output?: ServerResponse;
  /** Charges the outcome; called exactly once, and the stream ends only after it resolved. */
  settle(outcome: StreamOutcome): Promise<void>;
}

const encoder = new TextEncoder();

/** Content lines kept unparsed at most (characters) before they are counted anyway. */
const MAX_DEFERRED_CHARS = 256 * 1024;

/**
 * Passes an upstream's SSE body (a Node stream: the upstream's `IncomingMessage`) through to the
 * client, chunk by chunk and only as fast as the client reads (the upstream is paused whenever
 * the client's stream is full), while it
 *
 * - reads `data:` lines to pick out the usage (adding `usage.cost` when the upstream gave
 *   tokens only) and to count streamed content for an estimate should usage never come;
 * - sends `: KEYPORT PROCESSING` whenever the upstream has been silent for `keepAliveMs`;
 * - on a client disconnect aborts the upstream at once and bills what was streamed;
 * - on an upstream failure or timeout mid-stream sends a `data: {"error":…}` event and ends;
 * - holds back `data: [DONE]` until the request is settled, so a client that has seen `[DONE]`
 *   can read its usage from `GET /api/v1/key`.
 */
export function relaySse(upstream: Readable, options: RelayOptions): ReadableStream<Uint8Array> {
  const { route, call } = options;
  const decoder = new StringDecoder("utf8");
  let pending = "";
  let reported: TokenUsage | undefined;
  let contentChars = 0;
  let contentChunks = 0;
  let upstreamError = false;
  let droppedDone = false;
  let head: { id?: unknown; created?: unknown; model?: unknown } = {};
  let finished = false;
  let settled: Promise<StreamOutcome> | undefined;
  let keepAlive: NodeJS.Timeout | undefined;

  /**
   * Content lines not parsed yet: their counts only matter for an estimate, which is only needed
   * when the upstream reports no usage, so they are parsed then (or once they add up to much).
   */
  let deferred: string[] = [];
  let deferredChars = 0;

  function countContent(chunk: Record<string, unknown>): void {
    const choices = chunk.choices;
    if (!Array.isArray(choices)) return;
    for (const choice of choices) {
      const content = (choice as { delta?: { content?: unknown } } | null)?.delta?.content;
      if (typeof content === "string" && content !== "") {
        contentChars += content.length;
        contentChunks += 1;
      }
    }
  }

  function countDeferred(): void {
    for (const payload of deferred) {
      let chunk: unknown;
      try {
        chunk = JSON.parse(payload);
      } catch {
        continue;
      }
      if (typeof chunk === "object" && chunk !== null)
        countContent(chunk as Record<string, unknown>);
    }
    deferred = [];
    deferredChars = 0;
  }

  const billedUsage = () => {
    if (reported) return reported;
    countDeferred();
    return estimateUsage(options.promptBytes, contentChars, contentChunks);
  };

  /** Ends the request once, whichever way it ends (a later call gets the first outcome). */
  function finish(status: number): Promise<StreamOutcome> {
    settled ??= settle(status);
    return settled;
  }

  async function settle(status: number): Promise<StreamOutcome> {
    finished = true;
    clearTimeout(keepAlive);
    call.dispose();
    const usage = billedUsage();
    const outcome = { status, usage, costMicros: costMicros(route, usage) };
    try {
      await options.settle(outcome);
    } catch (error) {
      console.error("keyport: settling a streamed request failed", error);
    }
    return outcome;
  }

  function processLine(line: string): string | undefined {
    if (droppedDone && line === "") return undefined; // the blank line that ended `[DONE]`
    if (!line.startsWith("data:")) return line;
    const payload = line.slice(5).trim();
    if (payload === "[DONE]") {
      droppedDone = true;
      return undefined;
    }
    // Only lines that may carry usage or an error are parsed at once (and the first, for the id
    // a synthesized usage chunk reuses); content is counted later, and only if it is needed.
    if (head.id !== undefined && !payload.includes('"usage"') && !payload.includes('"error"')) {
      if (!reported && payload.includes('"content"')) {
        deferred.push(payload);
        deferredChars += payload.length;
        if (deferredChars > MAX_DEFERRED_CHARS) countDeferred();
      }
      return line;
    }
    let chunk: Record<string, unknown>;
    try {
      chunk = JSON.parse(payload) as Record<string, unknown>;
    } catch {
      return line;
    }
    if (typeof chunk !== "object" || chunk === null) return line;
    if (head.id === undefined) head = { id: chunk.id, created: chunk.created, model: chunk.model };
    if (chunk.error !== undefined && chunk.error !== null) upstreamError = true;
    countContent(chunk);
    const usage = readUsage(chunk.usage);
    if (!usage) return line;
    reported = usage;
    deferred = [];
    deferredChars = 0;
    if (usage.reportedCost !== undefined) return line;
    (chunk.usage as Record<string, unknown>).cost = fromMicros(costMicros(route, usage));
    return `data: ${JSON.stringify(chunk)}`;
  }

  function processText(text: string): string {
    pending += text;
    let out = "";
    let start = 0;
    for (let end = pending.indexOf("\n", start); end !== -1; end = pending.indexOf("\n", start)) {
      const raw = pending.slice(start, end);
      const line = processLine(raw.endsWith("\r") ? raw.slice(0, -1) : raw);
      if (line !== undefined) out += `${line}\n`;
      start = end + 1;
    }
    pending = pending.slice(start);
    return out;
  }

  /** The usage chunk a client gets when the upstream sent none (estimated counts). */
  function usageChunk(outcome: StreamOutcome): string {
    const { usage } = outcome;
    return `data: ${JSON.stringify({
      id: head.id,
      object: "chat.completion.chunk",
      created: head.created ?? Math.floor(Date.now() / 1000),
      model: head.model ?? route.upstreamModel,
      choices: [],
      usage: {
        prompt_tokens: usage.promptTokens,
        completion_tokens: usage.completionTokens,
        total_tokens: usage.promptTokens + usage.completionTokens,
        cost: fromMicros(outcome.costMicros),
      },
    })}\n\n`;
  }

  let controller!: ReadableStreamDefaultController<Uint8Array>;

  const output = options.output;
  let corked = false;
  let releaseScheduled = false;
  /** The upstream has ended and the settle is being written: its tail follows at once. */
  let ending = false;

  /** Holds writes back until the end of this turn of the event loop. */
  function cork(): void {
    if (!output) return;
    if (!corked) {
      output.cork();
      corked = true;
    }
    if (!releaseScheduled) {
      releaseScheduled = true;
      setImmediate(release);
    }
  }

  function release(): void {
    releaseScheduled = false;
    // What is held goes out with the last chunk, which is only waiting for the settle.
    if (!corked || ending) return;
    corked = false;
    output?.uncork();
  }

  function send(text: string): void {
    if (finished && text === KEEP_ALIVE_COMMENT) return;
    cork();
    controller.enqueue(encoder.encode(text));
  }

  function onData(chunk: Buffer): void {
    if (finished) return;
    call.touch();
    keepAlive?.refresh();
    const out = processText(decoder.write(chunk));
    if (out === "") return;
    send(out);
    // The client has not taken what it was given yet: wait for its next read (pull).
    if ((controller.desiredSize ?? 0) <= 0) upstream.pause();
  }

  async function onEnd(): Promise<void> {
    if (finished) return;
    const tail = decoder.end();
    let out = pending + tail === "" ? "" : processText(`${tail}\n`);
    ending = true;
    const outcome = await finish(upstreamError ? 502 : 200);
    ending = false;
    if (!reported) out += usageChunk(outcome);
    if (!upstreamError) out += "data: [DONE]\n\n";
    send(out);
    controller.close();
  }

  async function onError(error: unknown): Promise<void> {
    if (finished) return;
    if (call.cause === "client") {
      await finish(499);
      return;
    }
    const failure: KeyportError = call.failure(route, error);
    ending = true;
    await finish(failure.status);
    ending = false;
    send(
      `data: ${JSON.stringify(errorBody(failure.status, failure.message, failure.metadata))}\n\n`,
    );
    controller.close();
  }

  return new ReadableStream<Uint8Array>(
    {
      start(streamController) {
        controller = streamController;
        cork(); // the response headers, written next, wait for the first chunk
        keepAlive = setTimeout(function ping() {
          if (finished) return;
          send(KEEP_ALIVE_COMMENT);
          keepAlive = setTimeout(ping, options.keepAliveMs);
        }, options.keepAliveMs);
        upstream.on("data", onData);
        upstream.once("end", () => void onEnd());
        upstream.once("error", (error) => void onError(error));
        // The connection closed before the body ended (an `IncomingMessage` may not error).
        upstream.once("close", () => {
          if (!upstream.readableEnded) void onError(new Error("Upstream connection closed"));
        });
        upstream.pause();
      },
      pull() {
        if (!finished) upstream.resume();
      },
      async cancel() {
        if (finished) return;
        call.abort("client");
        upstream.destroy();
        await finish(499);
      },
    },
    { highWaterMark: 0 },
  );
}
