// Instructions per request, counted by valgrind's callgrind in each server process: close to the
// same for the same code and requests, so it ranks changes that the noise of req/s on a shared VM
// hides (runs minutes apart differ by up to 25% there). Run it on a quiet machine all the same:
// timers fire by the clock, and the exchange counted 0.63 M per request with the test suite
// running alongside, against 0.53 M alone. It counts user space only: the kernel's part (socket
// writes, the log's pwrite and fdatasync) is not in it.
// Each server runs under callgrind after a warm-up, its counters zeroed, then a fixed number of
// requests are sent one at a time and the counters dumped. Workloads: the exchange (vs the bare
// node:http server) and the gateway's JSON call (vs its upstream called directly).
// Run: npm run build && node --import tsx bench/instructions.ts [exchange|gateway-json]
// Settings: BENCH_REQUESTS (measured, default 500), BENCH_WARM_UP (requests first, default 8000),
// BENCH_KEYPORT_DIR (also count that checkout's built server, e.g. the code before a change),
// BENCH_CALLGRIND_DIR (keep each count's dump there, for callgrind_annotate).
import { type ChildProcess, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { MODEL } from "./fake-upstream.js";
import {
  exchangeKey,
  mintCodes,
  type PreparedCode,
  prepareAccount,
  prepareCodes,
  serveArguments,
} from "./support/keyport.js";
import { freePort, startProcess, stopProcess } from "./support/processes.js";

const WARM_UP = Number(process.env.BENCH_WARM_UP ?? 8_000);
const MEASURED = Number(process.env.BENCH_REQUESTS ?? 500);
/** Node under callgrind starts some 50 times slower. */
const START_ATTEMPTS = 3_000;

interface Counted {
  readonly child: ChildProcess;
  readonly outFile: string;
}

/** Starts `node args…` under callgrind and waits until `readyUrl` answers. */
async function underCallgrind(
  dir: string,
  name: string,
  args: string[],
  readyUrl: string,
  env: Record<string, string> = {},
): Promise<Counted> {
  const outFile = join(dir, `callgrind.${name}`);
  const child = await startProcess(
    "valgrind",
    // One thread for V8's compilers and collector too: their work lands in the count the same way
    // on every run, instead of on background threads whose timing varies.
    [
      "--tool=callgrind",
      `--callgrind-out-file=${outFile}`,
      process.execPath,
      "--single-threaded",
      ...args,
    ],
    readyUrl,
    env,
    START_ATTEMPTS,
  );
  return { child, outFile };
}

/** The instructions `counted` executes while `send` runs. */
async function instructions(counted: Counted, send: () => Promise<void>): Promise<number> {
  const control = (command: string) => {
    const done = spawnSync("callgrind_control", [command, String(counted.child.pid)], {
      encoding: "utf8",
    });
    if (done.status !== 0) throw new Error(`callgrind_control ${command}: ${done.stderr}`);
  };
  control("-z");
  await send();
  control("-d");
  const dump = readFileSync(`${counted.outFile}.1`, "utf8");
  const keep = process.env.BENCH_CALLGRIND_DIR;
  if (keep) copyFileSync(`${counted.outFile}.1`, join(keep, basename(counted.outFile)));
  rmSync(`${counted.outFile}.1`);
  const totals = /^totals:\s+(\d+)/m.exec(dump)?.[1];
  if (!totals) throw new Error(`no totals in ${counted.outFile}.1`);
  return Number(totals);
}

/** POSTs `bodies` one after the other; every answer must be a 2xx. */
async function postEach(
  url: string,
  bodies: readonly string[],
  headers: Record<string, string> = {},
): Promise<void> {
  for (const body of bodies) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  }
}

/** Instructions per request of one server: warmed up, then `MEASURED` requests counted. */
async function perRequest(
  counted: Counted,
  url: string,
  bodies: readonly string[],
  headers?: Record<string, string>,
): Promise<number> {
  try {
    await postEach(url, bodies.slice(0, WARM_UP), headers);
    const total = await instructions(counted, () =>
      postEach(url, bodies.slice(WARM_UP, WARM_UP + MEASURED), headers),
    );
    return total / MEASURED;
  } finally {
    await stopProcess(counted.child);
  }
}

/** `keyport serve` of the checkout at `root`, built, under callgrind. */
async function keyportUnderCallgrind(
  dir: string,
  root: string,
  database: string,
  env: Record<string, string>,
): Promise<{ counted: Counted; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const counted = await underCallgrind(
    dir,
    `keyport-${port}`,
    serveArguments(root, port, database),
    `${url}/healthz`,
    env,
  );
  return { counted, url };
}

const exchangeBody = ({ code, verifier }: PreparedCode) =>
  JSON.stringify({ code, code_verifier: verifier, code_challenge_method: "S256" });

