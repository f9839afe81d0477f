// The gateway's overhead: the same chat-completions workload sent straight to a minimal
// OpenAI-compatible upstream (node:http) and through Keyport (real key check, atomic reservation,
// settle transaction with its request record, on a SQLite file in WAL mode), non-streaming and
// streaming, at concurrency 1 and 50. Upstream, Keyport and the load generator each run in their
// own process. Loopback only; bounded in count and time; every response is checked.
// Run: node --import tsx bench/gateway.ts
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { exchangeKey, prepareCodes, startKeyport } from "./support/keyport.js";
import { formatRow, type LoadResult, runLoad } from "./support/load.js";
import { freePort, startProcess, stopProcess } from "./support/processes.js";

const MODEL = "bench/model";
const WORDS = ["The", "quick", "brown", "fox", "jumps"];
const ANSWER = WORDS.join(" ");
const USAGE = { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 };
// BENCH_CONCURRENCY=1 (or 50) runs only that level, e.g. to profile it with BENCH_CPU_PROFILE=DIR.
const RUNS = [
  { concurrency: 1, total: 3_000, maxSeconds: 10 },
  { concurrency: 50, total: 20_000, maxSeconds: 12 },
].filter(
  (run) =>
    !process.env.BENCH_CONCURRENCY || String(run.concurrency) === process.env.BENCH_CONCURRENCY,
);
const WARMUP = 1_500;

if (process.argv[2] === "--upstream") {
  serveUpstream(Number(process.argv[3]));
} else {
  await main();
}

/** The minimal OpenAI-compatible upstream: a fixed answer, as JSON or as SSE chunks. */
function serveUpstream(port: number): void {
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
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "keyport-bench-gateway-"));
  const database = join(dir, "keyport.sqlite");
  const upstreamPort = await freePort();
  const keyportPort = await freePort();
  const [prepared] = await prepareCodes(database, 1, {
    label: "bench gateway",
    limitMicros: 1_000_000 * 1_000_000, // a million credits: every request reserves and settles
    limitReset: "monthly",
  });
  if (!prepared) throw new Error("no code prepared");
  const children: ChildProcess[] = [];
  try {
    children.push(
      await startProcess(
        process.execPath,
        ["--import", "tsx", "bench/gateway.ts", "--upstream", String(upstreamPort)],
        `http://127.0.0.1:${upstreamPort}/`,
      ),
    );
    const upstreams = [
      {
        name: "bench",
        baseUrl: `http://127.0.0.1:${upstreamPort}/v1`,
        models: [{ id: MODEL, promptPrice: 0.000001, completionPrice: 0.000002, maxTokens: 256 }],
      },
    ];
    children.push(
      await startKeyport(keyportPort, database, {
        KEYPORT_UPSTREAMS: JSON.stringify(upstreams),
        KEYPORT_EXCHANGE_RATE_LIMIT: "1000",
        // One key carries the whole load: its abuse limits (on by default) would cap the figures.
        KEYPORT_GATEWAY_RATE_LIMIT: "0",
        KEYPORT_GATEWAY_MAX_IN_FLIGHT: "0",
      }),
    );
    const keyportUrl = `http://127.0.0.1:${keyportPort}`;
    const key = await exchangeKey(keyportUrl, prepared);
    const direct = {
      base: `http://127.0.0.1:${upstreamPort}`,
      path: "/v1/chat/completions",
      headers: {},
    };
    const viaKeyport = {
      base: keyportUrl,
      path: "/api/v1/chat/completions",
      headers: { authorization: `Bearer ${key}` },
    };

    console.log(
      `bench/gateway: POST chat/completions, direct vs through Keyport (SQLite file, WAL), node ${process.version}, ${cpus().length} CPUs\n`,
    );
    let failed = false;
    // BENCH_STREAM=true (or false) runs only streaming (or only JSON) requests.
    const modes = [false, true].filter(
      (mode) => !process.env.BENCH_STREAM || String(mode) === process.env.BENCH_STREAM,
    );
    for (const stream of modes) {
      const body = JSON.stringify({
        model: MODEL,
        stream,
        max_tokens: 64,
        messages: [{ role: "user", content: "Tell me about foxes." }],
      });
      const check = stream ? checkStream : checkJson;
      const load = (
        target: typeof direct,
        run: { concurrency: number; total: number; maxSeconds: number },
      ) =>
        runLoad({
          baseUrl: target.base,
          ...run,
          next: () => ({
            method: "POST",
            path: target.path,
            headers: { ...target.headers, "content-type": "application/json" },
            body,
            check,
          }),
        });
      await load(direct, { concurrency: 10, total: WARMUP, maxSeconds: 10 });
      await load(viaKeyport, { concurrency: 10, total: WARMUP, maxSeconds: 10 });
      for (const run of RUNS) {
        const baseline: LoadResult = await load(direct, run);
        const result = await load(viaKeyport, run);
        const label = `${stream ? "stream" : "json  "} c=${String(run.concurrency).padEnd(2)}`;
        console.log(formatRow(`direct  ${label}`, baseline));
        console.log(formatRow(`keyport ${label}`, result, baseline));
        console.log(`  added p50 latency: ${(result.p50Ms - baseline.p50Ms).toFixed(3)} ms\n`);
        failed ||= result.errors > 0 || baseline.errors > 0;
      }
    }
    const info = (await (
      await fetch(`${keyportUrl}/api/v1/key`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { data: { usage: number } };
    console.log(`metered usage of the bench key: ${info.data.usage} credits`);
    if (failed) {
      console.log("Some responses were wrong: the figures above are not valid.");
      process.exitCode = 1;
    }
  } finally {
    for (const child of children.reverse()) await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkJson(status: number, body: string): void {
  const parsed = JSON.parse(body) as {
    choices?: { message?: { content?: unknown } }[];
    usage?: { completion_tokens?: unknown };
  };
  if (
    status !== 200 ||
    parsed.choices?.[0]?.message?.content !== ANSWER ||
    parsed.usage?.completion_tokens !== 5
  ) {
    throw new Error(`${status} ${body.slice(0, 160)}`);
  }
}

function checkStream(status: number, body: string): void {
  let text = "";
  let usage = false;
  for (const line of body.split("\n")) {
    if (!line.startsWith("data: {")) continue;
    const chunk = JSON.parse(line.slice(6)) as {
      choices: { delta?: { content?: string } }[];
      usage?: unknown;
    };
    text += chunk.choices[0]?.delta?.content ?? "";
    usage ||= chunk.usage !== undefined;
  }
  if (status !== 200 || text !== ANSWER || !usage || !body.trimEnd().endsWith("data: [DONE]")) {
    throw new Error(`${status} ${body.slice(0, 160)}`);
  }
}
