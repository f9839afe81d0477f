import type { ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import SQLite from "better-sqlite3";
import pg from "pg";
import { startProcess } from "./processes.js";

/** A code stored as the consent page would store it, and the verifier that redeems it. */
export interface PreparedCode {
  readonly code: string;
  readonly verifier: string;
}

/** The terms a prepared code gives the key it is exchanged for. */
interface KeyTerms {
  readonly label: string;
  readonly limitMicros: number | null;
  readonly limitReset: "monthly" | null;
}

const CODE_COLUMNS = [
  "code_hash",
  "user_id",
  "code_challenge",
  "code_challenge_method",
  "callback_url",
  "key_label",
  "limit_micros",
  "limit_reset",
  "key_expires_at",
  "created_at",
  "expires_at",
] as const;

/**
 * Creates the schema of `database` (a SQLite file or a PostgreSQL URL) and a bench account;
 * returns the account's id.
 */
export async function prepareAccount(database: string): Promise<string> {
  const { createAccount, openStore, systemClock } = await keyportServer();
  const store = await openStore(database);
  try {
    const user = await createAccount(
      { store, clock: systemClock },
      `bench-${randomBytes(4).toString("hex")}@example.com`,
      "bench password",
    );
    if (!user) throw new Error("could not create the bench account");
    return user.id;
  } finally {
    await store.close();
  }
}

/**
 * The server package the bench measures: this checkout's, or `BENCH_KEYPORT_DIR`'s (whose
 * migrations must create the schema its server will open).
 */
function keyportServer(): Promise<typeof import("@keyport/server")> {
  const dir = process.env.BENCH_KEYPORT_DIR;
  return dir
    ? import(pathToFileURL(resolve(dir, "packages/server/src/index.ts")).href)
    : import("@keyport/server");
}

/**
 * Stores `count` S256 codes of account `userId` in `database`, so a benchmark measures the
 * exchange rather than the consent pages. Hundreds of thousands of codes for a time-bounded wrk
 * run go in bulk (one transaction), in the rows `Store.createCode` writes.
 */
export async function mintCodes(
  database: string,
  userId: string,
  count: number,
  terms: KeyTerms,
): Promise<PreparedCode[]> {
  const now = Date.now();
  const prepared: PreparedCode[] = [];
  const rows: unknown[][] = [];
  const random = randomBytes(64 * count);
  for (let i = 0; i < count; i++) {
    const code = random.subarray(64 * i, 64 * i + 32).toString("base64url");
    const verifier = random.subarray(64 * i + 32, 64 * i + 64).toString("base64url");
    prepared.push({ code, verifier });
    rows.push([
      createHash("sha256").update(code).digest("hex"),
      userId,
      createHash("sha256").update(verifier).digest("base64url"),
      "S256",
      "http://localhost:3000/callback",
      terms.label,
      terms.limitMicros,
      terms.limitReset,
      null,
      now,
      now + 3_600_000,
    ]);
  }
  if (/^postgres(ql)?:\/\//.test(database)) await insertPostgres(database, rows);
  else insertSqlite(database, rows);
  return prepared;
}

/** A bench account and `count` codes for it (see {@link mintCodes}). */
export async function prepareCodes(
  database: string,
  count: number,
  terms: KeyTerms,
): Promise<PreparedCode[]> {
  return mintCodes(database, await prepareAccount(database), count, terms);
}

function insertSqlite(path: string, rows: readonly unknown[][]): void {
  const db = new SQLite(path);
  try {
    // Set-up only, on this connection: codes for a run are no use after a crash of the bench, and
    // a cache that holds the indexes keeps a bulk insert of random hashes from spilling to disk.
    db.pragma("synchronous = OFF");
    db.pragma("cache_size = -262144");
    const insert = db.prepare(
      `INSERT INTO codes (${CODE_COLUMNS.join(", ")}) VALUES (${CODE_COLUMNS.map(() => "?").join(", ")})`,
    );
    db.transaction(() => {
      for (const row of rows) insert.run(row);
    })();
    // Moved into the database now, so the server's next commit does not checkpoint them.
    db.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
}

async function insertPostgres(url: string, rows: readonly unknown[][]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const perStatement = 1_000;
    for (let start = 0; start < rows.length; start += perStatement) {
      const batch = rows.slice(start, start + perStatement);
      const values = batch.map(
        (_, r) =>
          `(${CODE_COLUMNS.map((_, c) => `$${r * CODE_COLUMNS.length + c + 1}`).join(", ")})`,
      );
      await client.query(
        `INSERT INTO codes (${CODE_COLUMNS.join(", ")}) VALUES ${values.join(", ")}`,
        batch.flat(),
      );
    }
  } finally {
    await client.end();
  }
}

/** The exchange request body for a prepared code. */
function exchangeBody(prepared: PreparedCode): string {
  return JSON.stringify({
    code: prepared.code,
    code_verifier: prepared.verifier,
    code_challenge_method: "S256",
  });
}

/** Writes `codes`' exchange bodies to `dir/name`, one a line, for wrk; returns the path. */
export function writeBodies(dir: string, name: string, codes: readonly PreparedCode[]): string {
  const path = join(dir, name);
  // Codes and verifiers are base64url: nothing in them needs JSON escaping.
  const lines = codes.map(
    ({ code, verifier }) =>
      `{"code":"${code}","code_verifier":"${verifier}","code_challenge_method":"S256"}\n`,
  );
  writeFileSync(path, lines.join(""));
  return path;
}

/**
 * Runs `keyport serve` in a child process on `port` over `database`: this checkout's, or the one
 * at `BENCH_KEYPORT_DIR` (another checkout with its dependencies installed and built, e.g. the
 * code before a change, measured by the same bench in the same hour). It runs the built bin, the
 * JavaScript users install, not the sources through tsx (whose per-closure name helpers showed in
 * the profiles); `npm run bench` builds first. `BENCH_CPU_PROFILE=DIR` writes a V8 CPU
 * profile of it to DIR when it stops (`BENCH_PROFILE_INTERVAL` µs per sample).
 */
export function startKeyport(
  port: number,
  database: string,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const dir = process.env.BENCH_CPU_PROFILE;
  const profile = dir
    ? [
        "--cpu-prof",
        `--cpu-prof-dir=${dir}`,
        `--cpu-prof-interval=${process.env.BENCH_PROFILE_INTERVAL ?? "1000"}`,
      ]
    : [];
  const root = process.env.BENCH_KEYPORT_DIR ?? ".";
  return startProcess(
    process.execPath,
    [...profile, ...serveArguments(root, port, database)],
    `http://127.0.0.1:${port}/healthz`,
    env,
  );
}

/** Node's arguments for `keyport serve` of the built checkout at `root` on `port` over `database`. */
export function serveArguments(root: string, port: number, database: string): string[] {
  return [
    join(root, "packages/cli/dist/keyport.cjs"),
    "serve",
    "--port",
    String(port),
    "--database",
    database,
  ];
}

/** Exchanges one prepared code for its key over HTTP (a bench's set-up, not its load). */
export async function exchangeKey(baseUrl: string, prepared: PreparedCode): Promise<string> {
  const response = await fetch(`${baseUrl}/api/v1/auth/keys`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: exchangeBody(prepared),
  });
  const { key } = (await response.json()) as { key?: string };
  if (!key) throw new Error(`exchange failed with ${response.status}`);
  return key;
}
