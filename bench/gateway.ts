// The gateway's overhead: the same chat-completions workload sent straight to a minimal
// OpenAI-compatible upstream (node:http) and through Keyport (real key check, atomic reservation,
// settle transaction with its request record, on a SQLite file in WAL mode), non-streaming and
// streaming, at concurrency 1 and 50. Upstream, Keyport and the load generator each run in their
// own process. Loopback only; bounded in count and time; every response is checked.
// Run: node --import tsx bench/gateway.ts
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { createServer as createNetServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, openStore, systemClock } from "@keyport/server";

const MODEL = "bench/model";
const WORDS = ["The", "quick", "brown", "fox", "jumps"];
const ANSWER = WORDS.join(" ");
const USAGE = { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 };
// BENCH_CONCURRENCY=1 (or 50) runs only that level, e.g. to profile it with BENCH_PROFILE=1.
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

interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "keyport-bench-gateway-"));
  const database = join(dir, "keyport.sqlite");
  const upstreamPort = await freePort();
  const keyportPort = await freePort();
  const prepared = await prepareCode(database);
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
      await startProcess(
        process.execPath,
        [
          ...(process.env.BENCH_PROFILE
            ? [
                "--cpu-prof",
                "--cpu-prof-dir=/tmp/prof-gateway",
                `--cpu-prof-interval=${process.env.BENCH_PROFILE_INTERVAL ?? "1000"}`,
              ]
            : []),
          "packages/cli/bin/keyport.mjs",
          "serve",
          "--port",
          String(keyportPort),
          "--database",
          database,
        ],
        `http://127.0.0.1:${keyportPort}/healthz`,
        {
          KEYPORT_UPSTREAMS: JSON.stringify(upstreams),
          KEYPORT_EXCHANGE_RATE_LIMIT: "1000",
        },
      ),
    );
    const keyportUrl = `http://127.0.0.1:${keyportPort}`;
    const key = await exchange(keyportUrl, prepared);
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
      await runLoad({ ...direct, body, check, concurrency: 10, total: WARMUP, maxSeconds: 10 });
      await runLoad({ ...viaKeyport, body, check, concurrency: 10, total: WARMUP, maxSeconds: 10 });
      for (const run of RUNS) {
        const baseline = await runLoad({ ...direct, body, check, ...run });
        const result = await runLoad({ ...viaKeyport, body, check, ...run });
        const label = `${stream ? "stream" : "json  "} c=${String(run.concurrency).padEnd(2)}`;
        console.log(row(`direct  ${label}`, baseline));
        console.log(row(`keyport ${label}`, result, baseline));
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

/** An account and a code as the consent page would store them; the key comes from the HTTP exchange. */
async function prepareCode(path: string): Promise<{ code: string; verifier: string }> {
  const store = await openStore(path);
  const user = await createAccount(
    { store, clock: systemClock },
    "bench@example.com",
    "bench password",
  );
  if (!user) throw new Error("could not create the bench account");
  const code = randomBytes(32).toString("base64url");
  const verifier = randomBytes(32).toString("base64url");
  const now = systemClock();
  await store.createCode({
    codeHash: createHash("sha256").update(code).digest("hex"),
    userId: user.id,
    codeChallenge: createHash("sha256").update(verifier).digest("base64url"),
    codeChallengeMethod: "S256",
    callbackUrl: "http://localhost:3000/callback",
    keyLabel: "bench gateway",
    limitMicros: 1_000_000 * 1_000_000, // a million credits: every request reserves and settles
    limitReset: "monthly",
    keyExpiresAt: null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 3_600_000),
  });
  await store.close();
  return { code, verifier };
}

async function exchange(
  baseUrl: string,
  prepared: { code: string; verifier: string },
): Promise<string> {
  const response = await fetch(`${baseUrl}/api/v1/auth/keys`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      code: prepared.code,
      code_verifier: prepared.verifier,
      code_challenge_method: "S256",
    }),
  });
  const { key } = (await response.json()) as { key?: string };
  if (!key) throw new Error(`exchange failed with ${response.status}`);
  return key;
}

/** `total` requests with `concurrency` in flight over keep-alive connections, at most `maxSeconds`. */
async function runLoad(options: {
  base: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  check: (status: number, body: string) => void;
  concurrency: number;
  total: number;
  maxSeconds: number;
}): Promise<LoadResult> {
  const url = new URL(options.base);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const headers = {
    ...options.headers,
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(options.body)),
  };
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let issued = 0;
  const started = performance.now();
  const deadline = started + options.maxSeconds * 1000;
  const send = () =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        { agent, host: url.hostname, port: url.port, method: "POST", path: options.path, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(options.body);
    });
  async function worker() {
    while (issued < options.total && performance.now() < deadline) {
      issued += 1;
      const t0 = performance.now();
      try {
        const { status, body } = await send();
        options.check(status, body);
      } catch (error) {
        errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requests: latencies.length,
    errors,
    firstError,
    perSecond: latencies.length / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

function row(label: string, result: LoadResult, baseline?: LoadResult): string {
  const ratio = baseline ? `${(result.perSecond / baseline.perSecond).toFixed(2)}x direct` : "";
  const errors = result.errors ? `  ERRORS: ${result.errors} (${result.firstError})` : "";
  return `${label.padEnd(22)} ${result.perSecond.toFixed(0).padStart(7)} req/s  p50 ${result.p50Ms.toFixed(3).padStart(7)} ms  p99 ${result.p99Ms
    .toFixed(3)
    .padStart(7)} ms  n=${String(result.requests).padEnd(6)} ${ratio}${errors}`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function startProcess(
  command: string,
  args: string[],
  readyUrl: string,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null)
      throw new Error(`${command} ${args.join(" ")} exited with ${child.exitCode}`);
    try {
      if ((await fetch(readyUrl)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill("SIGTERM");
  throw new Error(`${readyUrl} did not answer within 20 s`);
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
