import type { ServerResponse } from "node:http";
import { PassThrough } from "node:stream";
import { setImmediate as turn } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  KEEP_ALIVE_COMMENT,
  type RelayOptions,
  SseRelay,
  type StreamEnd,
} from "../../src/gateway/sse-relay.js";
import { SseUsage } from "../../src/gateway/sse-usage.js";
import { UpstreamCall } from "../../src/gateway/upstream-call.js";
import { KeyportError } from "../../src/web/errors.js";

/** An upstream's content chunk. */
const content = (text: string) =>
  `data: ${JSON.stringify({ id: "gen-1", created: 1, model: "m/x", choices: [{ delta: { content: text } }] })}\n\n`;

const DONE = "data: [DONE]\n\n";
const USAGE_CHUNK = 'data: {"usage":"billed"}\n\n';
const errorText = (status: number) => `data: {"error":{"code":${status}}}\n\n`;

/** A promise and its resolver, to hold `finish` until the test lets it go. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

interface Setup {
  readonly keepAliveMs?: number;
  readonly timeoutMs?: number;
  readonly finish?: RelayOptions["finish"];
  readonly output?: ServerResponse;
}

/**
 * A relay over a `PassThrough` upstream, with a real `UpstreamCall` tied to an `AbortController`
 * (the client) and a real `SseUsage`. Aborting the call destroys the upstream, as destroying the
 * upstream's `ClientRequest` fails its response in production.
 */
function relayOf(setup: Setup = {}) {
  const upstream = new PassThrough();
  const client = new AbortController();
  const call = new UpstreamCall(
    { requestId: "r1", upstreamName: "u" },
    setup.timeoutMs ?? 60_000,
    client.signal,
  );
  const signal = call.signal;
  signal.addEventListener("abort", () => upstream.destroy(signal.reason as Error));
  const events = new SseUsage({
    promptBytes: 8,
    chargedCredits: () => 0.5,
    errorLine: () => 'data: {"error":"sanitized"}',
  });
  const finish = vi.fn<(end: StreamEnd) => Promise<string>>(
    setup.finish ?? (async () => USAGE_CHUNK),
  );
  const errorEvent = vi.fn((status: number, _error: unknown) => errorText(status));
  const relay = new SseRelay(upstream, {
    call,
    events,
    keepAliveMs: setup.keepAliveMs ?? 60_000,
    output: setup.output,
    finish,
    errorEvent,
  });
  cleanups.push(() => {
    call.dispose();
    return relay.cancel();
  });
  return { upstream, client, call, events, finish, errorEvent, relay };
}

/** Reads the relay to its end, keeping each chunk as the client got it. */
async function readAll(relay: SseRelay, chunks: string[] = []): Promise<string[]> {
  for (let read = await relay.read(); !read.done; read = await relay.read())
    chunks.push(read.value);
  return chunks;
}

/** Whether `promise` has settled once pending callbacks ran. */
async function hasSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await turn();
  await turn();
  return settled;
}

describe("SseRelay: backpressure", () => {
  it("reads nothing from the upstream until the client reads", async () => {
    const { upstream, relay } = relayOf();
    const text = content("a") + content("b");
    upstream.write(text);
    await turn();
    expect(upstream.readableLength).toBe(Buffer.byteLength(text));
    expect((await relay.read()).value).toBe(text);
  });

  it("pauses the upstream while a chunk waits for the client, and resumes on the next read", async () => {
    const { upstream, relay } = relayOf();
    upstream.write(content("a"));
    upstream.write(content("b"));
    upstream.write(content("c"));
    await turn();
    expect(await relay.read()).toEqual({ done: false, value: content("a") });
    await turn();
    // "b" waits in the relay for the client; "c" is still the upstream's.
    expect(upstream.isPaused()).toBe(true);
    expect(upstream.readableLength).toBe(Buffer.byteLength(content("c")));
    await turn();
    expect(upstream.readableLength).toBe(Buffer.byteLength(content("c")));
    expect(await relay.read()).toEqual({ done: false, value: content("b") });
    expect(await relay.read()).toEqual({ done: false, value: content("c") });
    expect(upstream.readableLength).toBe(0);
  });

  it("as a web stream pulls nothing before the reader reads (highWaterMark 0)", async () => {
    const { upstream, relay } = relayOf();
    const stream = relay.webStream();
    upstream.write(content("a"));
    await turn();
    expect(upstream.readableLength).toBe(Buffer.byteLength(content("a")));
    const reader = stream.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toBe(content("a"));
    reader.releaseLock();
  });

  it("keeps a UTF-8 character cut between two upstream chunks whole", async () => {
    const { upstream, relay } = relayOf();
    const bytes = Buffer.from(content("héllo wörld"));
    const cut = bytes.indexOf(Buffer.from("é")) + 1;
    upstream.write(bytes.subarray(0, cut));
    upstream.end(bytes.subarray(cut));
    expect((await readAll(relay)).join("")).toBe(content("héllo wörld") + USAGE_CHUNK + DONE);
  });
});