/** Exchange: instructions per code → key through Keyport at `root`, or per bare JSON answer. */
async function exchange(dir: string, root: string | undefined): Promise<number> {
  const count = WARM_UP + MEASURED;
  if (root === undefined) {
    // The bare server only parses the body: the same shape, no codes to mint.
    const body = exchangeBody({ code: "c".repeat(43), verifier: "v".repeat(43) });
    const barePort = await freePort();
    const bare = await underCallgrind(
      dir,
      "bare",
      ["--import", "tsx", "bench/bare-json-server.ts", String(barePort)],
      `http://127.0.0.1:${barePort}/healthz`,
    );
    const bodies = Array.from({ length: count }, () => body);
    return perRequest(bare, `http://127.0.0.1:${barePort}/api/v1/auth/keys`, bodies);
  }
  const database = join(dir, `exchange-${Math.random().toString(36).slice(2)}.sqlite`);
  const userId = await prepareAccount(database);
  const codes = await mintCodes(database, userId, count, {
    label: "bench",
    limitMicros: null,
    limitReset: null,
  });
  const { counted, url } = await keyportUnderCallgrind(dir, root, database, {
    KEYPORT_EXCHANGE_RATE_LIMIT: "1000000000",
  });
  return perRequest(counted, `${url}/api/v1/auth/keys`, codes.map(exchangeBody));
}

/**
 * Gateway JSON: instructions per chat completion in Keyport at `root` (its upstream outside
 * callgrind), or in the upstream called directly.
 */
async function gatewayJson(dir: string, root: string | undefined): Promise<number> {
  const database = join(dir, `gateway-${Math.random().toString(36).slice(2)}.sqlite`);
  const [prepared] = await prepareCodes(database, 1, {
    label: "bench gateway",
    limitMicros: 1_000_000 * 1_000_000,
    limitReset: "monthly",
  });
  if (!prepared) throw new Error("no code prepared");
  const upstreamPort = await freePort();
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  const body = JSON.stringify({
    model: MODEL,
    max_tokens: 64,
    messages: [{ role: "user", content: "Tell me about foxes." }],
  });
  const bodies = Array.from({ length: WARM_UP + MEASURED }, () => body);
  const upstreams = [
    {
      name: "bench",
      baseUrl: `${upstreamUrl}/v1`,
      models: [{ id: MODEL, promptPrice: 0.000001, completionPrice: 0.000002, maxTokens: 256 }],
    },
  ];
  if (root === undefined) {
    const direct = await underCallgrind(
      dir,
      "upstream",
      ["--import", "tsx", "bench/fake-upstream.ts", String(upstreamPort)],
      `${upstreamUrl}/`,
    );
    return perRequest(direct, `${upstreamUrl}/v1/chat/completions`, bodies);
  }
  const upstream = await startProcess(
    process.execPath,
    ["--import", "tsx", "bench/fake-upstream.ts", String(upstreamPort)],
    `${upstreamUrl}/`,
  );
  try {
    const { counted, url } = await keyportUnderCallgrind(dir, root, database, {
      KEYPORT_UPSTREAMS: JSON.stringify(upstreams),
      KEYPORT_GATEWAY_RATE_LIMIT: "0",
      KEYPORT_GATEWAY_MAX_IN_FLIGHT: "0",
    });
    const key = await exchangeKey(url, prepared);
    return await perRequest(counted, `${url}/api/v1/chat/completions`, bodies, {
      authorization: `Bearer ${key}`,
    });
  } finally {
    await stopProcess(upstream);
  }
}

const WORKLOADS = { exchange, "gateway-json": gatewayJson } as const;
type WorkloadName = keyof typeof WORKLOADS;

const chosen = process.argv.slice(2);
for (const name of chosen) {
  if (!(name in WORKLOADS)) {
    console.error(
      `instructions: unknown workload ${name} (one of ${Object.keys(WORKLOADS).join(", ")})`,
    );
    process.exit(2);
  }
}
const selected = (chosen.length > 0 ? chosen : Object.keys(WORKLOADS)) as WorkloadName[];
const checkouts = [
  { name: "this checkout", root: "." },
  ...(process.env.BENCH_KEYPORT_DIR
    ? [{ name: process.env.BENCH_KEYPORT_DIR, root: resolve(process.env.BENCH_KEYPORT_DIR) }]
    : []),
];
const millions = (count: number) => `${(count / 1e6).toFixed(2)} M`;
const dir = mkdtempSync(join(tmpdir(), "keyport-instructions-"));
const rows: string[] = [];
try {
  for (const workload of selected) {
    const baseline = await WORKLOADS[workload](dir, undefined);
    for (const checkout of checkouts) {
      const keyport = await WORKLOADS[workload](dir, checkout.root);
      const row = `| ${workload} | ${checkout.name} | ${millions(baseline)} | ${millions(keyport)} | ${(keyport / baseline).toFixed(1)}× |`;
      console.log(row);
      rows.push(row);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `\n${MEASURED} requests counted per server, one at a time, after ${WARM_UP} to warm up (user-space instructions, callgrind, V8 on one thread)\n`,
);
console.log(
  "| workload | Keyport | baseline per request | Keyport per request | Keyport ÷ baseline |",
);
console.log("| --- | --- | --- | --- | --- |");
for (const row of rows) console.log(row);
