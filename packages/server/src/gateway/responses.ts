import { z } from "zod";
import { parseJsonBody } from "../web/json-body.js";
import { invalidInput } from "../web/zod-error.js";
import { CHAT_ENDPOINT } from "./chat.js";
import { completionChars } from "./completion-shapes.js";
import type { Endpoint, PlannedRequest } from "./endpoint.js";
import { chatRequestSchema } from "./request-validation.js";
import { ResponsesStream } from "./responses-stream.js";
import { chatMessages, responseFromCompletion } from "./responses-translate.js";

/** Fields a Responses request passes on to chat as they are. */
const PASSED = ["temperature", "top_p", "user", "provider", "models", "reasoning", "plugins"];

/** What Keyport reads of a Responses request; the rest is checked below or left out. */
const responsesRequestSchema = z.looseObject({
  model: chatRequestSchema.shape.model,
  input: z.unknown(),
  instructions: z.string().nullish(),
  stream: z.boolean().nullish(),
  max_output_tokens: chatRequestSchema.shape.max_tokens,
});

/** Fields whose features are not offered: refused rather than silently ignored. */
function refuseUnoffered(body: Readonly<Record<string, unknown>>): void {
  const fail = (field: string, reason: string) =>
    invalidInput(
      new z.ZodError([{ code: "custom", path: [field], message: reason, input: body[field] }]),
    );
  if (Array.isArray(body.tools) && body.tools.length > 0)
    throw fail(
      "tools",
      "tools are not offered by this server's Responses API (use chat completions)",
    );
  if (body.previous_response_id != null)
    throw fail(
      "previous_response_id",
      "responses are not stored by this server: send the whole input",
    );
  if (body.conversation != null)
    throw fail("conversation", "conversations are not stored by this server");
  if (body.background === true) throw fail("background", "background responses are not offered");
  const format = (body.text as { format?: { type?: unknown } } | undefined)?.format?.type;
  if (format != null && format !== "text") throw fail("text.format", "only text output is offered");
}

/**
 * `POST /api/v1/responses`, the OpenAI Responses API as OpenRouter serves it, for text: `input`
 * (a string or text messages) and `instructions` become chat messages, `max_output_tokens`
 * becomes `max_tokens`, and the call goes to the upstream's chat completions — so every chat
 * upstream serves it, metered as chat is. The answer comes back as a `response` object, or
 * streamed as Responses events (`response.created` … `response.output_text.delta` …
 * `response.completed`).
 */
export const RESPONSES_ENDPOINT: Endpoint = {
  apiType: "responses",
  path: "/chat/completions",
  chunkObject: "chat.completion.chunk",
  parse(text) {
    const parsed = responsesRequestSchema.safeParse(parseJsonBody(text));
    if (!parsed.success) throw invalidInput(parsed.error);
    const body = parsed.data;
    refuseUnoffered(body);
    const request: Record<string, unknown> = {
      model: body.model,
      messages: chatMessages(body.input, body.instructions),
    };
    if (body.stream != null) request.stream = body.stream;
    if (body.max_output_tokens != null) request.max_tokens = body.max_output_tokens;
    for (const field of PASSED) if (body[field] !== undefined) request[field] = body[field];
    return { request: request as PlannedRequest, original: body };
  },
  echo: CHAT_ENDPOINT.echo,
  generatedChars: completionChars,
  answer: (completion, parsed) => responseFromCompletion(completion, parsed.original),
  stream: (events, parsed) => new ResponsesStream(events, parsed.original),
};
