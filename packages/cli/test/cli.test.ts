import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser } from "../../server/test/support/browser.js";
import { dialects, type TestDatabase } from "../../server/test/support/databases.js";
import { startTestServer } from "../../server/test/support/server.js";
import { freePort, runInProcess, spawnCli, waitForOk } from "./support/run-cli.js";

const PASSWORD = "a long enough password";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "keyport-cli-test-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A SQLite database a cleanly shut-down server left behind: no WAL to replay, intact. */
function expectCleanSqlite(path: string) {
  const wal = `${path}-wal`;
  expect(!existsSync(wal) || statSync(wal).size === 0, "WAL checkpointed").toBe(true);
  const db = new Database(path, { readonly: true });
  try {
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    expect(tables.map((row) => (row as { name: string }).name)).toEqual(
      expect.arrayContaining(["users", "sessions", "codes", "keys"]),
    );
  } finally {
    db.close();
  }
}

describe("keyport (command line)", () => {
  it("--help exits 0 and lists serve, users and demo (the real executable)", async () => {
    const result = await spawnCli(["--help"]).exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: keyport <command>/);
    for (const command of ["serve", "users", "demo"]) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\s`, "m"));
    }
  });

  it("--version prints the version of the package it runs from, exit 0", async () => {
    const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    for (const flag of ["--version", "-V"]) {
      const result = await runInProcess([flag]);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`${manifest.version}\n`);
    }
  });

  it("no command: the help, exit 2", async () => {
    const result = await runInProcess([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/Usage: keyport/);
  });

  it("an unknown command: exit 2 with one line naming it", async () => {
    const result = await runInProcess(["frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain('"frobnicate"');
  });

  it.each([
    [["serve", "--bogus"], /bogus/],
    [["users", "create", "--email", "a@b.cd", "--password-stdin", "--colour"], /colour/],
    [["serve", "--port", "not-a-port"], /--port/],
    [["serve", "--port", "70000"], /--port/],
    [["serve", "--signup", "maybe"], /--signup/],
    [["serve", "--public-url", "ftp://x"], /--public-url/],
  ])("%j: exit 2 with a one-line message", async (argv, message) => {
    const result = await runInProcess(argv, { env: { KEYPORT_DATABASE: join(dir, "unused.db") } });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^keyport \w+: /);
    expect(lines[0]).toMatch(message);
  });

  it("`serve --help` exits 0 with the options", async () => {
    const result = await runInProcess(["serve", "--help"]);
    expect(result.code).toBe(0);
    for (const flag of ["--port", "--host", "--database", "--public-url", "--signup"]) {
      expect(result.stdout).toContain(flag);
    }
  });
});

describe("keyport serve", () => {
  it("flags: serves /healthz, SIGTERM exits 0, the database is left clean", async () => {
    const port = await freePort();
    const database = join(dir, "flags", "keyport.sqlite");
    // Flags win over the environment: these variables would fail if they were read. Run from
    // outside the repository, where tsx finds no tsconfig of its own: pages must still render.
    const child = spawnCli(["serve", "--port", String(port), "--database", database], {
      env: { KEYPORT_PORT: "not-a-port", KEYPORT_DATABASE: join(dir, "wrong.sqlite") },
      cwd: dir,
    });
    try {
      await waitForOk(`http://127.0.0.1:${port}/healthz`, child);
      expect(child.stderr()).toContain(`Keyport listening on http://127.0.0.1:${port}`);
      expect(existsSync(join(dir, "wrong.sqlite"))).toBe(false);
      const unknown = await fetch(`http://127.0.0.1:${port}/no-such-page`);
      expect(unknown.status).toBe(404);
      expect(await unknown.text()).toContain("Not found");
    } finally {
      child.process.kill("SIGTERM");
    }
    const result = await child.exited;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("SIGTERM");
    expectCleanSqlite(database);
  });

  it("KEYPORT_PORT and KEYPORT_DATABASE are honoured; SIGINT exits 0", async () => {
    const port = await freePort();
    const database = join(dir, "env", "keyport.sqlite");
    const child = spawnCli(["serve"], {
      env: { KEYPORT_PORT: String(port), KEYPORT_DATABASE: database, KEYPORT_SIGNUP: "closed" },
    });
    try {
      await waitForOk(`http://127.0.0.1:${port}/healthz`, child);
      expect((await fetch(`http://127.0.0.1:${port}/signup`)).status).toBe(403);
      expect(existsSync(database)).toBe(true);
    } finally {
      child.process.kill("SIGINT");
    }
    expect((await child.exited).code).toBe(0);
    expectCleanSqlite(database);
  });
});

describe("keyport users create (the real executable, password on stdin)", () => {
  it("prints the new user's id, and the account signs in", async () => {
    const database = join(dir, "users", "keyport.sqlite");
    const result = await spawnCli(
      [
        "users",
        "create",
        "--email",
        "Admin@Example.test",
        "--password-stdin",
        "--database",
        database,
      ],
      { stdin: `${PASSWORD}\n` },
    ).exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^user_[0-9a-f]{32}\n$/);

    const server = await startTestServer(
      { url: database, drop: async () => {} },
      { signup: "closed" },
    );
    try {
      const page = await new Browser(server.url).signIn("admin@example.test", PASSWORD);
      expect(page.status).toBe(303);
    } finally {
      await server.close();
    }
  });
});

describe.each(dialects)("keyport users create ($name)", (dialect) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await dialect.fresh();
  });
  afterAll(async () => {
    await database?.drop();
  });

  const create = (email: string, extra: string[] = [], stdin = `${PASSWORD}\n`) =>
    runInProcess(["users", "create", "--email", email, "--password-stdin", ...extra], {
      env: { KEYPORT_DATABASE: database.url },
      stdin,
    });

  it("honours KEYPORT_DATABASE; the account signs in", async () => {
    const result = await create("env@example.test");
    expect(result.code).toBe(0);
    const userId = result.stdout.trim();
    expect(userId).toMatch(/^user_/);
    const server = await startTestServer(database, { signup: "closed" });
    try {
      expect((await new Browser(server.url).signIn("env@example.test", PASSWORD)).status).toBe(303);
      expect((await new Browser(server.url).signIn("env@example.test", "wrong")).status).toBe(401);
    } finally {
      await server.close();
    }
  });

  it("a duplicate email: exit 1, one line, nothing on stdout", async () => {
    expect((await create("dup@example.test")).code).toBe(0);
    const again = await create("DUP@example.test");
    expect(again.code).toBe(1);
    expect(again.stdout).toBe("");
    expect(again.stderr.trim().split("\n")).toHaveLength(1);
    expect(again.stderr).toMatch(/already exists/);
  });

  it.each([
    ["a short password", "short@example.test", [], "short\n"],
    ["7 characters", "seven@example.test", [], "abcdefg\n"],
    ["a common password (NIST SP 800-63B)", "common@example.test", [], "Sunshine1\n"],
    ["an unknown flag", "flag@example.test", ["--no-such"], PASSWORD],
    ["a bad email", "not-an-email", [], `${PASSWORD}\n`],
  ])("%s: exit 2, no account", async (_, email, extra, stdin) => {
    const result = await create(email, extra, stdin);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
  });

  it("without --password-stdin: exit 2 (a password is never a flag)", async () => {
    const result = await runInProcess(["users", "create", "--email", "x@example.test"], {
      env: { KEYPORT_DATABASE: database.url },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--password-stdin/);
  });
});