describe("SseRelay: keep-alive", () => {
  it("sends the keep-alive comment after keepAliveMs of upstream silence, and data restarts the wait", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { upstream, relay } = relayOf({ keepAliveMs: 1000 });
    const first = relay.read();
    await vi.advanceTimersByTimeAsync(999);
    expect(await hasSettled(first)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await first).toEqual({ done: false, value: KEEP_ALIVE_COMMENT });

    // Again a keepAliveMs later, unless the upstream speaks meanwhile.
    await vi.advanceTimersByTimeAsync(600); // t = 1600
    upstream.write(content("a"));
    expect((await relay.read()).value).toBe(content("a"));
    const next = relay.read();
    await vi.advanceTimersByTimeAsync(999); // t = 2599
    expect(await hasSettled(next)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await next).toEqual({ done: false, value: KEEP_ALIVE_COMMENT });
  });

  it("stops once the stream is finished", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { upstream, relay } = relayOf({ keepAliveMs: 100 });
    upstream.end(content("a"));
    const chunks = await readAll(relay);
    await vi.advanceTimersByTimeAsync(1000);
    expect(chunks.join("")).not.toContain(KEEP_ALIVE_COMMENT);
    expect(await relay.read()).toEqual({ done: true, value: undefined });
  });
});

describe("SseRelay: the end of a stream", () => {
  it("sends [DONE] only once finish resolved, after the text finish returns", async () => {
    const bill = deferred<string>();
    const { upstream, relay, finish } = relayOf({ finish: () => bill.promise });
    upstream.write(content("a"));
    upstream.end('data: {"id":"last","note":"a line without newline"}');
    const chunks: string[] = [];
    const all = readAll(relay, chunks);
    await vi.waitFor(() => expect(finish).toHaveBeenCalledOnce());
    expect(finish).toHaveBeenCalledWith({ status: 200, clientLeft: false });
    await turn();
    expect(chunks).toEqual([content("a")]);
    expect(await hasSettled(all)).toBe(false);

    bill.resolve(USAGE_CHUNK);
    expect(await all).toEqual([
      content("a"),
      `data: {"id":"last","note":"a line without newline"}\n${USAGE_CHUNK}${DONE}`,
    ]);
    expect(finish).toHaveBeenCalledOnce();
    await relay.closed;
  });

  it("replaces the upstream's own [DONE] with its own, after the bill", async () => {
    const { upstream, relay } = relayOf();
    upstream.end(`${content("a")}${DONE}`);
    expect((await readAll(relay)).join("")).toBe(content("a") + USAGE_CHUNK + DONE);
  });

  it("reads the same through nodeBody()", async () => {
    const { upstream, relay } = relayOf();
    upstream.end(content("a"));
    const decoder = new TextDecoder();
    let text = "";
    for await (const bytes of relay.nodeBody()) text += decoder.decode(bytes, { stream: true });
    expect(text).toBe(content("a") + USAGE_CHUNK + DONE);
  });

  it("ends an upstream error event with a 502 finish and no [DONE]", async () => {
    const { upstream, relay, finish, errorEvent } = relayOf({ finish: async () => "" });
    upstream.end(`${content("a")}data: {"error":{"message":"sk-secret"}}\n\n`);
    const text = (await readAll(relay)).join("");
    expect(text).toBe(`${content("a")}data: {"error":"sanitized"}\n\n`);
    expect(finish).toHaveBeenCalledExactlyOnceWith({ status: 502, clientLeft: false });
    expect(errorEvent).not.toHaveBeenCalled();
  });

  it("logs a finish that fails and still ends the stream", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const { upstream, relay, finish } = relayOf({
      finish: () => Promise.reject(new Error("store down")),
    });
    upstream.end(content("a"));
    // The stream ends (whether a [DONE] should follow an unbilled request is an open question).
    const text = (await readAll(relay)).join("");
    expect(text.startsWith(content("a"))).toBe(true);
    expect(finish).toHaveBeenCalledOnce();
    expect(log).toHaveBeenCalledWith(
      "keyport: finishing a streamed request failed",
      expect.objectContaining({ message: "store down" }),
    );
  });
});

