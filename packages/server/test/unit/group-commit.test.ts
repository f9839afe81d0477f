import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep, setImmediate as turn } from "node:timers/promises";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect, sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { type BatchedWrite, GroupCommit } from "../../src/store/group-commit.js";
import type { Database } from "../../src/store/schema.js";
import type { SqliteRunner, WriteAheadLog } from "../../src/store/sqlite-runner.js";

/**
 * A SQLite file in WAL mode opened as `store/open.ts` opens it: one connection shared by Kysely
 * and a synchronous runner. Every statement either runs is logged (lower-cased), so transactions
 * can be counted; a second connection sees only what was committed.
 */
function openDatabase() {
  const dir = mkdtempSync(join(tmpdir(), "keyport-group-commit-"));
  const path = join(dir, "test.sqlite");
  const sqlite = new SQLite(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.exec(`
    CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE parents (id INTEGER PRIMARY KEY);
    CREATE TABLE children (
      id INTEGER PRIMARY KEY,
      parent INTEGER NOT NULL REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED
    );
  `);
  const log: string[] = [];
  const prepare = (text: string) => {
    log.push(text.trim().toLowerCase());
    return sqlite.prepare(text);
  };
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: { close: () => sqlite.close(), prepare } }),
  });
  const runner: SqliteRunner = {
    get inTransaction() {
      return sqlite.inTransaction;
    },
    all: (text, parameters) => prepare(text).all(parameters),
    run: (text, parameters) => {
      prepare(text).run(parameters);
    },
  };
  const reader = new SQLite(path, { readonly: true });
  /** Item names as another connection sees them: committed ones only. */
  const committed = () =>
    (reader.prepare("SELECT name FROM items ORDER BY id").all() as { name: string }[]).map(
      (row) => row.name,
    );
  const count = (statement: string) => log.filter((entry) => entry === statement).length;
  return {
    db,
    runner,
    log,
    committed,
    count,
    async close() {
      reader.close();
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type TestSqlite = ReturnType<typeof openDatabase>;

const opened: TestSqlite[] = [];
afterEach(async () => {
  for (const database of opened.splice(0)) await database.close();
});

/** The two paths a batch takes: synchronous on an idle SQLite runner, or a Kysely transaction. */
const paths = [
  { path: "the synchronous SQLite path", withRunner: true },
  { path: "the asynchronous Kysely path", withRunner: false },
] as const;

function setup(withRunner: boolean) {
  const database = openDatabase();
  opened.push(database);
  const group = new GroupCommit(database.db, withRunner ? database.runner : undefined);
  /** The names whose write ran, in the order they ran (the last attempt of each counts). */
  const ran: string[] = [];
  /** A write that inserts `name` into items and resolves with it. */
  const insert = (name: string, options: { order?: string; delayMs?: number } = {}) =>
    ({
      order: options.order,
      sqlite(runner) {
        runner.run("INSERT INTO items (name) VALUES (?)", [name]);
        ran.push(name);
        return name;
      },
      async kysely(trx) {
        if (options.delayMs) await sleep(options.delayMs);
        await sql`INSERT INTO items (name) VALUES (${name})`.execute(trx);
        ran.push(name);
        return name;
      },
    }) satisfies BatchedWrite<string>;
  /** A write that breaks a deferred foreign key: its statement runs, its COMMIT fails. */
  const orphan = (): BatchedWrite<void> => ({
    sqlite(runner) {
      runner.run("INSERT INTO children (parent) VALUES (?)", [999]);
    },
    async kysely(trx) {
      await sql`INSERT INTO children (parent) VALUES (${999})`.execute(trx);
    },
  });
  return { ...database, group, ran, insert, orphan };
}

describe.each(paths)("GroupCommit on $path", ({ withRunner }) => {
  it("puts the writes submitted in one turn of the event loop in one transaction", async () => {
    const { group, insert, count, committed } = setup(withRunner);
    const results = await Promise.all([
      group.submit(insert("a")),
      group.submit(insert("b")),
      group.submit(insert("c")),
    ]);
    expect(results).toEqual(["a", "b", "c"]);
    expect(count("begin")).toBe(1);
    expect(count("commit")).toBe(1);
    expect(committed()).toEqual(["a", "b", "c"]);
  });

  it("gives writes of later turns transactions of their own", async () => {
    const { group, insert, count } = setup(withRunner);
    const first = group.submit(insert("a"));
    await turn();
    const second = group.submit(insert("b"));
    await Promise.all([first, second]);
    expect(count("begin")).toBe(2);
    expect(count("commit")).toBe(2);
  });

  it("resolves each write only once its transaction has committed", async () => {
    const { group, insert, log, committed } = setup(withRunner);
    const seen: { name: string; visible: string[]; logged: string[] }[] = [];
    await Promise.all(
      ["a", "b"].map((name) =>
        group.submit(insert(name)).then(() => {
          seen.push({ name, visible: committed(), logged: [...log] });
        }),
      ),
    );
    for (const { name, visible, logged } of seen) {
      expect(visible, name).toContain(name);
      expect(logged.at(-1), name).toBe("commit");
    }
  });

  it("retries a failed batch one write at a time: one bad write fails alone", async () => {
    const { group, insert, count, committed } = setup(withRunner);
    await group.submit(insert("taken"));
    const [good, bad, alsoGood] = await Promise.allSettled([
      group.submit(insert("a")),
      group.submit(insert("taken")), // UNIQUE violation
      group.submit(insert("b")),
    ]);
    expect(good).toEqual({ status: "fulfilled", value: "a" });
    expect(alsoGood).toEqual({ status: "fulfilled", value: "b" });
    expect(bad.status).toBe("rejected");
    expect(String((bad as PromiseRejectedResult).reason)).toContain("UNIQUE");
    // The first write, the failed batch, then each of its three alone.
    expect(count("begin")).toBe(1 + 1 + 3);
    expect(committed()).toEqual(["taken", "a", "b"]);
  });

  it("rejects a lone write that fails without retrying it", async () => {
    const { group, insert, count } = setup(withRunner);
    await group.submit(insert("taken"));
    await expect(group.submit(insert("taken"))).rejects.toThrow(/UNIQUE/);
    expect(count("begin")).toBe(2);
  });

  it("drain() waits for every write submitted so far, including those queued behind a flush", async () => {
    const { group, insert, committed } = setup(withRunner);
    const settled: string[] = [];
    const track = (promise: Promise<string>) => promise.then((name) => settled.push(name));
    await group.drain(); // nothing to wait for
    void track(group.submit(insert("a", { delayMs: 30 })));
    await turn(); // the first batch is flushing
    void track(group.submit(insert("b", { delayMs: 30 })));
    void track(group.submit(insert("c")));
    await group.drain();
    await Promise.resolve();
    expect(settled.sort()).toEqual(["a", "b", "c"]);
    expect(committed()).toEqual(["a", "b", "c"]);
  });
});

describe("GroupCommit: order", () => {
  it("runs a batch's writes in their `order` on the asynchronous path", async () => {
    const { group, insert, ran } = setup(false);
    const results = await Promise.all([
      group.submit(insert("c", { order: "key-c" })),
      group.submit(insert("a", { order: "key-a" })),
      group.submit(insert("none")),
      group.submit(insert("b", { order: "key-b" })),
    ]);
    // Unordered writes sort first; each promise still gets its own write's result.
    expect(ran).toEqual(["none", "a", "b", "c"]);
    expect(results).toEqual(["c", "a", "none", "b"]);
  });

  it("runs them as submitted on the synchronous path (one connection: no lock order to keep)", async () => {
    const { group, insert, ran } = setup(true);
    await Promise.all([
      group.submit(insert("c", { order: "key-c" })),
      group.submit(insert("a", { order: "key-a" })),
    ]);
    expect(ran).toEqual(["c", "a"]);
  });
});

describe("GroupCommit: a failure at COMMIT", () => {
  it("is not retried on the asynchronous path: its outcome is unknown, so every write rejects", async () => {
    const { group, insert, orphan, count, committed } = setup(false);
    const results = await Promise.allSettled([
      group.submit(insert("a")),
      group.submit(orphan()),
      group.submit(insert("b")),
    ]);
    for (const result of results) {
      expect(result.status).toBe("rejected");
      expect(String((result as PromiseRejectedResult).reason)).toContain("FOREIGN KEY");
    }
    expect(count("begin")).toBe(1);
    expect(count("commit")).toBe(1);
    expect(committed()).toEqual([]);
  });

  it("is retried one by one on the synchronous path, where SQLite rolled it all back", async () => {
    const { group, insert, orphan, count, committed } = setup(true);
    const [a, bad, b] = await Promise.allSettled([
      group.submit(insert("a")),
      group.submit(orphan()),
      group.submit(insert("b")),
    ]);
    expect(a.status).toBe("fulfilled");
    expect(b.status).toBe("fulfilled");
    expect(String((bad as PromiseRejectedResult).reason)).toContain("FOREIGN KEY");
    expect(count("begin")).toBe(1 + 3);
    expect(committed()).toEqual(["a", "b"]);
  });
});

describe("GroupCommit: runNow", () => {
  it("needs a SQLite runner", () => {
    const { group, insert } = setup(false);
    expect(group.idle).toBe(false);
    expect(() => group.runNow(insert("a"))).toThrow("runNow needs an idle SQLite connection");
  });

  it("runs at once in a transaction of its own when idle", () => {
    const { group, insert, count, committed } = setup(true);
    expect(group.idle).toBe(true);
    expect(group.runNow(insert("a")).result).toBe("a");
    expect(committed()).toEqual(["a"]);
    expect(count("begin")).toBe(1);
    expect(count("commit")).toBe(1);
  });

  it("throws while a write is queued, and the queued write still commits", async () => {
    const { group, insert, committed } = setup(true);
    const queued = group.submit(insert("queued"));
    expect(group.idle).toBe(false);
    expect(() => group.runNow(insert("now"))).toThrow("runNow needs an idle SQLite connection");
    expect(await queued).toBe("queued");
    await group.drain();
    expect(group.idle).toBe(true);
    expect(committed()).toEqual(["queued"]);
  });

  it("throws while Kysely holds a transaction on the connection, and while a batch flushes", async () => {
    const { db, group, insert, committed } = setup(true);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let opened!: () => void;
    const open = new Promise<void>((resolve) => {
      opened = resolve;
    });
    const transaction = db.transaction().execute(async (trx) => {
      await sql`INSERT INTO items (name) VALUES (${"kysely"})`.execute(trx);
      opened();
      await gate;
    });
    await open;
    expect(group.idle).toBe(false);
    expect(() => group.runNow(insert("now"))).toThrow("runNow needs an idle SQLite connection");
    // A batch submitted now waits for the connection on the Kysely path.
    const batched = group.submit(insert("batched"));
    await turn();
    expect(() => group.runNow(insert("now"))).toThrow("runNow needs an idle SQLite connection");
    release();
    await transaction;
    expect(await batched).toBe("batched");
    await group.drain();
    expect(group.idle).toBe(true);
    expect(group.runNow(insert("now")).result).toBe("now");
    expect(committed()).toEqual(["kysely", "batched", "now"]);
  });
});

/**
 * A runner whose log is synced apart, by hand: each `sync()` waits until the test settles it, so
 * the test sees what resolves before and after the commit is on disk.
 */
function withLogSyncedByHand() {
  const database = openDatabase();
  opened.push(database);
  const syncs: { resolve(): void; reject(error: Error): void }[] = [];
  const modes: string[] = [];
  const log: WriteAheadLog = {
    unsynced(commit) {
      modes.push("unsynced");
      return commit();
    },
    sync: () =>
      new Promise<void>((resolve, reject) => {
        syncs.push({ resolve, reject });
      }),
  };
  const group = new GroupCommit(database.db, { ...database.runner, log });
  const write = (name: string, durable?: boolean): BatchedWrite<string> => ({
    durable,
    sqlite(runner) {
      runner.run("INSERT INTO items (name) VALUES (?)", [name]);
      return name;
    },
    async kysely() {
      throw new Error("not on this path");
    },
  });
  return { ...database, group, syncs, modes, write };
}

/** Whether `promise` has settled after the pending turns of the event loop. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await sleep(5);
  return done;
}

describe("GroupCommit with its log synced apart (issue 15: durable on return, off the event loop)", () => {
  it("a durable write resolves only once a sync begun after its commit has completed", async () => {
    const { group, syncs, modes, write, committed } = withLogSyncedByHand();
    const pending = group.submit(write("a"));
    await sleep(5);
    expect(committed()).toEqual(["a"]);
    expect(modes).toEqual(["unsynced"]);
    expect(syncs).toHaveLength(1);
    expect(await settled(pending)).toBe(false);
    syncs[0]?.resolve();
    expect(await pending).toBe("a");
  });

  it("a write committed while a sync runs waits for the next sync, which the writes meanwhile share", async () => {
    const { group, syncs, write } = withLogSyncedByHand();
    const first = group.submit(write("first"));
    await sleep(5);
    const second = group.submit(write("second"));
    await sleep(5);
    const third = group.submit(write("third"));
    await sleep(5);
    expect(syncs).toHaveLength(1);
    syncs[0]?.resolve();
    expect(await first).toBe("first");
    expect(await settled(second)).toBe(false);
    expect(syncs).toHaveLength(2);
    syncs[1]?.resolve();
    expect(await Promise.all([second, third])).toEqual(["second", "third"]);
  });

  it("a write that need not be durable resolves at its commit, with no sync", async () => {
    const { group, syncs, write } = withLogSyncedByHand();
    expect(await group.submit(write("reservation", false))).toBe("reservation");
    expect(syncs).toHaveLength(0);
  });

  it("a failed sync fails every write of the batch (none is retried)", async () => {
    const { group, syncs, write } = withLogSyncedByHand();
    const batch = [group.submit(write("a")), group.submit(write("b"))];
    await sleep(5);
    syncs[0]?.reject(new Error("EIO: i/o error, fdatasync"));
    const outcomes = await Promise.allSettled(batch);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["rejected", "rejected"]);
    expect(syncs).toHaveLength(1);
  });

  it("runNow commits at once and tells when it is on disk", async () => {
    const { group, syncs, write, committed } = withLogSyncedByHand();
    const { result, onDisk } = group.runNow(write("now"));
    expect(result).toBe("now");
    expect(committed()).toEqual(["now"]);
    expect(await settled(onDisk)).toBe(false);
    syncs[0]?.resolve();
    await onDisk;
  });

  it("drain waits for the last sync", async () => {
    const { group, syncs, write } = withLogSyncedByHand();
    void group.submit(write("a"));
    await sleep(5);
    const drained = group.drain();
    expect(await settled(drained)).toBe(false);
    syncs[0]?.resolve();
    await drained;
  });
});
