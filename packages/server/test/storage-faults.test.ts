import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { codeChallengeOf } from "../src/domain/pkce.js";
import { randomToken, sha256Hex } from "../src/domain/secrets.js";
import { createAccount, type RunningServer } from "../src/index.js";
import { Browser } from "./support/browser.js";
import { dialects } from "./support/databases.js";
import { exchange, keyInfo, startTestServer } from "./support/server.js";

/** A small RAM disk for the database, so the test can fill it; only root may mount one. */
function mountSmallDisk(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), "keyport-full-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", dir], {
      stdio: "ignore",
    });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

const disk = mountSmallDisk();

/** Writes `filler` until the disk refuses (ENOSPC), in ever smaller pieces to the last page. */
function fillDisk(filler: string): void {
  const fd = openSync(filler, "w");
  try {
    for (let size = 1 << 20; size >= 512; size >>= 1) {
      const chunk = Buffer.alloc(size, 1);
      // At most 64 pieces of each size: a bounded loop even if the disk were larger than meant.
      for (let i = 0; i < 64; i++) {
        try {
          writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

const PASSWORD = "correct horse battery staple";

/** A code for a fresh account, as the consent page stores it, and its verifier. */
async function prepareCode(server: RunningServer) {
  const now = new Date();
  const user = await createAccount(
    { store: server.store, clock: () => now },
    `u${randomToken(6)}@example.com`,
    PASSWORD,
  );
  const code = randomToken();
  const verifier = randomToken();
  await server.store.createCode({
    codeHash: sha256Hex(code),
    userId: user?.id ?? "",
    codeChallenge: codeChallengeOf(verifier, "S256"),
    codeChallengeMethod: "S256",
    callbackUrl: "http://localhost:3000/callback",
    keyLabel: "full disk",
    limitMicros: 1_000_000,
    limitReset: null,
    keyExpiresAt: null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 10 * 60_000),
  });
  return { code, code_verifier: verifier, code_challenge_method: "S256" };
}

function echo(server: RunningServer, key: string): Promise<Response> {
  return fetch(`${server.url}/api/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model: "keyport/echo",
      max_tokens: 5,
      messages: [{ role: "user", content: "one two three" }],
    }),
  });
}

async function expectUnavailable(response: Response): Promise<void> {
  expect(response.status).toBe(503);
  expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
  const body = (await response.json()) as { error: { code: number; message: string } };
  expect(body.error.code).toBe(503);
  expect(typeof body.error.message).toBe("string");
  // No internals: neither SQLite's words nor the database's path.
  expect(body.error.message).not.toMatch(/sqlite|disk|full|\//i);
}

describe.skipIf(!disk)(
  "DESIGN invariant 9: a full disk is answered with 503, and service returns by itself (SQLite on a small tmpfs; needs root to mount it)",
  () => {
    const root = disk as string;
    const database = join(root, "keyport.sqlite");
    const filler = join(root, "filler");
    let server: RunningServer;

    beforeAll(async () => {
      server = await startTestServer({ url: database, drop: async () => {} }, { echoDelayMs: 0 });
    });
    afterAll(async () => {
      await server?.close();
      execFileSync("umount", [root]);
      rmSync(root, { recursive: true, force: true });
    });

    it("writes get 503 + Retry-After in OpenRouter's error shape, reads keep working, writes come back once space frees", async () => {
      const minted = await exchange(server.url, await prepareCode(server));
      const { key } = (await minted.json()) as { key: string };
      expect((await echo(server, key)).status).toBe(200);
      const pending = await prepareCode(server);
      const visitor = new Browser(server.url);
      const email = `page${randomToken(6).toLowerCase()}@example.com`;
      await createAccount({ store: server.store, clock: () => new Date() }, email, PASSWORD);

      // An empty write-ahead log, so the next write has to grow a file on the full disk.
      const side = new SQLite(database);
      side.pragma("wal_checkpoint(TRUNCATE)");
      side.close();
      fillDisk(filler);

      await expectUnavailable(await exchange(server.url, pending));
      await expectUnavailable(await echo(server, key));
      // A page whose form writes (sign-in starts a session) gets the 503 page, with no internals.
      const signIn = await visitor.signIn(email, PASSWORD);
      expect(signIn.status).toBe(503);
      expect(Number(signIn.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(signIn.html).toContain("<h1>Temporarily unavailable</h1>");
      expect(signIn.html).toContain("Try again in 5 seconds.");
      expect(signIn.html).not.toMatch(/sqlite|SQLITE_FULL|keyport\.sqlite|stack|at \w+ \(/i);
      expect((await keyInfo(server.url, key)).status).toBe(200);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

      rmSync(filler);
      // The very code the full disk refused is still good: its consumption was rolled back.
      const retried = await exchange(server.url, pending);
      expect(retried.status).toBe(200);
      expect(((await retried.json()) as { key: string }).key).toMatch(/^sk-/);
      expect((await echo(server, key)).status).toBe(200);
      expect((await visitor.signIn(email, PASSWORD)).status).toBe(303);
    });

    it("concurrent exchanges sharing one commit on the full disk: each 503, no key stored, and each code still redeems once space frees", async () => {
      const codes = await Promise.all(Array.from({ length: 8 }, () => prepareCode(server)));
      const side = new SQLite(database);
      const keyCount = () =>
        (side.prepare("SELECT count(*) AS n FROM keys").get() as { n: number }).n;
      try {
        side.pragma("wal_checkpoint(TRUNCATE)");
        const keysBefore = keyCount();
        fillDisk(filler);

        // Sent at once: they reach the store in one event-loop turn and share one group commit.
        const refused = await Promise.all(codes.map((code) => exchange(server.url, code)));
        for (const response of refused) await expectUnavailable(response);
        expect(keyCount()).toBe(keysBefore);

        rmSync(filler);
        const redeemed = await Promise.all(codes.map((code) => exchange(server.url, code)));
        expect(redeemed.map((response) => response.status)).toEqual(codes.map(() => 200));
        expect(keyCount()).toBe(keysBefore + codes.length);
      } finally {
        side.close();
        rmSync(filler, { force: true });
      }
    });
  },
);

const postgresUrl = process.env.KEYPORT_TEST_POSTGRES_URL;
const postgres = dialects.find((dialect) => dialect.name === "postgres");

describe.skipIf(!postgres || !postgresUrl)(
  "DESIGN invariant 9: a dropped database connection never kills the process (PostgreSQL; needs KEYPORT_TEST_POSTGRES_URL)",
  () => {
    it("the server ends every connection of this server (pg_terminate_backend): the process lives on and the next request succeeds on a new connection", async () => {
      const db = await (postgres as NonNullable<typeof postgres>).fresh();
      // Names this server's connections, so only they are ended (other tests share the server).
      const name = `keyport-drop-${randomToken(6)}`;
      const url = new URL(db.url);
      url.searchParams.set("application_name", name);
      const server = await startTestServer({ url: url.href, drop: async () => {} });
      const admin = new pg.Client({ connectionString: postgresUrl });
      await admin.connect();
      try {
        const minted = await exchange(server.url, await prepareCode(server));
        const { key } = (await minted.json()) as { key: string };
        const ended = await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
          [name],
        );
        expect(ended.rowCount).toBeGreaterThan(0);
        // Until PostgreSQL has closed them all (a bounded wait), so the pool hears every close.
        for (let i = 0; i < 100; i++) {
          const left = await admin.query(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
            [name],
          );
          if (left.rows[0].n === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await new Promise((resolve) => setTimeout(resolve, 50));

        expect((await keyInfo(server.url, key)).status).toBe(200);
        expect((await exchange(server.url, await prepareCode(server))).status).toBe(200);
      } finally {
        await admin.end();
        await server.close();
        await db.drop();
      }
    });
  },
);

describe("an unexpected database error on a page: a plain 500 page, the details in the log only", () => {
  const dir = mkdtempSync(join(tmpdir(), "keyport-broken-"));
  const database = join(dir, "keyport.sqlite");
  let server: RunningServer;

  beforeAll(async () => {
    server = await startTestServer({ url: database, drop: async () => {} });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sign-in after the sessions table vanished under the server answers 500 with no internals", async () => {
    const email = `broken${randomToken(6).toLowerCase()}@example.com`;
    await createAccount({ store: server.store, clock: () => new Date() }, email, PASSWORD);
    // Not a storage fault (the disk and the connection are fine): SQLite says "no such table".
    const side = new SQLite(database);
    side.exec("DROP TABLE sessions");
    side.close();
    const logged: unknown[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args) => {
      logged.push(...args);
    });
    try {
      const page = await new Browser(server.url).signIn(email, PASSWORD);
      expect(page.status).toBe(500);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      expect(page.html).toContain("<h1>Something broke on our side</h1>");
      expect(page.html).toContain("The server failed to answer this request.");
      expect(page.html).not.toMatch(/sessions|no such table|sqlite|at \w+ \(/i);
    } finally {
      spy.mockRestore();
    }
    expect(String(logged.find((entry) => entry instanceof Error))).toMatch(/no such table/);
  });
});
