import { randomBytes } from "node:crypto";
import { KeyportError } from "../web/errors.js";

/** A chat message as the Responses API's text input becomes. */
export interface TextMessage {
  readonly role: string;
  readonly content: string;
}

/** Roles a Responses input message may have, and what chat calls them. */
const ROLES: Readonly<Record<string, string>> = {
  user: "user",
  assistant: "assistant",
  system: "system",
  developer: "system",
};

/** Content parts that carry text in a Responses message. */
const TEXT_PARTS = new Set(["input_text", "output_text", "text"]);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function refuse(field: string, reason: string): KeyportError {
  return new KeyportError(400, `Invalid ${field}: ${reason}`);
}

/**
 * The chat messages of a Responses request's text input: `instructions` first (as a system
 * message), then `input` — a string (one user message) or message items whose content is a
 * string or text parts.
 * @throws KeyportError `400` naming the field for anything but text (images, files, tool calls).
 */
export function chatMessages(input: unknown, instructions: unknown): TextMessage[] {
  const messages: TextMessage[] = [];
  if (instructions != null) {
    if (typeof instructions !== "string") throw refuse("instructions", "must be a string");
    messages.push({ role: "system", content: instructions });
  }
  if (typeof input === "string") {
    messages.push({ role: "user", content: input });
    return messages;
  }
  if (!Array.isArray(input) || input.length === 0)
    throw refuse("input", "must be a string or a non-empty list of messages");
  for (const [index, item] of input.entries()) {
    const at = `input.${index}`;
    if (!isRecord(item) || (item.type !== undefined && item.type !== "message"))
      throw refuse(at, "only text messages are offered by this server");
    const role = typeof item.role === "string" ? ROLES[item.role] : undefined;
    if (!role) throw refuse(`${at}.role`, "must be user, assistant, system or developer");
    messages.push({ role, content: textContent(item.content, `${at}.content`) });
  }
  return messages;
}

function textContent(content: unknown, field: string): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw refuse(field, "must be a string or a list of text parts");
  return content
    .map((part, index) => {
      if (!isRecord(part) || !TEXT_PARTS.has(part.type as string) || typeof part.text !== "string")
        throw refuse(`${field}.${index}`, "only text parts are offered by this server");
      return part.text;
    })
    .join("");
}

/** What a response object is built from, whether whole or streamed. */
export interface ResponseParts {
  readonly id: string;
  readonly createdAt: number;
  readonly model: string;
  readonly text: string;
  /** Chat's finish reason: `length` makes the response `incomplete`. */
  readonly finishReason: string | undefined;
  /** The chat usage object (with `cost`), when there is one. */
  readonly usage: unknown;
  readonly status?: "in_progress" | "completed" | "incomplete" | "failed";
  readonly error?: { readonly code: string; readonly message: string } | null;
}

/** The request fields a response repeats. */
export type Echoed = Readonly<Record<string, unknown>>;

/** A Responses `usage` from a chat one: input/output/total tokens, and `cost` when present. */
function responseUsage(usage: unknown): Record<string, unknown> | null {
  if (!isRecord(usage)) return null;
  const input = typeof usage.prompt_tokens === "number" ? usage.prompt_tokens : 0;
  const output = typeof usage.completion_tokens === "number" ? usage.completion_tokens : 0;
  const details = isRecord(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
  const cached = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  return {
    input_tokens: input,
    input_tokens_details: {
      cached_tokens: typeof cached.cached_tokens === "number" ? cached.cached_tokens : 0,
    },
    output_tokens: output,
    output_tokens_details: {
      reasoning_tokens: typeof details.reasoning_tokens === "number" ? details.reasoning_tokens : 0,
    },
    total_tokens: input + output,
    ...(typeof usage.cost === "number" ? { cost: usage.cost } : {}),
  };
}

/** The message item holding the response's text. */
function messageItem(id: string, text: string, status: string) {
  return {
    type: "message",
    id: `msg_${id}`,
    status,
    role: "assistant",
    content: text === "" && status === "in_progress" ? [] : [outputText(text)],
  };
}

function outputText(text: string) {
  return { type: "output_text", text, annotations: [], logprobs: [] };
}

/** A Responses API `response` object. */
export function responseObject(parts: ResponseParts, echoed: Echoed): Record<string, unknown> {
  const incomplete = parts.finishReason === "length";
  const status = parts.status ?? (incomplete ? "incomplete" : "completed");
  const finished = status === "completed" || status === "incomplete";
  return {
    id: parts.id,
    object: "response",
    created_at: parts.createdAt,
    completed_at: finished ? Math.floor(Date.now() / 1000) : null,
    model: parts.model,
    status,
    error: parts.error ?? null,
    incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
    instructions: typeof echoed.instructions === "string" ? echoed.instructions : null,
    max_output_tokens: echoed.max_output_tokens ?? null,
    temperature: echoed.temperature ?? null,
    top_p: echoed.top_p ?? null,
    frequency_penalty: null,
    presence_penalty: null,
    metadata: isRecord(echoed.metadata) ? echoed.metadata : {},
    parallel_tool_calls: false,
    tool_choice: "none",
    tools: [],
    output: finished || parts.text !== "" ? [messageItem(parts.id, parts.text, "completed")] : [],
    usage: responseUsage(parts.usage),
  };
}

/** A whole chat completion (usage with `cost` already set) as a Responses `response`. */
export function responseFromCompletion(
  completion: Record<string, unknown>,
  echoed: Echoed,
): Record<string, unknown> {
  const choices = Array.isArray(completion.choices) ? completion.choices : [];
  const first = isRecord(choices[0]) ? choices[0] : {};
  const message = isRecord(first.message) ? first.message : {};
  return responseObject(
    {
      id:
        typeof completion.id === "string"
          ? completion.id
          : `resp_${randomBytes(12).toString("hex")}`,
      createdAt:
        typeof completion.created === "number" ? completion.created : Math.floor(Date.now() / 1000),
      model: typeof completion.model === "string" ? completion.model : "",
      text: typeof message.content === "string" ? message.content : "",
      finishReason: typeof first.finish_reason === "string" ? first.finish_reason : undefined,
      usage: completion.usage,
    },
    echoed,
  );
}
