// A minimal OpenAI-compatible upstream for bench/: a fixed chat completion, as JSON or as SSE
// chunks with usage, in its own process. Run: node --import tsx bench/fake-upstream.ts PORT
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";

/** The model the fake upstream serves, and its fixed answer. */
export const MODEL = "bench/model";
const WORDS = ["The", "quick", "brown", "fox", "jumps"];
const ANSWER = WORDS.join(" ");
const USAGE = { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 };

function serve(port: number): void {
  const chunk = (fields: Record<string, unknown>) =>
    `data: ${JSON.stringify({ id: "gen-bench", object: "chat.completion.chunk", created: 1, model: MODEL, ...fields })}\n\n`;
  const streamed =
    chunk({
      choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
    }) +
    WORDS.map((word, i) =>
      chunk({
        choices: [
          { index: 0, delta: { content: i === 0 ? word : ` ${word}` }, finish_reason: null },
        ],
      }),
    ).join("") +
    chunk({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }) +
    chunk({ choices: [], usage: USAGE }) +
    "data: [DONE]\n\n";
  const completion = JSON.stringify({
    id: "gen-bench",
    object: "chat.completion",
    created: 1,
    model: MODEL,
    choices: [{ index: 0, message: { role: "assistant", content: ANSWER }, finish_reason: "stop" }],
    usage: USAGE,
  });
  const server = createServer((req, res) => {
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (part: Buffer) => chunks.push(part));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { stream?: boolean };
      if (body.stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(streamed);
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(completion);
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, "127.0.0.1");
  process.on("SIGTERM", () => process.exit(0));
}

// Run as a script (not when a bench imports MODEL).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  serve(Number(process.argv[2]));
}
