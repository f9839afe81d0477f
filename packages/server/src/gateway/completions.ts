import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { z } from "zod";
import { parseJsonBody } from "../web/json-body.js";
import { invalidInput } from "../web/zod-error.js";
import { ECHO_MODEL_ID } from "./catalog.js";
import { completionChars } from "./completion-shapes.js";
import { sleep, words } from "./echo.js";
import type { Endpoint, PlannedRequest } from "./endpoint.js";
import { planRequest } from "./request-plan.js";
import { chatRequestSchema } from "./request-validation.js";

/** The most prompts one request may carry (each is answered with its own `n` choices). */
const MAX_PROMPTS = 128;

/** The legacy `prompt` form: chat's fields, `prompt` instead of `messages`. */
const completionRequestSchema = chatRequestSchema.omit({ messages: true }).extend({
  prompt: z.union([z.string(), z.array(z.string()).min(1).max(MAX_PROMPTS)]),
});

/** The prompts of a request, as a list. */
function promptsOf(request: PlannedRequest): string[] {
  const prompt = request.prompt;
  return Array.isArray(prompt) ? (prompt as string[]) : [String(prompt ?? "")];
}

/**
 * `POST /api/v1/completions`, the legacy `prompt` form (a string or a list of strings), forwarded
 * to an upstream's `/completions`; answered as `text_completion` objects whose choices carry
 * `text`. A list of prompts is answered with `n` choices for each, so its worst case is
 * reserved that many times over.
 */
export const COMPLETIONS_ENDPOINT: Endpoint = {
  apiType: "completions",
  path: "/completions",
  chunkObject: "text_completion",
  parse(text) {
    const parsed = completionRequestSchema.safeParse(parseJsonBody(text));
    if (!parsed.success) throw invalidInput(parsed.error);
    return { request: parsed.data, original: parsed.data };
  },
  plan(route, request, bodyBytes, key, settings, fallbacks) {
    const prompts = promptsOf(request).length;
    if (prompts === 1) return planRequest(route, request, bodyBytes, key, settings, fallbacks);
    // Priced as `n` × prompts choices; the upstream still gets the client's own `n`/`best_of`.
    const times = (count: number | null | undefined) => (count == null ? count : count * prompts);
    const plan = planRequest(
      route,
      { ...request, n: times(request.n ?? 1), best_of: times(request.best_of) },
      bodyBytes,
      key,
      settings,
      fallbacks,
    );
    const body = { ...plan.upstreamBody };
    for (const field of ["n", "best_of"] as const) {
      if (request[field] == null) delete body[field];
      else body[field] = request[field];
    }
    return { ...plan, upstreamBody: body };
  },
  echo: (request, maxTokens, delayMs, signal) =>
    echoText(promptsOf(request), request.stream === true, maxTokens, delayMs, signal),
  generatedChars: completionChars,
};

/**
 * `keyport/echo` in the `prompt` form: each prompt answered with itself, word by word (one choice
 * per prompt), as an upstream's `/completions` answers, JSON or SSE ending with usage.
 */
function echoText(
  prompts: readonly string[],
  stream: boolean,
  maxTokens: number,
  delayMs: number,
  signal: AbortSignal,
): Readable {
  const id = `gen-echo-${randomBytes(8).toString("hex")}`;
  const created = Math.floor(Date.now() / 1000);
  const answers = prompts.map((prompt) => {
    const all = words(prompt);
    const reply = all.length > 0 ? all : ["(nothing", "to", "echo)"];
    const answer = reply.slice(0, maxTokens);
    return { answer, finish: answer.length < reply.length ? "length" : "stop" };
  });
  const promptTokens = Math.max(
    1,
    prompts.reduce((sum, p) => sum + words(p).length, 0),
  );
  const completionTokens = answers.reduce((sum, a) => sum + a.answer.length, 0);
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
  const head = { id, object: "text_completion", created, model: ECHO_MODEL_ID };
  if (!stream) {
    const choices = answers.map((a, index) => ({
      index,
      text: a.answer.join(" "),
      finish_reason: a.finish,
      logprobs: null,
    }));
    return Readable.from([Buffer.from(JSON.stringify({ ...head, choices, usage }))]);
  }
  const chunk = (fields: Record<string, unknown>) =>
    Buffer.from(`data: ${JSON.stringify({ ...head, ...fields })}\n\n`);
  async function* chunks(): AsyncGenerator<Buffer> {
    for (const [index, { answer, finish }] of answers.entries()) {
      for (const [at, word] of answer.entries()) {
        if (delayMs > 0) await sleep(delayMs, signal);
        if (signal.aborted) throw signal.reason;
        const text = at === 0 ? word : ` ${word}`;
        yield chunk({ choices: [{ index, text, finish_reason: null, logprobs: null }] });
      }
      yield chunk({ choices: [{ index, text: "", finish_reason: finish, logprobs: null }] });
    }
    if (signal.aborted) throw signal.reason;
    yield Buffer.concat([chunk({ choices: [], usage }), Buffer.from("data: [DONE]\n\n")]);
  }
  return Readable.from(chunks(), { objectMode: false });
}
