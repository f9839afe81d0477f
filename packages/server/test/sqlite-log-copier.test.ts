import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../src/index.js";
import { seedKey } from "./support/seed-key.js";

/**
 * The keys a copy of the database file alone holds: what reached it from the log (none while even
 * the schema is only in the log).
 */
function keysInFileAlone(path: string, dir: string): number {
  const copy = join(dir, `alone-${Math.random().toString(36).slice(2)}.sqlite`);
  copyFileSync(path, copy);
  const db = new Database(copy, { readonly: true });
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'keys'").get();
    if (!table) return 0;
    return (db.prepare("SELECT count(*) AS n FROM keys").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

describe("issue 15: the SQLite log is copied into the database on a thread of its own", () => {
  const dir = mkdtempSync(join(tmpdir(), "keyport-log-copier-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a server's store: commits reach the database file without a checkpoint on the event loop", async () => {
    const path = join(dir, "server.sqlite");
    const store = await openStore(path, { copyLogInBackground: true });
    try {
      const before = keysInFileAlone(path, dir);
      // Far fewer pages than SQLite's own checkpoint waits for (1000): only the copier moves them.
      for (let i = 0; i < 5; i++) await seedKey(store, { limitMicros: null, label: `copied ${i}` });
      expect(await eventually(() => keysInFileAlone(path, dir) === before + 5)).toBe(true);
    } finally {
      await store.close();
    }
    // The copier closed first, so the server's connection was the last one and removed the log.
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it("a command's store (no copier): the same commits stay in the log until a checkpoint", async () => {
    const path = join(dir, "command.sqlite");
    const store = await openStore(path);
    try {
      const before = keysInFileAlone(path, dir);
      for (let i = 0; i < 5; i++) await seedKey(store, { limitMicros: null, label: `logged ${i}` });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(keysInFileAlone(path, dir)).toBe(before);
    } finally {
      await store.close();
    }
  });

  it("a server that stops: every key is in the file, the log gone", async () => {
    const path = join(dir, "stopped.sqlite");
    const store = await openStore(path, { copyLogInBackground: true });
    for (let i = 0; i < 20; i++) await seedKey(store, { limitMicros: null, label: `kept ${i}` });
    await store.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect(keysInFileAlone(path, dir)).toBe(20);
  });
});
