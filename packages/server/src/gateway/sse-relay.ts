import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type { SseEvents } from "./endpoint.js";
import type { UpstreamCall } from "./upstream-call.js";

/** The keep-alive comment sent while the upstream is silent (OpenRouter sends the same shape). */
export const KEEP_ALIVE_COMMENT = ": KEYPORT PROCESSING\n\n";

/** How a relayed stream ended. */
export interface StreamEnd {
  /** `200`, the error status sent as an SSE event, or `499` when the client went away. */
  readonly status: number;
  /** The client went away before the upstream finished (the upstream was cancelled). */
  readonly clientLeft: boolean;
}

/** What the relay writes when a stream ends in an error. */
type ErrorEvent = (status: number, error: unknown) => string;

/** What `SseRelay` needs besides the upstream response. */
export interface RelayOptions {
  readonly call: UpstreamCall;
  /** Reads the upstream's events and rewrites them for the client. */
  readonly events: SseEvents;
  readonly keepAliveMs: number;
  /**
   * The Node response the stream is written to, when there is one: writes made in one turn of
   * the event loop (the headers and the first chunk; the last chunk and the end of the body) are
   * corked into one packet instead of one system call each.
   */
  readonly output?: ServerResponse;
  /**
   * Ends the request (bills it); called exactly once, and the stream's tail goes out only after
   * it resolved. Resolves with the text to send before `[DONE]` (the usage chunk when the
   * upstream sent none).
   */
  finish(end: StreamEnd): Promise<string>;
  /** The `data:` event for a failure mid-stream (sanitized, in OpenRouter's chunk shape). */
  readonly errorEvent: ErrorEvent;
  /**
   * For an upstream still to answer: the request failed before the upstream's body began (it
   * refused, timed out or the client left), and whoever started the call has already billed it.
   * Resolves with the `data:` event that ends the stream in place of `finish`'s tail.
   */
  refused?(error: unknown): string | Promise<string>;
}

const encoder = new TextEncoder();

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
 * chunk waits for the client). It
 *
 * - rewrites each piece of upstream text through `events` (usage, errors, `[DONE]`);
 * - given an upstream that has not answered yet (a promise of it), sends a keep-alive at once
 *   (the response headers go with it) and every `keepAliveMs` until it answers; should it refuse
 *   instead, the stream ends with `refused`'s error event;
 * - sends `: KEYPORT PROCESSING` whenever the upstream has been silent for `keepAliveMs`;
 * - on a client disconnect aborts the upstream at once and finishes with `clientLeft`; so does a
 *   client that reads nothing for the upstream timeout while the upstream is held for it;
 * - on an upstream failure or timeout mid-stream sends an error event and ends;
 * - holds back `data: [DONE]` until the request is finished (billed), so a client that has seen
 *   `[DONE]` can read its usage from `GET /api/v1/key`.
 *
 * Read it with `nodeBody()` under `@hono/node-server`, or as a web stream with `webStream()`.
 */
export class SseRelay {
  private readonly decoder = new StringDecoder("utf8");
  /** Finishing has begun: nothing more is read from the upstream. */
  private finished = false;
  private finishing: Promise<string> | undefined;
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
  /** The upstream has ended and the request is being billed: its tail follows at once. */
  private ending = false;
  /** The upstream's body, once it answered. */
  private upstream: Readable | undefined;
  /** The client went away while the upstream had not answered yet. */
  private cancelled = false;

  /**
   * @param upstream the upstream's body, or a promise of it while the upstream has not answered
   * (it rejects when the upstream refuses; see `refused`).
   */
  constructor(
    upstream: Readable | Promise<Readable>,
    private readonly options: RelayOptions,
  ) {
    // The response headers, written next, wait for the first chunk.
    this.cork();
    if (upstream instanceof Promise) {
      this.ping();
      upstream.then(this.attach, this.onRefused);
    } else {
      this.keepAlive = setTimeout(this.ping, options.keepAliveMs);
      this.attach(upstream);
    }
  }

