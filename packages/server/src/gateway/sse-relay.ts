import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { fromMicros } from "../domain/credits.js";
import { errorBody, type KeyportError } from "../web/errors.js";
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

/** What `SseRelay` needs besides the upstream response. */
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

type Read = { done: false; value: string } | { done: true; value: undefined };

const DONE: Read = Object.freeze({ done: true, value: undefined });

/**
 * A response body as `@hono/node-server` reads it (`getReader()`, then `read()` until done, only
 * as fast as the client's socket drains), without a web `ReadableStream` per request: chunks are
 * strings written as they are. Anything else that reads it gets an async iterable of bytes.
 */
export interface NodeBody {
  readonly locked: boolean;
  getReader(): {
    read(): Promise<Read>;
    cancel(reason?: unknown): Promise<void>;
    releaseLock(): void;
    readonly closed: Promise<void>;
  };
  cancel(reason?: unknown): Promise<void>;
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array>;
}

/**
 * Passes an upstream's SSE body (a Node stream: the upstream's `IncomingMessage`) through to the
 * client, chunk by chunk and only as fast as the client reads (the upstream is paused while a
 * chunk waits for the client), while it
 *
 * - reads `data:` lines to pick out the usage (adding `usage.cost` when the upstream gave
 *   tokens only) and counts streamed content for an estimate should usage never come;
 * - sends `: KEYPORT PROCESSING` whenever the upstream has been silent for `keepAliveMs`;
 * - on a client disconnect aborts the upstream at once and bills what was streamed;
 * - on an upstream failure or timeout mid-stream sends a `data: {"error":…}` event and ends;
 * - holds back `data: [DONE]` until the request is settled, so a client that has seen `[DONE]`
 *   can read its usage from `GET /api/v1/key`.
 *
 * Read it with `nodeBody()` under `@hono/node-server`, or as a web stream with `webStream()`.
 */
export class SseRelay {
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";
  private reported: TokenUsage | undefined;
  private contentChars = 0;
  private contentChunks = 0;
  /**
   * Content lines not parsed yet: their counts only matter for an estimate, which is only needed
   * when the upstream reports no usage, so they are parsed then (or once they add up to much).
   */
  private deferred: string[] = [];
  private deferredChars = 0;
  private upstreamError = false;
  private droppedDone = false;
  private head: { id?: unknown; created?: unknown; model?: unknown } = {};
  /** Settling has begun: nothing more is read from the upstream. */
  private finished = false;
  private settled: Promise<StreamOutcome> | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  /** Chunks the client has not asked for yet, and whether the body is complete after them. */
  private queue: string[] = [];
  private ended = false;
  private waiting: ((read: Read) => void) | undefined;
  private closedResolve!: () => void;
  readonly closed = new Promise<void>((resolve) => {
    this.closedResolve = resolve;
  });
  private corked = false;
  private releaseScheduled = false;
  /** The upstream has ended and the settle is being written: its tail follows at once. */
  private ending = false;

  constructor(
    private readonly upstream: Readable,
    private readonly options: RelayOptions,
  ) {
    // The response headers, written next, wait for the first chunk.
    this.cork();
    this.keepAlive = setTimeout(this.ping, options.keepAliveMs);
    upstream.on("data", this.onData);
    upstream.once("end", this.onEnd);
    upstream.once("error", this.onError);
    // The connection closed before the body ended (an `IncomingMessage` may not error).
    upstream.once("close", this.onClose);
    upstream.pause();
  }

  /** The body for `@hono/node-server`. */
  nodeBody(): NodeBody {
    const reader = {
      read: () => this.read(),
      cancel: () => this.cancel(),
      releaseLock() {},
      closed: this.closed,
    };
    const relay = this;
    return {
      locked: false,
      getReader: () => reader,
      cancel: () => this.cancel(),
      async *[Symbol.asyncIterator]() {
        for (let read = await relay.read(); !read.done; read = await relay.read())
          yield encoder.encode(read.value);
      },
    };
  }

