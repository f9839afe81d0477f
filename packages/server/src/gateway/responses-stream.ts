import type { SseEvents } from "./endpoint.js";
import { type Echoed, responseObject } from "./responses-translate.js";
import type { SseUsage } from "./sse-usage.js";

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Rewrites the chat chunks a stream's client would get (already sanitized and priced by
 * `SseUsage`) as Responses API events: `response.created`, `response.in_progress`, the message
 * item and its text part added, `response.output_text.delta` per piece of text, then — at the
 * usage chunk — the text, part and item done and `response.completed` (or `response.incomplete`
 * at `max_output_tokens`) with usage and `cost`; an error chunk becomes `response.failed`.
 */
export class ResponsesStream implements SseEvents {
  private sequence = 0;
  private id = "";
  private createdAt = Math.floor(Date.now() / 1000);
  private model = "";
  private text = "";
  private started = false;
  private itemOpen = false;
  private finishReason: string | undefined;
  private done = false;

  constructor(
    private readonly events: SseUsage,
    private readonly echoed: Echoed,
  ) {}

  get upstreamError(): boolean {
    return this.events.upstreamError;
  }

  push(text: string): string {
    return this.translate(this.events.push(text));
  }

  end(tail: string): string {
    return this.translate(this.events.end(tail));
  }

  /** The Responses events for chat SSE text (whole lines). */
  translate(text: string): string {
    let out = "";
    for (const line of text.split("\n")) {
      if (!line.startsWith("data: ") || this.done) continue;
      let chunk: unknown;
      try {
        chunk = JSON.parse(line.slice(6));
      } catch {
        continue;
      }
      if (isRecord(chunk)) out += this.chunk(chunk);
    }
    return out;
  }

  private chunk(chunk: Record<string, unknown>): string {
    let out = "";
    if (!this.started) {
      this.started = true;
      if (typeof chunk.id === "string") this.id = chunk.id;
      if (typeof chunk.created === "number") this.createdAt = chunk.created;
      if (typeof chunk.model === "string") this.model = chunk.model;
      const response = this.response("in_progress", null);
      out += this.event("response.created", { response });
      out += this.event("response.in_progress", { response });
    }
    if (isRecord(chunk.error)) {
      this.done = true;
      const { code, message } = chunk.error;
      const error = { code: String(code ?? "server_error"), message: String(message ?? "") };
      return (
        out + this.event("response.failed", { response: this.response("failed", null, error) })
      );
    }
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    const choice = isRecord(choices[0]) ? choices[0] : {};
    const delta = isRecord(choice.delta) ? choice.delta : {};
    if (typeof delta.content === "string" && delta.content !== "") {
      out += this.openItem();
      this.text += delta.content;
      out += this.event("response.output_text.delta", {
        item_id: this.itemId(),
        output_index: 0,
        content_index: 0,
        delta: delta.content,
        logprobs: [],
      });
    }
    if (typeof choice.finish_reason === "string") this.finishReason = choice.finish_reason;
    if (chunk.usage !== undefined && chunk.usage !== null) out += this.complete(chunk.usage);
    return out;
  }

  private openItem(): string {
    if (this.itemOpen) return "";
    this.itemOpen = true;
    const item = {
      type: "message",
      id: this.itemId(),
      status: "in_progress",
      role: "assistant",
      content: [],
    };
    return (
      this.event("response.output_item.added", { output_index: 0, item }) +
      this.event("response.content_part.added", {
        item_id: this.itemId(),
        output_index: 0,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [], logprobs: [] },
      })
    );
  }

  private complete(usage: unknown): string {
    this.done = true;
    let out = this.openItem();
    const part = { type: "output_text", text: this.text, annotations: [], logprobs: [] };
    const at = { item_id: this.itemId(), output_index: 0, content_index: 0 };
    out += this.event("response.output_text.done", { ...at, text: this.text, logprobs: [] });
    out += this.event("response.content_part.done", { ...at, part });
    out += this.event("response.output_item.done", {
      output_index: 0,
      item: {
        type: "message",
        id: this.itemId(),
        status: "completed",
        role: "assistant",
        content: [part],
      },
    });
    const incomplete = this.finishReason === "length";
    const response = this.response(incomplete ? "incomplete" : "completed", usage);
    return (
      out + this.event(incomplete ? "response.incomplete" : "response.completed", { response })
    );
  }

  private itemId(): string {
    return `msg_${this.id}`;
  }

  private response(
    status: "in_progress" | "completed" | "incomplete" | "failed",
    usage: unknown,
    error: { code: string; message: string } | null = null,
  ) {
    return responseObject(
      {
        id: this.id,
        createdAt: this.createdAt,
        model: this.model,
        text: this.text,
        finishReason: this.finishReason,
        usage,
        status,
        error,
      },
      this.echoed,
    );
  }

  private event(type: string, fields: Record<string, unknown>): string {
    const payload = { type, sequence_number: this.sequence++, ...fields };
    return `event: ${type}\ndata: ${JSON.stringify(payload)}\n\n`;
  }
}
