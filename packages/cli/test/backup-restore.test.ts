import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { dialects, type TestDatabase } from "../../server/test/support/databases.js";
import { type Child, freePort, runInProcess, spawnCli, waitForOk } from "./support/run-cli.js";
import { storedKey } from "./support/seed.js";

/**
 * The restore drill of docs/deploy.md ("Backups"), step by step, with real processes: a server
 * with a key that has usage, `keyport backup` while it serves under concurrent writes, stop,
 * restore (copy the backup into place), serve again: the key still works and its data are there.
 */

const TIMEOUT_MS = 180_000;

let dir: string;
const children: Child[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "keyport-backup-"));
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null) child.process.kill("SIGKILL");
    await child.exited;
  }
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function serve(database: string) {
  const port = await freePort();
  const child = spawnCli(["serve", "--port", String(port), "--database", database], {
    env: { KEYPORT_ECHO_DELAY_MS: "0", KEYPORT_GATEWAY_RATE_LIMIT: "0" },
  });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitForOk(`${base}/healthz`, child, 1200);
  return { child, base };
}

async function stop(child: Child) {
  child.process.kill("SIGTERM");
  const result = await child.exited;
  expect(result.code).toBe(0);
}

function echo(base: string, key: string, words: string) {
  return fetch(`${base}/api/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model: "keyport/echo",
      max_tokens: 20,
      messages: [{ role: "user", content: words }],
    }),
  });
}

async function usage(base: string, key: string): Promise<number> {
  const response = await fetch(`${base}/api/v1/key`, {
    headers: { authorization: `Bearer ${key}` },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: { usage: number } }).data.usage;
}

function requestCount(file: string, hash: string): number {
  const db = new Database(file, { readonly: true });
  try {
    const row = db.prepare("SELECT count(*) AS n FROM requests WHERE key_hash = ?").get(hash);
    return (row as { n: number }).n;
  } finally {
    db.close();
  }
}

describe("keyport backup: the restore drill (SQLite, real processes)", () => {
  it(
    "a backup taken under concurrent writes passes integrity_check and restores a working key with its usage",
    async () => {
      const database = join(dir, "live", "keyport.sqlite");
      const backup = join(dir, "keyport-backup.sqlite");
      const { key, hash } = await storedKey(database, null);
      const first = await serve(database);
      for (let i = 0; i < 5; i++)
        expect((await echo(first.base, key, `warm up ${i}`)).status).toBe(200);
      const usedBefore = await usage(first.base, key);
      expect(usedBefore).toBeGreaterThan(0);

      // Writes keep coming while the backup runs: a bounded loop of gateway calls until it ends.
      const backingUp = spawnCli(["backup", backup, "--database", database]);
      children.push(backingUp);
      let finished = false;
      void backingUp.exited.then(() => {
        finished = true;
      });
      let writesDuring = 0;
      const writers = Array.from({ length: 4 }, async (_, writer) => {
        for (let i = 0; i < 500 && !finished; i++) {
          const response = await echo(first.base, key, `writer ${writer} call ${i}`);
          expect(response.status).toBe(200);
          await response.arrayBuffer();
          writesDuring++;
        }
      });
      const result = await backingUp.exited;
      await Promise.all(writers);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(`Backed up ${database} to ${backup}`);
      expect(writesDuring).toBeGreaterThan(0);
      expect(statSync(backup).mode & 0o777).toBe(0o600);

      const copy = new Database(backup, { readonly: true });
      try {
        expect(copy.pragma("integrity_check", { simple: true })).toBe("ok");
      } finally {
        copy.close();
      }
      const recordsInBackup = requestCount(backup, hash);
      expect(recordsInBackup).toBeGreaterThanOrEqual(5);

      // Stop; restore: the live file's WAL and shared memory go, the backup takes its place.
      await stop(first.child);
      for (const suffix of ["", "-wal", "-shm"]) rmSync(`${database}${suffix}`, { force: true });
      copyFileSync(backup, database);
      expect(existsSync(`${database}-wal`)).toBe(false);

      const second = await serve(database);
      expect(await usage(second.base, key)).toBeGreaterThanOrEqual(usedBefore);
      expect((await echo(second.base, key, "after the restore")).status).toBe(200);
      await stop(second.child);
      expect(requestCount(database, hash)).toBe(recordsInBackup + 1);
    },
    TIMEOUT_MS,
  );

  it("refuses a missing database and a missing FILE with one line, exit 2", async () => {
    const missing = await runInProcess(["backup", join(dir, "x.sqlite")], {
      env: { KEYPORT_DATABASE: join(dir, "nothing-here.sqlite") },
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^keyport backup: no SQLite database at .*nothing-here/);
    expect(existsSync(join(dir, "nothing-here.sqlite"))).toBe(false);
    const noFile = await runInProcess(["backup"]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toMatch(/one FILE/);
  });
});

describe.each(dialects)("keyport migrate ($name)", (dialect) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await dialect.fresh();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("applies every migration to a new database, then finds nothing to do", async () => {
    const env = { KEYPORT_DATABASE: database.url };
    const first = await runInProcess(["migrate"], { env });
    expect(first.code, first.stderr).toBe(0);
    const applied = first.stdout.trim().split("\n");
    expect(applied.length).toBeGreaterThan(0);
    for (const line of applied) expect(line).toMatch(/^applied \S+$/);
    const again = await runInProcess(["migrate"], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("");
    expect(again.stderr).toContain("already up to date");
  });

  it.runIf(dialect.name === "postgres")(
    "keyport backup on PostgreSQL: exit 2, pointing at pg_dump",
    async () => {
      const result = await runInProcess(["backup", join(dir, "pg.sqlite")], {
        env: { KEYPORT_DATABASE: database.url },
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/pg_dump/);
      expect(existsSync(join(dir, "pg.sqlite"))).toBe(false);
    },
  );
});
