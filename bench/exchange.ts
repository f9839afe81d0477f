// Code→key exchanges per second against the real server on a SQLite file, beside a bare node:http
// server answering a small JSON POST, measured in the same run. Loopback only; bounded in count
// and time. Run: npm run bench:exchange
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exchangeRequests, prepareCodes, startKeyport } from "./support/keyport.js";
import { formatRow, type LoadRequest, type LoadResult, runLoad } from "./support/load.js";
import { freePort, startProcess, stopProcess } from "./support/processes.js";

const RUNS = [
  { concurrency: 1, total: 3_000, maxSeconds: 15 },
  { concurrency: 50, total: 20_000, maxSeconds: 20 },
];
const WARMUP = 1_000;

const dir = mkdtempSync(join(tmpdir(), "keyport-bench-"));
const database = join(dir, "keyport.sqlite");
const codes = await prepareCodes(database, WARMUP + RUNS.reduce((sum, run) => sum + run.total, 0), {
  label: "bench",
  limitMicros: null,
  limitReset: null,
});

const barePort = await freePort();
const keyportPort = await freePort();
const bare = await startProcess(
  process.execPath,
  ["--import", "tsx", "bench/bare-json-server.ts", String(barePort)],
  `http://127.0.0.1:${barePort}/healthz`,
);
const keyport = await startKeyport(keyportPort, database, {
  KEYPORT_EXCHANGE_RATE_LIMIT: "1000000000",
});

const exchange = exchangeRequests(codes);
const bareExchange = (index: number): LoadRequest => ({
  method: "POST",
  path: "/api/v1/auth/keys",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({
    code: `code-${index}`,
    code_verifier: "v".repeat(43),
    code_challenge_method: "S256",
  }),
  check(status, body) {
    if (status !== 200 || typeof (JSON.parse(body) as { key?: unknown }).key !== "string") {
      throw new Error(`${status} ${body.slice(0, 120)}`);
    }
  },
});

try {
  const bareUrl = `http://127.0.0.1:${barePort}`;
  const keyportUrl = `http://127.0.0.1:${keyportPort}`;
  await runLoad({
    baseUrl: bareUrl,
    concurrency: 10,
    total: WARMUP,
    maxSeconds: 10,
    next: bareExchange,
  });
  await runLoad({
    baseUrl: keyportUrl,
    concurrency: 10,
    total: WARMUP,
    maxSeconds: 10,
    next: exchange,
  });
  console.log(
    `bench/exchange: POST /api/v1/auth/keys, SQLite file (WAL), node ${process.version}\n`,
  );
  let failed = false;
  for (const run of RUNS) {
    const baseline: LoadResult = await runLoad({ baseUrl: bareUrl, ...run, next: bareExchange });
    const result = await runLoad({ baseUrl: keyportUrl, ...run, next: exchange });
    console.log(formatRow(`bare node:http  c=${run.concurrency}`, baseline));
    console.log(formatRow(`keyport exchange c=${run.concurrency}`, result, baseline));
    console.log(`  added p50 latency: ${(result.p50Ms - baseline.p50Ms).toFixed(3)} ms\n`);
    failed ||= result.errors > 0 || baseline.errors > 0;
  }
  if (failed) {
    console.log("Some responses were wrong: the figures above are not valid.");
    process.exitCode = 1;
  }
} finally {
  await stopProcess(keyport);
  await stopProcess(bare);
  rmSync(dir, { recursive: true, force: true });
}