  /** The body as a web stream (for `app.request()` and other runtimes). */
  webStream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const read = await this.read();
          if (read.done) controller.close();
          else controller.enqueue(encoder.encode(read.value));
        },
        cancel: () => this.cancel(),
      },
      { highWaterMark: 0 },
    );
  }

  /** The next chunk for the client; the upstream flows only while the client is waiting. */
  read(): Promise<Read> {
    const next = this.queue.shift();
    if (next !== undefined) return Promise.resolve({ done: false, value: next });
    if (this.ended) {
      this.closedResolve();
      return Promise.resolve(DONE);
    }
    return new Promise<Read>((resolve) => {
      this.waiting = resolve;
      if (!this.finished) this.upstream.resume();
    });
  }

  /** The client went away: abort the upstream at once and bill what was streamed. */
  async cancel(): Promise<void> {
    this.closedResolve();
    if (this.finished) return;
    this.options.call.abort("client");
    this.upstream.destroy();
    await this.finish(499);
  }

  private send(text: string): void {
    if (this.ended) return;
    this.cork();
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      waiting({ done: false, value: text });
    } else {
      this.queue.push(text);
      // The client has not taken what it was given yet: wait for its next read.
      this.upstream.pause();
    }
  }

  private end(): void {
    this.ended = true;
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      this.closedResolve();
      waiting(DONE);
    }
  }

  /** Holds writes back until the end of this turn of the event loop. */
  private cork(): void {
    const output = this.options.output;
    if (!output) return;
    if (!this.corked) {
      output.cork();
      this.corked = true;
    }
    if (!this.releaseScheduled) {
      this.releaseScheduled = true;
      setImmediate(this.release);
    }
  }

  private readonly release = () => {
    this.releaseScheduled = false;
    // What is held goes out with the last chunk, which is only waiting for the settle.
    if (!this.corked || this.ending) return;
    this.corked = false;
    this.options.output?.uncork();
  };

  private readonly ping = () => {
    if (this.finished) return;
    this.send(KEEP_ALIVE_COMMENT);
    this.keepAlive = setTimeout(this.ping, this.options.keepAliveMs);
  };

  private readonly onData = (chunk: Buffer) => {
    if (this.finished) return;
    this.options.call.touch();
    this.keepAlive?.refresh();
    const out = this.processText(this.decoder.write(chunk));
    if (out !== "") this.send(out);
  };

  private readonly onEnd = async () => {
    if (this.finished) return;
    const tail = this.decoder.end();
    let out = this.pending + tail === "" ? "" : this.processText(`${tail}\n`);
    this.ending = true;
    const outcome = await this.finish(this.upstreamError ? 502 : 200);
    this.ending = false;
    if (!this.reported) out += this.usageChunk(outcome);
    if (!this.upstreamError) out += "data: [DONE]\n\n";
    this.send(out);
    this.end();
  };

  private readonly onError = async (error: unknown) => {
    if (this.finished) return;
    const { call, route } = this.options;
    if (call.cause === "client") {
      await this.finish(499);
      this.end();
      return;
    }
    const failure: KeyportError = call.failure(route, error);
    this.ending = true;
    await this.finish(failure.status);
    this.ending = false;
    this.send(
      `data: ${JSON.stringify(errorBody(failure.status, failure.message, failure.metadata))}\n\n`,
    );
    this.end();
  };

  private readonly onClose = () => {
    if (!this.upstream.readableEnded) void this.onError(new Error("Upstream connection closed"));
  };

  /** Ends the request once, whichever way it ends (a later call gets the first outcome). */
  private finish(status: number): Promise<StreamOutcome> {
    this.settled ??= this.settle(status);
    return this.settled;
  }

  private async settle(status: number): Promise<StreamOutcome> {
    this.finished = true;
    clearTimeout(this.keepAlive);
    const { call, route } = this.options;
    call.dispose();
    const usage = this.billedUsage();
    const outcome = { status, usage, costMicros: costMicros(route, usage) };
    try {
      await this.options.settle(outcome);
    } catch (error) {
      console.error("keyport: settling a streamed request failed", error);
    }
    return outcome;
  }

  private billedUsage(): TokenUsage {
    if (this.reported) return this.reported;
    this.countDeferred();
    return estimateUsage(this.options.promptBytes, this.contentChars, this.contentChunks);
  }

  private countContent(chunk: Record<string, unknown>): void {
    const choices = chunk.choices;
    if (!Array.isArray(choices)) return;
    for (const choice of choices) {
      const content = (choice as { delta?: { content?: unknown } } | null)?.delta?.content;
      if (typeof content === "string" && content !== "") {
        this.contentChars += content.length;
        this.contentChunks += 1;
      }
    }
  }

  private countDeferred(): void {
    for (const payload of this.deferred) {
      let chunk: unknown;
      try {
        chunk = JSON.parse(payload);
      } catch {
        continue;
      }
      if (typeof chunk === "object" && chunk !== null)
        this.countContent(chunk as Record<string, unknown>);
    }
    this.deferred = [];
    this.deferredChars = 0;
  }

  private processLine(line: string): string | undefined {
    if (this.droppedDone && line === "") return undefined; // the blank line that ended `[DONE]`
    if (!line.startsWith("data:")) return line;
    const payload = line.slice(5).trim();
    if (payload === "[DONE]") {
      this.droppedDone = true;
      return undefined;
    }
    // Only lines that may carry usage or an error are parsed at once (and the first, for the id
    // a synthesized usage chunk reuses); content is counted later, and only if it is needed.
    if (
      this.head.id !== undefined &&
      !payload.includes('"usage"') &&
      !payload.includes('"error"')
    ) {
      if (!this.reported && payload.includes('"content"')) {
        this.deferred.push(payload);
        this.deferredChars += payload.length;
        if (this.deferredChars > MAX_DEFERRED_CHARS) this.countDeferred();
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
    if (this.head.id === undefined)
      this.head = { id: chunk.id, created: chunk.created, model: chunk.model };
    if (chunk.error !== undefined && chunk.error !== null) this.upstreamError = true;
    this.countContent(chunk);
    const usage = readUsage(chunk.usage);
    if (!usage) return line;
    this.reported = usage;
    this.deferred = [];
    this.deferredChars = 0;
    if (usage.reportedCost !== undefined) return line;
    (chunk.usage as Record<string, unknown>).cost = fromMicros(
      costMicros(this.options.route, usage),
    );
    return `data: ${JSON.stringify(chunk)}`;
  }

  private processText(text: string): string {
    const pending = this.pending + text;
    let out = "";
    let start = 0;
    for (let end = pending.indexOf("\n", start); end !== -1; end = pending.indexOf("\n", start)) {
      const raw = pending.slice(start, end);
      const line = this.processLine(raw.endsWith("\r") ? raw.slice(0, -1) : raw);
      if (line !== undefined) out += `${line}\n`;
      start = end + 1;
    }
    this.pending = pending.slice(start);
    return out;
  }

  /** The usage chunk a client gets when the upstream sent none (estimated counts). */
  private usageChunk(outcome: StreamOutcome): string {
    const { usage } = outcome;
    return `data: ${JSON.stringify({
      id: this.head.id,
      object: "chat.completion.chunk",
      created: this.head.created ?? Math.floor(Date.now() / 1000),
      model: this.head.model ?? this.options.route.upstreamModel,
      choices: [],
      usage: {
        prompt_tokens: usage.promptTokens,
        completion_tokens: usage.completionTokens,
        total_tokens: usage.promptTokens + usage.completionTokens,
        cost: fromMicros(outcome.costMicros),
      },
    })}\n\n`;
  }
}
