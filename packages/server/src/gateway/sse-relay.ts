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
  /** Charges the outcome; called exactly once, and the stream ends only after it resolved. */
  settle(outcome: StreamOutcome): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Passes an upstream's SSE body through to the client, chunk by chunk and only as fast as the
 * client reads (a pull source with no buffer of its own), while it
 *
 * - reads each `data:` line to pick out the usage (adding `usage.cost` when the upstream gave
 *   tokens only) and to count streamed content for an estimate should usage never come;
 * - sends `: KEYPORT PROCESSING` whenever the upstream has been silent for `keepAliveMs`;
 * - on a client disconnect aborts the upstream at once and bills what was streamed;
 * - on an upstream failure or timeout mid-stream sends a `data: {"error":…}` event and ends;
 * - holds back `data: [DONE]` until the request is settled, so a client that has seen `[DONE]`
 *   can read its usage from `GET /api/v1/key`.
 */
export function relaySse(
  upstream: ReadableStream<Uint8Array>,
  options: RelayOptions,
): ReadableStream<Uint8Array> {
  const { route, call } = options;
  const reader = upstream.getReader();
  const decoder = new TextDecoder();
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

  const billedUsage = () =>
    reported ?? estimateUsage(options.promptBytes, contentChars, contentChunks);

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
    let chunk: Record<string, unknown>;
    try {
      chunk = JSON.parse(payload) as Record<string, unknown>;
    } catch {
      return line;
    }
    if (typeof chunk !== "object" || chunk === null) return line;
    if (head.id === undefined) head = { id: chunk.id, created: chunk.created, model: chunk.model };
    if (chunk.error !== undefined && chunk.error !== null) upstreamError = true;
    const choices = chunk.choices;
    if (Array.isArray(choices)) {
      for (const choice of choices) {
        const content = (choice as { delta?: { content?: unknown } } | null)?.delta?.content;
        if (typeof content === "string" && content !== "") {
          contentChars += content.length;
          contentChunks += 1;
        }
      }
    }
    const usage = readUsage(chunk.usage);
    if (!usage) return line;
    reported = usage;
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

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        keepAlive = setTimeout(function ping() {
          if (finished) return;
          controller.enqueue(encoder.encode(KEEP_ALIVE_COMMENT));
          keepAlive = setTimeout(ping, options.keepAliveMs);
        }, options.keepAliveMs);
      },
      async pull(controller) {
        // Read until there is something to send: a pull that enqueues nothing is not called again.
        for (;;) {
          let result: ReadableStreamReadResult<Uint8Array>;
          try {
            result = await reader.read();
          } catch (error) {
            if (finished) return;
            if (call.cause === "client") {
              await finish(499);
              return;
            }
            const failure: KeyportError = call.failure(route, error);
            await finish(failure.status);
            controller.enqueue(
              encoder.encode(
                `data: ${JSON.stringify(errorBody(failure.status, failure.message, failure.metadata))}\n\n`,
              ),
            );
            controller.close();
            return;
          }
          if (finished) return;
          if (result.done) {
            const tail = decoder.decode();
            let out = pending + tail === "" ? "" : processText(`${tail}\n`);
            const outcome = await finish(upstreamError ? 502 : 200);
            if (!reported) out += usageChunk(outcome);
            if (!upstreamError) out += "data: [DONE]\n\n";
            controller.enqueue(encoder.encode(out));
            controller.close();
            return;
          }
          call.touch();
          keepAlive?.refresh();
          const out = processText(decoder.decode(result.value, { stream: true }));
          if (out !== "") {
            controller.enqueue(encoder.encode(out));
            return;
          }
        }
      },
      async cancel() {
        if (finished) return;
        call.abort("client");
        reader.cancel().catch(() => {});
        await finish(499);
      },
    },
    { highWaterMark: 0 },
  );
}