describe("SseRelay: failures mid-stream", () => {
  it("an upstream error: finish with 502, then the error event last, without [DONE]", async () => {
    const { upstream, relay, finish, errorEvent, events } = relayOf();
    upstream.write(content("a"));
    const chunks: string[] = [];
    const all = readAll(relay, chunks);
    await vi.waitFor(() => expect(chunks).toEqual([content("a")]));
    upstream.destroy(new Error("socket hang up"));
    const got = await all;
    expect(finish).toHaveBeenCalledExactlyOnceWith({ status: 502, clientLeft: false });
    expect(got.at(-1)).toBe(errorText(502));
    expect(got.join("")).not.toContain("[DONE]");
    expect(got.join("")).not.toContain("socket hang up");
    const [status, failure] = errorEvent.mock.calls[0] ?? [];
    expect(status).toBe(502);
    expect(failure).toBeInstanceOf(KeyportError);
    expect((failure as KeyportError).detail).toContain("socket hang up");
    expect(events.usage()).toMatchObject({ completionTokens: 1, estimated: true });
  });

  it("an upstream connection closed before its end: the same, as a 502", async () => {
    const { upstream, relay, finish, errorEvent } = relayOf();
    upstream.write(content("a"));
    const all = readAll(relay);
    await turn();
    upstream.destroy();
    const got = await all;
    expect(got).toEqual([content("a"), errorText(502)]);
    expect(finish).toHaveBeenCalledExactlyOnceWith({ status: 502, clientLeft: false });
    const failure = errorEvent.mock.calls[0]?.[1] as KeyportError;
    expect(failure.detail).toContain("Upstream connection closed");
  });

  it("the error event waits for finish too", async () => {
    const bill = deferred<string>();
    const { upstream, relay } = relayOf({ finish: () => bill.promise });
    const chunks: string[] = [];
    const all = readAll(relay, chunks);
    upstream.destroy(new Error("reset"));
    await turn();
    await turn();
    expect(chunks).toEqual([]);
    bill.resolve("ignored after an error\n\n");
    // What finish returns goes out only on a clean end; an error ends with the error event.
    expect(await all).toEqual([errorText(502)]);
  });

  it("silence longer than the call's timeout mid-stream: 408, the error event last", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { upstream, relay, finish, errorEvent, call } = relayOf({ timeoutMs: 500 });
    const chunks: string[] = [];
    const all = readAll(relay, chunks);
    upstream.write(content("a"));
    await vi.advanceTimersByTimeAsync(400);
    upstream.write(content("b")); // the upstream's sign of life restarts the timeout
    await vi.advanceTimersByTimeAsync(499);
    expect(finish).not.toHaveBeenCalled();
    expect(chunks).toEqual([content("a"), content("b")]);
    await vi.advanceTimersByTimeAsync(1);
    const got = await all;
    expect(call.cause).toBe("timeout");
    expect(finish).toHaveBeenCalledExactlyOnceWith({ status: 408, clientLeft: false });
    expect(got).toEqual([content("a"), content("b"), errorText(408)]);
    const failure = errorEvent.mock.calls[0]?.[1] as KeyportError;
    expect(failure.status).toBe(408);
    expect(failure.message).toContain("timed out after 500 ms");
  });

  // Backpressure pauses the upstream while the client does not read: that silence is the
  // client's. A client that reads nothing for the whole timeout is ended as gone (billed as a
  // cut stream), never as an upstream timeout billed at what was received.
  it("a client that stops reading is not mistaken for an upstream timeout", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { upstream, relay, finish } = relayOf({ timeoutMs: 500 });
    upstream.write(content("a"));
    expect((await relay.read()).value).toBe(content("a"));
    // The upstream speaks every 100 ms for a second; the client reads nothing more.
    for (let i = 0; i < 10; i++) {
      upstream.write(content("x"));
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(finish).not.toHaveBeenCalledWith({ status: 408, clientLeft: false });
    expect(finish).toHaveBeenCalledExactlyOnceWith({ status: 499, clientLeft: true });
  });

  it("keep-alive comments do not count as the upstream's signs of life", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { relay, finish } = relayOf({ timeoutMs: 500, keepAliveMs: 100 });
    const all = readAll(relay);
    await vi.advanceTimersByTimeAsync(500);
    const got = await all;
    expect(finish).toHaveBeenCalledExactlyOnceWith({ status: 408, clientLeft: false });
    expect(got.slice(0, 4)).toEqual(Array(4).fill(KEEP_ALIVE_COMMENT));
    expect(got.at(-1)).toBe(errorText(408));
  });
});

