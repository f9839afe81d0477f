import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { ECHO_MODEL_ID } from "./catalog.js";

/** What `keyport/echo` needs from a chat request. */
export interface EchoRequest {
  readonly messages: readonly { readonly role: string; readonly content?: unknown }[];
  readonly stream: boolean;
  /** The most words it may answer with. */
  readonly maxTokens: number;
}

/**
 * The built-in test model as an in-process upstream: it answers with the last user message,
 * one word per token, in the same OpenAI wire format a real upstream sends (a JSON completion,
 * or SSE chunks ending with a usage chunk and `data: [DONE]`), as a Node stream like an
 * upstream's response, so it runs through the gateway's one forwarding path. It stops at once
 * when `signal` aborts.
 */
export function echoResponse(request: EchoRequest, delayMs: number, signal: AbortSignal): Readable {
  const promptTokens = Math.max(
    1,
    request.messages.reduce((sum, m) => sum + words(textOf(m.content)).length, 0),
  );
  const lastUser = [...request.messages].reverse().find((m) => m.role === "user");
  const all = words(textOf(lastUser?.content));
  const reply = all.length > 0 ? all : ["(nothing", "to", "echo)"];
  const answer = reply.slice(0, request.maxTokens);
  const finishReason = answer.length < reply.length ? "length" : "stop";
  const id = `gen-echo-${randomBytes(8).toString("hex")}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: answer.length,
    total_tokens: promptTokens + answer.length,
  };

  if (!request.stream) {
    return Readable.from(
      [
        Buffer.from(
          JSON.stringify({
            id,
            object: "chat.completion",
            created,
            model: ECHO_MODEL_ID,
            choices: [
              {
                index: 0,
                message: { role: "assistant", content: answer.join(" ") },
                finish_reason: finishReason,
                logprobs: null,
              },
            ],
            usage,
          }),
        ),
      ],
      { objectMode: false },
    );
  }

  const chunk = (fields: Record<string, unknown>) =>
    Buffer.from(
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: ECHO_MODEL_ID, ...fields })}\n\n`,
    );
  async function* chunks(): AsyncGenerator<Buffer> {
    const aborted = () => {
      if (signal.aborted) throw signal.reason;
    };
    aborted();
    yield chunk({
      choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
    });
    for (const [index, word] of answer.entries()) {
      if (delayMs > 0) await sleep(delayMs, signal);
      aborted();
      const content = index === 0 ? word : ` ${word}`;
      yield chunk({ choices: [{ index: 0, delta: { content }, finish_reason: null }] });
    }
    if (delayMs > 0) await sleep(delayMs, signal);
    aborted();
    yield Buffer.concat([
      chunk({ choices: [{ index: 0, delta: {}, finish_reason: finishReason }] }),
      chunk({ choices: [], usage }),
      Buffer.from("data: [DONE]\n\n"),
    ]);
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** The text of a message's content: a string, or the `text` of its parts. */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part) =>
      typeof part === "object" &&
      part !== null &&
      typeof (part as { text?: unknown }).text === "string"
        ? (part as { text: string }).text
        : "",
    )
    .join(" ");
}

/** What `keyport/echo` counts as tokens: whitespace-separated words. */
export function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
