import { estimateUsage, readUsage, type TokenUsage } from "./pricing.js";

/**
 * Lines that may carry billed completion text (content, reasoning, tool calls, refusals, and
 * the `prompt` form's `text`).
 */
const COUNTED = /"(content|reasoning|reasoning_content|arguments|refusal|text)"/;

/** A streamed finish reason, read without parsing the chunk. */
const FINISH_REASON = /"finish_reason":"([A-Za-z0-9_-]{1,40})"/;

/** Content lines kept unparsed at most (characters) before they are counted anyway. */
const MAX_DEFERRED_CHARS = 256 * 1024;

/** The first chunk's identity: a synthesized usage or error chunk reuses it. */
export interface StreamHead {
  readonly id?: unknown;
  readonly created?: unknown;
  readonly model?: unknown;
}

/** How `SseUsage` turns what it reads into what the client gets. */
export interface SseUsageOptions {
  /** The request body's size, for the prompt estimate when the upstream reports no usage. */
  readonly promptBytes: number;
  /** What the client is told a usage report costs (credits): what the key is charged for it. */
  chargedCredits(usage: TokenUsage): number;
  /** The line the client gets instead of an upstream's `data: {"error": …}` (never the raw one). */
  errorLine(payload: string, head: StreamHead): string;
}

/**
 * Reads an upstream's SSE text as it arrives (a pure parser: no I/O, no timers) and rewrites it
 * for the client, line by line:
 *
 * - picks out the usage report and sets its `usage.cost` to what the key is charged;
 * - replaces an upstream's error event with a sanitized one (its text may hold secrets);
 * - drops `data: [DONE]` (the relay sends its own once the request is settled), and whatever
 *   could carry the upstream's own words: comments, other fields, `data:` that is not JSON;
 * - counts streamed content, lazily, for an estimate should usage never come.
 */
export class SseUsage {
  /** The usage the upstream reported, once it did. */
  reported: TokenUsage | undefined;
  head: StreamHead = {};
  /** The upstream sent an error event. */
  upstreamError = false;
  /** The last `finish_reason` the upstream streamed (for the request record). */
  finishReason: string | undefined;
  private pending = "";
  private contentChars = 0;
  private contentChunks = 0;
  /**
   * Content lines not parsed yet: their counts only matter for an estimate, which is only needed
   * when the upstream reports no usage, so they are parsed then (or once they add up to much).
   */
  private deferred: string[] = [];
  private deferredChars = 0;
  private droppedDone = false;

  constructor(private readonly options: SseUsageOptions) {}

  /** The client's text for the next piece of upstream text (complete lines only). */
  push(text: string): string {
    const pending = this.pending + text;
    let out = "";
    let start = 0;
    for (let end = pending.indexOf("\n", start); end !== -1; end = pending.indexOf("\n", start)) {
      const raw = pending.slice(start, end);
      const line = this.line(raw.endsWith("\r") ? raw.slice(0, -1) : raw);
      if (line !== undefined) out += `${line}\n`;
      start = end + 1;
    }
    this.pending = pending.slice(start);
    return out;
  }

  /** The client's text for what is left once the upstream has ended. */
  end(tail: string): string {
    return this.pending + tail === "" ? "" : this.push(`${tail}\n`);
  }

  /** Usage so far: the upstream's report, else an estimate from the content received. */
  usage(): TokenUsage {
    if (this.reported) return this.reported;
    this.countDeferred();
    return estimateUsage(this.options.promptBytes, this.contentChars, this.contentChunks);
  }

  private line(line: string): string | undefined {
    if (this.droppedDone && line === "") return undefined; // the blank line that ended `[DONE]`
    // Comments and other fields are the upstream's own words (a proxy's may name hosts or
    // accounts): only `data:` and the blank lines between events reach the client, whose
    // keep-alive comments Keyport sends itself.
    if (!line.startsWith("data:")) return line === "" ? line : undefined;
    const payload = line.slice(5).trim();
    if (payload === "[DONE]") {
      this.droppedDone = true;
      return undefined;
    }
    if (payload.includes('"finish_reason":"'))
      this.finishReason = FINISH_REASON.exec(payload)?.[1] ?? this.finishReason;
    // Plain content chunks pass unparsed (parsing every line showed in profiles); anything that
    // may carry usage or an error — even spelled with escapes — is parsed, and so is the first
    // chunk, for the id a synthesized chunk reuses. Content is counted later, if it is needed.
    if (
      this.head.id !== undefined &&
      payload.startsWith("{") &&
      payload.endsWith("}") &&
      !payload.includes('"usage"') &&
      !payload.includes("rror") &&
      !payload.includes("\\u")
    ) {
      if (!this.reported && COUNTED.test(payload)) {
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
      // Not JSON: an upstream's text, which may hold secrets. The client never sees it.
      return undefined;
    }
    if (typeof chunk !== "object" || chunk === null || Array.isArray(chunk)) return undefined;
    if (this.head.id === undefined)
      this.head = { id: chunk.id, created: chunk.created, model: chunk.model };
    if (chunk.error !== undefined && chunk.error !== null) {
      this.upstreamError = true;
      return this.options.errorLine(payload, this.head);
    }
    this.countContent(chunk);
    const usage = readUsage(chunk.usage);
    if (!usage) return line;
    this.reported = usage;
    this.deferred = [];
    this.deferredChars = 0;
    (chunk.usage as Record<string, unknown>).cost = this.options.chargedCredits(usage);
    return `data: ${JSON.stringify(chunk)}`;
  }

  private countContent(chunk: Record<string, unknown>): void {
    const choices = chunk.choices;
    if (!Array.isArray(choices)) return;
    for (const choice of choices) {
      const { delta, text } = (choice ?? {}) as { delta?: Record<string, unknown>; text?: unknown };
      if (typeof text === "string" && text !== "") {
        this.contentChars += text.length;
        this.contentChunks += 1;
      }
      if (!delta) continue;
      // Reasoning, tool-call arguments and refusals are billed as completion tokens too.
      for (const text of completionTexts(delta)) {
        if (text !== "") {
          this.contentChars += text.length;
          this.contentChunks += 1;
        }
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
}

/**
 * The completion text of a streamed `delta` or a whole `message`: content, reasoning, refusal and
 * tool-call arguments — everything an upstream bills as completion tokens.
 */
export function completionTexts(part: Readonly<Record<string, unknown>>): string[] {
  const texts: string[] = [];
  for (const value of [part.content, part.reasoning, part.reasoning_content, part.refusal])
    if (typeof value === "string") texts.push(value);
  if (Array.isArray(part.tool_calls)) {
    for (const call of part.tool_calls) {
      const args = (call as { function?: { arguments?: unknown } } | null)?.function?.arguments;
      if (typeof args === "string") texts.push(args);
    }
  }
  return texts;
}
