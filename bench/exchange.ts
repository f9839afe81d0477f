// The code→key exchange (POST /api/v1/auth/keys on a SQLite file, every key durable on return)
// beside a bare node:http server answering a small JSON POST. Each Keyport request redeems a
// fresh code, minted before its run and fed to wrk from a file; after each run the keys table must
// have grown by at least the 200s wrk counted. Run through bench/run.ts (npm run bench).
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import type { Workload } from "./support/compare.js";
import { mintCodes, prepareAccount, startKeyport, writeBodies } from "./support/keyport.js";
import { freePort, startProcess } from "./support/processes.js";

/** Codes minted per second and connection of a run whose rate is not known yet (a warm-up). */
const UNKNOWN_RATE_CODES_PER_CONNECTION = 5_000;
/** Codes minted per expected exchange: wrk stops at the time bound, not at the last code. */
const MARGIN = 1.6;
const TERMS = { label: "bench", limitMicros: null, limitReset: null };

/** Starts the bare server and Keyport in `dir`; the caller stops the returned processes. */
export async function exchangeWorkload(dir: string, children: ChildProcess[]): Promise<Workload> {
  const database = join(dir, "exchange.sqlite");
  const barePort = await freePort();
  const keyportPort = await freePort();
  children.push(
    await startProcess(
      process.execPath,
      ["--import", "tsx", "bench/bare-json-server.ts", String(barePort)],
      `http://127.0.0.1:${barePort}/healthz`,
    ),
  );
  // The schema and the account first, then the server (which runs the migrations again: a no-op).
  const userId = await prepareAccount(database);
  const keyport = await startKeyport(keyportPort, database, {
    KEYPORT_EXCHANGE_RATE_LIMIT: "1000000000",
  });
  children.push(keyport);
  const bareBody = join(dir, "bare-body.json");
  writeFileSync(
    bareBody,
    JSON.stringify({
      code: "c".repeat(43),
      code_verifier: "v".repeat(43),
      code_challenge_method: "S256",
    }),
  );
  const keys = new SQLite(database, { readonly: true });
  const countKeys = () => (keys.prepare("SELECT count(*) AS n FROM keys").get() as { n: number }).n;
  let keysBefore = 0;
  let run = 0;
  return {
    name: "exchange",
    baselineName: "bare node:http",
    baseline: { url: `http://127.0.0.1:${barePort}/api/v1/auth/keys`, bodyFile: bareBody },
    keyport: {
      url: `http://127.0.0.1:${keyportPort}/api/v1/auth/keys`,
      pid: keyport.pid,
      async prepare({ connections, seconds, expectedPerSecond }) {
        // Enough single-use codes for the rate this concurrency reached before, with a margin (a
        // run that outruns them is run again with more).
        const perSecond = expectedPerSecond
          ? expectedPerSecond * MARGIN
          : UNKNOWN_RATE_CODES_PER_CONNECTION * Math.min(connections, 8);
        const count = Math.ceil(perSecond * seconds) + 1_000;
        const codes = await mintCodes(database, userId, count, TERMS);
        keysBefore = countKeys();
        return { bodiesFile: writeBodies(dir, `codes-${++run}.txt`, codes) };
      },
      async verify(result) {
        const minted = countKeys() - keysBefore;
        return minted >= result.requests
          ? undefined
          : `${result.requests} answers but ${minted} keys stored`;
      },
    },
  };
}
