// PostgreSQL mode: the code→key exchange and the gateway (non-streamed chat completions through a
// minimal upstream) on one `keyport serve` against two on the same PostgreSQL database, 50
// connections in all (one wrk per instance, 25 each, run at once). wrk, the instances, the
// upstream and PostgreSQL share this machine's cores, so a second instance can only help as far as
// cores are free. Loopback only; bounded in time; any non-2xx fails the run.
// Run: BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/scale-out.ts
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { MODEL } from "./fake-upstream.js";
import {
  exchangeKey,
  mintCodes,
  prepareAccount,
  startKeyport,
  writeBodies,
} from "./support/keyport.js";
import { freePort, startProcess, stopProcess } from "./support/processes.js";
import { runWrk, type WrkResult } from "./support/wrk.js";

const serverUrl = process.env.BENCH_POSTGRES_URL ?? process.env.KEYPORT_TEST_POSTGRES_URL;
if (!serverUrl) {
  console.error(
    "bench/scale-out needs BENCH_POSTGRES_URL=postgres://… (a server it may add a schema to)",
  );
  process.exit(2);
}
const CONNECTIONS = 50;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** Codes minted per instance and second: more than one PostgreSQL-backed instance exchanges. */
const CODES_PER_SECOND = 12_000;
const TERMS = {
  label: "bench",
  limitMicros: 1_000_000 * 1_000_000,
  limitReset: "monthly" as const,
};

const schema = `kp_bench_${randomBytes(4).toString("hex")}`;
await admin(`CREATE SCHEMA ${schema}`);
const url = new URL(serverUrl);
url.searchParams.set("options", `-c search_path=${schema}`);
const database = url.href;
const dir = mkdtempSync(join(tmpdir(), "keyport-bench-scale-"));
const children: ChildProcess[] = [];
let files = 0;

try {
  const userId = await prepareAccount(database);
  const [gatewayCode] = await mintCodes(database, userId, 1, TERMS);
  const upstreamPort = await freePort();
  children.push(
    await startProcess(
      process.execPath,
      ["--import", "tsx", "bench/fake-upstream.ts", String(upstreamPort)],
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
  if (!gatewayCode) throw new Error("no code prepared");
  const key = await exchangeKey(bases[0] as string, gatewayCode);
  const chatBody = join(dir, "chat.json");
  writeFileSync(
    chatBody,
    JSON.stringify({
      model: MODEL,
      max_tokens: 64,
      messages: [{ role: "user", content: "Tell me about foxes." }],
    }),
  );

  /** One wrk per instance in `targets`, at once, CONNECTIONS split evenly; one combined result. */
  const spread = async (targets: readonly string[], exchange: boolean, seconds: number) => {
    const connections = CONNECTIONS / targets.length;
    // Each instance's codes minted before any load starts.
    const bodies: (string | undefined)[] = [];
    for (const _ of targets) {
      const codes = exchange
        ? await mintCodes(database, userId, CODES_PER_SECOND * seconds, TERMS)
        : undefined;
      bodies.push(codes && writeBodies(dir, `codes-${++files}.txt`, codes));
    }
    const runs = await Promise.all(
      targets.map((base, index) =>
        exchange
          ? runWrk({
              url: `${base}/api/v1/auth/keys`,
              connections,
              seconds,
              bodiesFile: bodies[index],
            })
          : runWrk({
              url: `${base}/api/v1/chat/completions`,
              connections,
              seconds,
              bodyFile: chatBody,
              headers: { Authorization: `Bearer ${key}` },
            }),
      ),
    );
    return combine(runs);
  };

  console.log(
    `bench/scale-out: one vs two keyport serve on one PostgreSQL, ${CONNECTIONS} connections (wrk -t1 per instance), ${SECONDS} s per run, node ${process.version}, ${cpus().length} CPUs (shared with wrk, the upstream and PostgreSQL)\n`,
  );
  let failed = false;
  for (const [name, exchange] of [
    ["exchange", true],
    ["gateway JSON", false],
  ] as const) {
    await spread(bases, exchange, 1);
    const one = await spread(bases.slice(0, 1), exchange, SECONDS);
    const two = await spread(bases, exchange, SECONDS);
    for (const [label, result] of [
      ["1 instance ", one],
      ["2 instances", two],
    ] as const) {
      const failures = result.failures > 0 ? `  FAILED: ${result.failureDetail}` : "";
      console.log(
        `${name.padEnd(12)} ${label}: ${result.perSecond.toFixed(0).padStart(6)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms${failures}`,
      );
      failed ||= result.failures > 0;
    }
    console.log(`${name.padEnd(12)} two/one: ${(two.perSecond / one.perSecond).toFixed(2)}×\n`);
  }
  if (failed) {
    console.log("Some responses were not 2xx: the figures above are not valid.");
    process.exitCode = 1;
  }
} finally {
  for (const child of children.reverse()) await stopProcess(child);
  rmSync(dir, { recursive: true, force: true });
  await admin(`DROP SCHEMA ${schema} CASCADE`);
}

/** Runs made at once, as one: summed rates; the slower run's percentiles (an upper bound). */
function combine(runs: readonly WrkResult[]): WrkResult {
  const failed = runs.filter((run) => run.failures > 0);
  return {
    requests: runs.reduce((sum, run) => sum + run.requests, 0),
    seconds: Math.max(...runs.map((run) => run.seconds)),
    perSecond: runs.reduce((sum, run) => sum + run.perSecond, 0),
    p50Ms: Math.max(...runs.map((run) => run.p50Ms)),
    p99Ms: Math.max(...runs.map((run) => run.p99Ms)),
    failures: failed.reduce((sum, run) => sum + run.failures, 0),
    failureDetail: failed.map((run) => run.failureDetail).join("; "),
    ranOut: runs.reduce((sum, run) => sum + run.ranOut, 0),
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
