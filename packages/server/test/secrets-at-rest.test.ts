import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../src/config/config.js";
import { hmac } from "../src/domain/secrets.js";
import { startServer } from "../src/node/start.js";
import { openStore } from "../src/store/open.js";
import { Browser, csrfTokenOf } from "./support/browser.js";

const SECRET = "t3Vb0kq9R1xZ2pLm8Yw4Hs7Nc6Df5Ga0JeQi";
const mode = (path: string) => statSync(path).mode & 0o777;

describe("DESIGN invariant 10: secrets at rest (issue 9, item 9)", () => {
  let dir: string;
  let umask: number;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "keyport-at-rest-"));
    // The usual umask: what the modes below must hold against.
    umask = process.umask(0o022);
  });
  afterAll(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const config = (database: string, env: Record<string, string> = {}) =>
    parseConfig({ port: 0, database }, env);

  it("a new data directory is 0700; the database, its WAL, shared memory and lock are 0600; no warning", async () => {
    const warn = vi.spyOn(console, "error");
    const database = join(dir, "fresh", "nested", "keyport.sqlite");
    const server = await startServer(config(database));
    try {
      expect(mode(join(dir, "fresh"))).toBe(0o700);
      expect(mode(join(dir, "fresh", "nested"))).toBe(0o700);
      for (const file of [database, `${database}-wal`, `${database}-shm`, `${database}.lock`]) {
        expect([file, mode(file)]).toEqual([file, 0o600]);
      }
      expect(warn.mock.calls.flat().join("\n")).not.toMatch(/Warning/);
    } finally {
      await server.close();
    }
  });

  it("`keyport users create` on a new database (openStore) creates it 0600 in a 0700 directory", async () => {
    const database = join(dir, "admin", "keyport.sqlite");
    const store = await openStore(database);
    await store.close();
    expect(mode(join(dir, "admin"))).toBe(0o700);
    expect(mode(database)).toBe(0o600);
  });

  it("looser modes get one warning at start naming each path, and are left as they are", async () => {
    const data = join(dir, "loose");
    mkdirSync(data, { mode: 0o755 });
    chmodSync(data, 0o755);
    const database = join(data, "keyport.sqlite");
    writeFileSync(database, "", { mode: 0o644 });
    chmodSync(database, 0o644);
    const secretFile = join(dir, "secret-644");
    writeFileSync(secretFile, SECRET);
    chmodSync(secretFile, 0o644);
    const warn = vi.spyOn(console, "error");
    const server = await startServer(config(database, { KEYPORT_SECRET_FILE: secretFile }));
    try {
      const warnings = warn.mock.calls
        .map((call) => String(call[0]))
        .filter((line) => /Warning/.test(line));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`${data} is 0755 (want 0700)`);
      expect(warnings[0]).toContain(`${database} is 0644 (want 0600)`);
      expect(warnings[0]).toContain(`${secretFile} is 0644 (want 0600)`);
      expect(mode(database)).toBe(0o644);
    } finally {
      await server.close();
    }
  });

  it("KEYPORT_SECRET signs the forms, and no secret is written to the database", async () => {
    const database = join(dir, "env-secret", "keyport.sqlite");
    const server = await startServer(config(database, { KEYPORT_SECRET: SECRET }));
    try {
      const browser = new Browser(server.url);
      const page = await browser.get("/signin");
      const session = browser.cookies.get("keyport_session") ?? "";
      expect(csrfTokenOf(page.html)).toBe(hmac(SECRET, `csrf:${session}`));
    } finally {
      await server.close();
    }
    const sqlite = new SQLite(database, { readonly: true });
    try {
      expect(sqlite.prepare("SELECT name FROM settings").all()).toEqual([]);
    } finally {
      sqlite.close();
    }
  });

  it("without one, the generated secret is kept in the database as before", async () => {
    const database = join(dir, "db-secret", "keyport.sqlite");
    const server = await startServer(config(database));
    await server.close();
    const sqlite = new SQLite(database, { readonly: true });
    try {
      expect(sqlite.prepare("SELECT name FROM settings").all()).toEqual([{ name: "csrf" }]);
    } finally {
      sqlite.close();
    }
  });
});
