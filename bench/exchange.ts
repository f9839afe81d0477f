// The code→key exchange (POST /api/v1/auth/keys on a SQLite file, every key durable on return)
// beside a bare node:http server answering a small JSON POST. Each Keyport request redeems a
// fresh code, minted before its run and fed to wrk from a file; after each run the keys table must
// have grown by at least the 200s wrk counted. The same for the exchange's floor, a bare server
// redeeming codes durably in the same schema (bench/bare-exchange.ts). Run through bench/run.ts
// (npm run bench).
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import type { Side, Workload } from "./support/compare.js";
import { mintCodes, prepareAccount, startKeyport, writeBodies } from "./support/keyport.js";
import { freePort, startProcess } from "./support/processes.js";

/** Codes minted per second and connection of a run whose rate is not known yet (a warm-up). */
const UNKNOWN_RATE_CODES_PER_CONNECTION = 5_000;
/** Codes minted per expected exchange: wrk stops at the time bound, not at the last code. */
const MARGIN = 1.6;
const TERMS = { label: "bench", limitMicros: null, limitReset: null };

/**
 * Starts the bare server, Keyport and the exchange floor (bench/bare-exchange.ts, on a database
 * of its own) in `dir`; the caller stops the returned processes.
 */
export async function exchangeWorkloads(
  dir: string,
  children: ChildProcess[],
): Promise<{ exchange: Workload; floor: Workload }> {
  const barePort = await freePort();
  children.push(
    await startProcess(
      process.execPath,
      ["--import", "tsx", "bench/bare-json-server.ts", String(barePort)],
      `http://127.0.0.1:${barePort}/healthz`,
    ),
  );
  const bareBody = join(dir, "bare-body.json");
  writeFileSync(
    bareBody,
    JSON.stringify({
      code: "c".repeat(43),
      code_verifier: "v".repeat(43),
      code_challenge_method: "S256",
    }),
  );
  const baseline = { url: `http://127.0.0.1:${barePort}/api/v1/auth/keys`, bodyFile: bareBody };

  // The schema and the account first, then the server (which runs the migrations again: a no-op).
  const database = join(dir, "exchange.sqlite");
  const userId = await prepareAccount(database);
  const keyportPort = await freePort();
  const keyport = await startKeyport(keyportPort, database, {
    KEYPORT_EXCHANGE_RATE_LIMIT: "1000000000",
  });
  children.push(keyport);

  const floorDatabase = join(dir, "floor.sqlite");
  const floorUserId = await prepareAccount(floorDatabase);
  const floorPort = await freePort();
  const floor = await startProcess(
    process.execPath,
    ["--import", "tsx", "bench/bare-exchange.ts", floorDatabase, String(floorPort)],
    `http://127.0.0.1:${floorPort}/healthz`,
  );
  children.push(floor);

  return {
    exchange: {
      name: "exchange",
      baselineName: "bare node:http",
      baseline,
      keyport: redeeming(dir, database, userId, `http://127.0.0.1:${keyportPort}`, keyport.pid),
    },
    floor: {
      name: "bare exchange (no Keyport)",
      baselineName: "bare node:http",
      baseline,
      keyport: redeeming(
        dir,
        floorDatabase,
        floorUserId,
        `http://127.0.0.1:${floorPort}`,
        floor.pid,
      ),
    },
  };
}

/**
 * A server that redeems codes for keys in `database`: before each run, enough fresh codes of
 * `userId` for wrk to send once each; after it, a stored key for every 200.
 */
function redeeming(
  dir: string,
  database: string,
  userId: string,
  origin: string,
  pid: number | undefined,
): Side {
  const keys = new SQLite(database, { readonly: true });
  const countKeys = () => (keys.prepare("SELECT count(*) AS n FROM keys").get() as { n: number }).n;
  let keysBefore = 0;
  return {
    url: `${origin}/api/v1/auth/keys`,
    pid,
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
  };
}

/** Numbers each run's file of codes. */
let run = 0;