describe("SseRelay: the client goes away", () => {
  it("cancel() aborts the upstream at once and finishes with 499 and clientLeft", async () => {
    const { upstream, relay, finish, call, errorEvent } = relayOf();
    upstream.write(content("a"));
    await relay.read();
    await relay.cancel();
    expect(call.cause).toBe("client");
    expect(call.signal.aborted).toBe(true);
    expect(upstream.destroyed).toBe(true);
    expect(finish).toHaveBeenCalledExactlyOnceWith({ status: 499, clientLeft: true });
    await turn();
    await relay.cancel();
    expect(finish).toHaveBeenCalledOnce();
    expect(errorEvent).not.toHaveBeenCalled();
    await relay.closed;
  });

  it("cancelling the web stream or the node body does the same", async () => {
    const web = relayOf();
    web.upstream.write(content("a"));
    const reader = web.relay.webStream().getReader();
    await reader.read();
    await reader.cancel();
    expect(web.finish).toHaveBeenCalledExactlyOnceWith({ status: 499, clientLeft: true });
    expect(web.upstream.destroyed).toBe(true);

    const node = relayOf();
    await node.relay.nodeBody().getReader().cancel();
    expect(node.finish).toHaveBeenCalledExactlyOnceWith({ status: 499, clientLeft: true });
    expect(node.upstream.destroyed).toBe(true);
  });

  it("the client's signal aborting ends the stream with 499 and no error event", async () => {
    const { upstream, relay, finish, errorEvent, client } = relayOf();
    upstream.write(content("a"));
    const chunks: string[] = [];
    const all = readAll(relay, chunks);
    await vi.waitFor(() => expect(chunks).toEqual([content("a")]));
    client.abort();
    expect(await all).toEqual([content("a")]);
    expect(finish).toHaveBeenCalledExactlyOnceWith({ status: 499, clientLeft: true });
    expect(errorEvent).not.toHaveBeenCalled();
    expect(upstream.destroyed).toBe(true);
  });
});

describe("SseRelay: finish is called exactly once", () => {
  it("when the upstream's end races a cancel", async () => {
    const bill = deferred<string>();
    const { upstream, relay, finish } = relayOf({ finish: () => bill.promise });
    upstream.end(content("a"));
    expect((await relay.read()).value).toBe(content("a"));
    const tail = relay.read();
    await vi.waitFor(() => expect(finish).toHaveBeenCalledOnce());
    const cancelled = relay.cancel();
    bill.resolve(USAGE_CHUNK);
    await cancelled;
    await tail;
    await turn();
    expect(finish).toHaveBeenCalledExactlyOnceWith({ status: 200, clientLeft: false });
  });

  it("when a cancel comes before the upstream's end", async () => {
    const { upstream, relay, finish } = relayOf();
    upstream.write(content("a"));
    const cancelled = relay.cancel();
    upstream.end();
    await cancelled;
    await turn();
    expect(finish).toHaveBeenCalledExactlyOnceWith({ status: 499, clientLeft: true });
  });

  it("when the upstream errors, closes and then times out", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { upstream, relay, finish } = relayOf({ timeoutMs: 50 });
    const all = readAll(relay);
    upstream.destroy(new Error("reset")); // an error, then a close
    await vi.advanceTimersByTimeAsync(100);
    await relay.cancel();
    await all;
    expect(finish).toHaveBeenCalledExactlyOnceWith({ status: 502, clientLeft: false });
  });

  it.each([
    ["an end", (upstream: PassThrough) => upstream.end(content("a"))],
    ["an error", (upstream: PassThrough) => upstream.destroy(new Error("x"))],
    ["a close", (upstream: PassThrough) => upstream.destroy()],
  ])("when %s is followed by a cancel and a client abort", async (_name, stop) => {
    const { upstream, relay, finish, client } = relayOf();
    const all = readAll(relay);
    stop(upstream);
    await all;
    await relay.cancel();
    client.abort();
    await turn();
    expect(finish).toHaveBeenCalledOnce();
    expect(finish.mock.calls[0]?.[0].clientLeft).toBe(false);
  });
});

