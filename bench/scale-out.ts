// PostgreSQL mode: the code→key exchange and the gateway (non-streamed chat completions through a
// minimal upstream) on one `keyport serve` against two on the same PostgreSQL database, at
// concurrency 50 (split evenly over the instances). The load generator, the instances, the
// upstream and PostgreSQL share this machine's cores, so a second instance can only help as far as
// cores are free. Loopback only; bounded in count and time; every response is checked.
// Run: BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/scale-out.ts
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import pg from "pg";
import {
  exchangeKey,
  exchangeRequests,
  type PreparedCode,
  prepareCodes,
  startKeyport,
} from "./support/keyport.js";
import { formatRow, type LoadRequest, type LoadResult, runLoad } from "./support/load.js";
import { freePort, startProcess, stopProcess } from "./support/processes.js";

const serverUrl = process.env.BENCH_POSTGRES_URL ?? process.env.KEYPORT_TEST_POSTGRES_URL;
if (!serverUrl) {
  console.error(
    "bench/scale-out needs BENCH_POSTGRES_URL=postgres://… (a server it may add a schema to)",
  );
  process.exit(2);
}
const CONCURRENCY = 50;
const EXCHANGES = 3_000;
const CHATS = 6_000;
const MAX_SECONDS = 8;
const WARMUP = 500;
const MODEL = "bench/model";

const schema = `kp_bench_${randomBytes(4).toString("hex")}`;
await admin(`CREATE SCHEMA ${schema}`);
const url = new URL(serverUrl);
url.searchParams.set("options", `-c search_path=${schema}`);
const database = url.href;
const children: ChildProcess[] = [];

try {
  // Two instances' worth of codes (plus warm-ups), and one code for the gateway's key.
  const codes = await prepareCodes(database, 2 * (EXCHANGES + WARMUP) + 1, {
    label: "bench",
    limitMicros: 1_000_000 * 1_000_000,
    limitReset: "monthly",
  });
  const gatewayCode = codes.pop() as PreparedCode;
  const upstreamPort = await freePort();
  children.push(
    await startProcess(
      process.execPath,
      ["--import", "tsx", "bench/gateway.ts", "--upstream", String(upstreamPort)],
      `http://127.0.0.1:${upstreamPort}/`,
    ),
  );
  const env = {
    KEYPORT_UPSTREAMS: JSON.stringify([
      {
        name: "bench",
        baseUrl: `http://127.0.0.1:${upstreamPort}/v1`,
        models: [{ id: MODEL, promptPrice: 0.000001, completionPrice: 0.000002, maxTokens: 256 }],
      },
    ]),
    KEYPORT_EXCHANGE_RATE_LIMIT: "1000000000",
    KEYPORT_GATEWAY_RATE_LIMIT: "0",
    KEYPORT_GATEWAY_MAX_IN_FLIGHT: "0",
  };
  const ports = [await freePort(), await freePort()];
  for (const port of ports) children.push(await startKeyport(port, database, env));
  const bases = ports.map((port) => `http://127.0.0.1:${port}`);
  const key = await exchangeKey(bases[0] as string, gatewayCode);

  const exchangeRequest = exchangeRequests(codes);
  const chatBody = JSON.stringify({
    model: MODEL,
    max_tokens: 64,
    messages: [{ role: "user", content: "Tell me about foxes." }],
  });
  const chatRequest = (): LoadRequest => ({
    method: "POST",
    path: "/api/v1/chat/completions",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: chatBody,
    check(status, body) {
      if (status !== 200 || !body.includes('"usage"'))
        throw new Error(`${status} ${body.slice(0, 120)}`);
    },
  });

  console.log(
    `bench/scale-out: one vs two keyport serve on one PostgreSQL, concurrency ${CONCURRENCY}, node ${process.version}, ${cpus().length} CPUs (shared with the load generator, the upstream and PostgreSQL)\n`,
  );
  let failed = false;
  for (const [name, total, next] of [
    ["exchange", EXCHANGES, exchangeRequest],
    ["gateway JSON", CHATS, chatRequest],
  ] as const) {
    await spread(bases, WARMUP, next);
    const one = await spread(bases.slice(0, 1), total, next);
    const two = await spread(bases, total, next);
    console.log(formatRow(`${name}, 1 instance`, one));
    console.log(formatRow(`${name}, 2 instances`, two, one));
    console.log("");
    failed ||= one.errors > 0 || two.errors > 0;
  }
  if (failed) {
    console.log("Some responses were wrong: the figures above are not valid.");
    process.exitCode = 1;
  }
} finally {
  for (const child of children.reverse()) await stopProcess(child);
  await admin(`DROP SCHEMA ${schema} CASCADE`);
}

/** `total` requests at concurrency 50 split evenly over `bases`, run at once; one combined result. */
async function spread(
  bases: readonly string[],
  total: number,
  next: () => LoadRequest,
): Promise<LoadResult> {
  const parts = await Promise.all(
    bases.map((baseUrl) =>
      runLoad({
        baseUrl,
        concurrency: CONCURRENCY / bases.length,
        total: Math.floor(total / bases.length),
        maxSeconds: MAX_SECONDS,
        next,
      }),
    ),
  );
  const requests = parts.reduce((sum, part) => sum + part.requests, 0);
  const seconds = Math.max(...parts.map((part) => part.seconds));
  return {
    requests,
    errors: parts.reduce((sum, part) => sum + part.errors, 0),
    firstError: parts.find((part) => part.firstError)?.firstError,
    seconds,
    perSecond: requests / seconds,
    // The slower instance's percentiles: an upper bound on the combined ones.
    p50Ms: Math.max(...parts.map((part) => part.p50Ms)),
    p99Ms: Math.max(...parts.map((part) => part.p99Ms)),
  };
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
