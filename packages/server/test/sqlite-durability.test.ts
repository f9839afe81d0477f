import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connectSqlite } from "../src/store/open.js";

/** SQLite's `PRAGMA synchronous` values. */
const SYNCHRONOUS = { OFF: 0, NORMAL: 1, FULL: 2, EXTRA: 3 } as const;

describe("issue 15: every key and settle durable on return (SQLite)", () => {
  const dir = mkdtempSync(join(tmpdir(), "keyport-durable-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the store's connection syncs every commit (WAL, synchronous = FULL: NORMAL would sync only at checkpoints)", () => {
    const sqlite = connectSqlite(join(dir, "keyport.sqlite"));
    try {
      expect(sqlite.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(sqlite.pragma("synchronous", { simple: true })).toBe(SYNCHRONOUS.FULL);
    } finally {
      sqlite.close();
    }
  });
});