  private readonly attach = (upstream: Readable) => {
    if (this.cancelled) {
      // The client left while the answer was on its way: bill it as a cut stream.
      this.upstream = upstream;
      this.options.call.abort("client");
      upstream.destroy();
      void this.finish({ status: 499, clientLeft: true });
      return;
    }
    this.upstream = upstream;
    upstream.on("data", this.onData);
    upstream.once("end", this.onEnd);
    upstream.once("error", this.onError);
    // The connection closed before the body ended (an `IncomingMessage` may not error).
    upstream.once("close", this.onClose);
    if (this.waiting && this.queue.length === 0) this.options.call.hold(false);
    else {
      upstream.pause();
      if (this.queue.length > 0) this.options.call.hold(true);
    }
  };

  private readonly onRefused = async (error: unknown) => {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.keepAlive);
    let text = "";
    try {
      text = (await this.options.refused?.(error)) ?? "";
    } catch (failure) {
      console.error("keyport: ending a refused stream failed", failure);
    }
    this.send(text);
    this.end();
  };

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
      if (!this.finished && this.upstream) {
        this.options.call.hold(false);
        this.upstream.resume();
      }
    });
  }

  /** The client went away: abort the upstream at once and finish. */
  async cancel(): Promise<void> {
    this.closedResolve();
    if (this.finished || this.cancelled) return;
    this.options.call.abort("client");
    if (!this.upstream) {
      // Aborting fails the pending answer, and whoever started the call bills it (`refused`);
      // an answer that was already on its way is billed when it lands (`attach`).
      this.cancelled = true;
      this.end();
      return;
    }
    this.upstream.destroy();
    await this.finish({ status: 499, clientLeft: true });
    // A read still waiting would hold its reader (and the response) open for good.
    this.end();
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
      if (this.upstream) {
        this.upstream.pause();
        this.options.call.hold(true);
      }
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
    // What is held goes out with the last chunk, which is only waiting for the bill.
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
    const out = this.options.events.push(this.decoder.write(chunk));
    if (out !== "") this.send(out);
  };

  private readonly onEnd = async () => {
    if (this.finished) return;
    const { events } = this.options;
    let out = events.end(this.decoder.end());
    const failed = events.upstreamError;
    this.ending = true;
    out += await this.finish({ status: failed ? 502 : 200, clientLeft: false });
    this.ending = false;
    if (!failed) out += "data: [DONE]\n\n";
    this.send(out);
    this.end();
  };

  private readonly onError = async (error: unknown) => {
    if (this.finished) return;
    const { call } = this.options;
    if (call.cause === "client") {
      await this.finish({ status: 499, clientLeft: true });
      this.end();
      return;
    }
    const failure = call.failure(error);
    this.ending = true;
    await this.finish({ status: failure.status, clientLeft: false });
    this.ending = false;
    this.send(this.options.errorEvent(failure.status, failure));
    this.end();
  };

  private readonly onClose = () => {
    if (!this.upstream?.readableEnded) void this.onError(new Error("Upstream connection closed"));
  };

  /** Ends the request once, whichever way it ends (a later call gets the first result). */
  private finish(end: StreamEnd): Promise<string> {
    if (!this.finishing) {
      this.finished = true;
      clearTimeout(this.keepAlive);
      this.options.call.dispose();
      this.finishing = this.options.finish(end).catch((error: unknown) => {
        console.error("keyport: finishing a streamed request failed", error);
        return "";
      });
    }
    return this.finishing;
  }
}

/**
 * What `pending` resolves with when it settles within `ms`, else `undefined` (it then goes on,
 * and its rejection is still the caller's to handle). A refusal within `ms` rejects as it is.
 * @example
 * const response = (await answeredWithin(starting, keepAliveMs)) ?? starting;
 */
export async function answeredWithin<T>(pending: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });
  try {
    return await Promise.race([pending, late]);
  } finally {
    clearTimeout(timer);
  }
}