describe("SseRelay: writes to a Node response", () => {
  it("corks the response for a turn, and holds the last chunk's packet until the bill is in", async () => {
    const output = { cork: vi.fn(), uncork: vi.fn() };
    const bill = deferred<string>();
    const { upstream, relay } = relayOf({
      output: output as unknown as ServerResponse,
      finish: () => bill.promise,
    });
    // The headers wait for the first chunk, written in the same turn.
    expect(output.cork).toHaveBeenCalledOnce();
    await turn();
    expect(output.uncork).toHaveBeenCalledOnce();

    upstream.end(content("a"));
    const all = readAll(relay);
    await turn();
    await turn();
    // Corked again for the chunk; while the bill is awaited it stays corked.
    expect(output.cork).toHaveBeenCalledTimes(2);
    expect(output.uncork).toHaveBeenCalledOnce();
    bill.resolve("");
    await all;
    await turn();
    expect(output.uncork).toHaveBeenCalledTimes(2);
  });
});

describe("SseRelay: an upstream that has not answered yet", () => {
  /** A relay over a promise of the upstream, resolved or rejected by the test. */
  function pendingRelayOf() {
    const answer = deferred<PassThrough>();
    const client = new AbortController();
    const call = new UpstreamCall({ requestId: "r1", upstreamName: "u" }, 60_000, client.signal);
    const events = new SseUsage({
      promptBytes: 8,
      chargedCredits: () => 0.5,
      errorLine: () => 'data: {"error":"sanitized"}',
    });
    const finish = vi.fn<(end: StreamEnd) => Promise<string>>(async () => USAGE_CHUNK);
    const refused = vi.fn((_error: unknown) => errorText(502));
    const relay = new SseRelay(answer.promise, {
      call,
      events,
      keepAliveMs: 60_000,
      finish,
      errorEvent: (status) => errorText(status),
      refused,
    });
    cleanups.push(() => {
      call.dispose();
      return relay.cancel();
    });
    return { answer, call, finish, refused, relay };
  }

  it("sends a keep-alive at once, then relays the upstream once it answers", async () => {
    const { answer, relay, finish, refused } = pendingRelayOf();
    expect(await relay.read()).toEqual({ done: false, value: KEEP_ALIVE_COMMENT });
    const upstream = new PassThrough();
    answer.resolve(upstream);
    upstream.end(content("a"));
    expect((await readAll(relay)).join("")).toBe(content("a") + USAGE_CHUNK + DONE);
    expect(finish).toHaveBeenCalledOnce();
    expect(refused).not.toHaveBeenCalled();
  });

  it("a refusal ends the stream with refused's event, without finish (the starter billed it)", async () => {
    const { answer, relay, finish, refused } = pendingRelayOf();
    const failure = new KeyportError(429, "slow down");
    answer.reject(failure);
    expect((await readAll(relay)).join("")).toBe(KEEP_ALIVE_COMMENT + errorText(502));
    expect(refused).toHaveBeenCalledWith(failure);
    expect(finish).not.toHaveBeenCalled();
  });

  it("a cancel before the answer aborts the call; an answer that lands after is billed as cut", async () => {
    const { answer, call, relay, finish } = pendingRelayOf();
    await relay.cancel();
    expect(call.cause).toBe("client");
    expect(finish).not.toHaveBeenCalled();
    const upstream = new PassThrough();
    answer.resolve(upstream);
    await turn();
    expect(upstream.destroyed).toBe(true);
    expect(finish).toHaveBeenCalledOnce();
    expect(finish.mock.calls[0]?.[0]).toEqual({ status: 499, clientLeft: true });
  });
});
