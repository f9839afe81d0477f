// Keyport against same-run baselines, driven by wrk (C, one thread): the code→key exchange vs a
// bare node:http JSON server, and the gateway (JSON and streamed) vs calling its upstream
// directly, at 1 and 50 connections; and, as the floors under any Node server doing the same job,
// a bare durable exchange (bench/bare-exchange.ts) and bare proxies on node:http and on undici
// (bench/bare-proxy.ts) against the same baselines. Prints each run as it goes, then a Markdown
// table; exits non-zero if any response was not a 2xx or any server-side check failed. Loopback
// only, bounded in time (about five minutes with the defaults).
// Run: npm run bench [-- exchange exchange-floor gateway-json gateway-stream gateway-floor]
// Settings: BENCH_SECONDS (per run, default 5), BENCH_ROUNDS (default 2), BENCH_CONCURRENCY
// (e.g. "50"), BENCH_KEYPORT_DIR (measure another checkout's server), BENCH_CPU_PROFILE=DIR.
import type { ChildProcess } from "node:child_process";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { exchangeWorkloads } from "./exchange.js";
import { gatewayWorkloads } from "./gateway.js";
import { type Comparison, compare, type Workload } from "./support/compare.js";
import { stopProcess } from "./support/processes.js";
import { markdownTable } from "./support/table.js";

const WORKLOADS = [
  "exchange",
  "exchange-floor",
  "gateway-json",
  "gateway-stream",
  "gateway-floor",
] as const;
type WorkloadName = (typeof WORKLOADS)[number];

const chosen = process.argv.slice(2) as WorkloadName[];
for (const name of chosen) {
  if (!WORKLOADS.includes(name)) {
    console.error(`bench: unknown workload ${name} (one of ${WORKLOADS.join(", ")})`);
    process.exit(2);
  }
}
const selected = chosen.length > 0 ? chosen : [...WORKLOADS];
const options = {
  seconds: Number(process.env.BENCH_SECONDS ?? 5),
  rounds: Number(process.env.BENCH_ROUNDS ?? 2),
  warmup: 2,
  concurrencies: (process.env.BENCH_CONCURRENCY ?? "1,50").split(",").map(Number),
};

// `wrk -v` prints its version and usage, and exits 1.
const wrkVersion = spawnSync("wrk", ["-v"], { encoding: "utf8" }).stdout.split("\n")[0]?.trim();
const cpu = cpus()[0]?.model ?? "unknown CPU";
const memory = /^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1];
console.log(
  `bench: node ${process.version}, ${wrkVersion} (-t1), ${cpus().length} × ${cpu}, ${memory ? `${Math.round(Number(memory) / 1048576)} GiB` : "?"}, load average ${loadavg()
    .map((value) => value.toFixed(2))
    .join(" ")}`,
);
console.log(
  `bench: ${options.rounds} round(s) of ${options.seconds} s per run${process.env.BENCH_KEYPORT_DIR ? `, Keyport from ${process.env.BENCH_KEYPORT_DIR}` : ""}\n`,
);

const dir = mkdtempSync(join(tmpdir(), "keyport-bench-"));
const children: ChildProcess[] = [];
const comparisons: Comparison[] = [];
const started = Date.now();
try {
  const workloads: Workload[] = [];
  if (selected.some((name) => name.startsWith("exchange"))) {
    const exchange = await exchangeWorkloads(dir, children);
    if (selected.includes("exchange")) workloads.push(exchange.exchange);
    if (selected.includes("exchange-floor")) workloads.push(exchange.floor);
  }
  if (selected.some((name) => name.startsWith("gateway"))) {
    const gateway = await gatewayWorkloads(dir, children);
    if (selected.includes("gateway-json")) workloads.push(gateway.json);
    if (selected.includes("gateway-stream")) workloads.push(gateway.stream);
    if (selected.includes("gateway-floor")) workloads.push(...gateway.floor);
  }
  for (const workload of workloads)
    comparisons.push(...(await compare(workload, options, (line) => console.log(line))));
} finally {
  for (const child of children.reverse()) await stopProcess(child);
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\n${markdownTable(comparisons)}\n`);
console.log(
  `bench: ${Math.round((Date.now() - started) / 1000)} s, load average after ${loadavg()
    .map((value) => value.toFixed(2))
    .join(" ")}`,
);
const problems = comparisons.flatMap((comparison) => comparison.problems);
if (problems.length > 0) {
  console.log(`\nThe figures above are not valid; wrong answers:\n${problems.join("\n")}`);
  process.exitCode = 1;
}
