import { afterEach, describe, expect, it } from "vitest";
import { querySql } from "../../server/test/gateway/support.js";
import { dialects, type TestDatabase } from "../../server/test/support/databases.js";
import { type Child, freePort, spawnCli, waitForOk } from "./support/run-cli.js";
import { storedKey } from "./support/seed.js";

/**
 * Issue 8, item 4, with real `keyport serve` processes: a SIGKILL mid-stream neither loses what
 * was delivered (billed to the last checkpoint) nor locks the budget past a short lease, and a
 * long stream on a live server keeps its lease. `keyport/echo` answers with the last message, a
 * word per token: 1 micro-credit per prompt word, 2 per reply word; its worst case is the body's
 * bytes plus `max_tokens × 2`.
 */

const LEASE_MS = 1500;
/** Each test starts two or three servers, which can take a while on a loaded machine. */
const TIMEOUT_MS = 120_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const words = (count: number) => Array.from({ length: count }, (_, i) => `w${i}`).join(" ");

/** A stream body of `count` words, answered in full (max_tokens = count). */
function echoBody(count: number, stream = true): string {
  return JSON.stringify({
    model: "keyport/echo",
    stream,
    max_tokens: count,
    messages: [{ role: "user", content: words(count) }],
  });
}
const reservationOf = (body: string) =>
  Buffer.byteLength(body) + (JSON.parse(body) as { max_tokens: number }).max_tokens * 2;

/** A running `keyport serve` on `database`. */
async function serve(database: string, env: Record<string, string> = {}) {
  const port = await freePort();
  const child = spawnCli(["serve", "--port", String(port)], {
    env: {
      KEYPORT_DATABASE: database,
      KEYPORT_LEASE_MS: String(LEASE_MS),
      KEYPORT_ECHO_DELAY_MS: "20",
      ...env,
    },
  });
  const base = `http://127.0.0.1:${port}`;
  // Start-up runs the TypeScript sources through tsx: slow on a loaded machine.
  await waitForOk(`${base}/healthz`, child, 1200);
  return { child, base };
}

function chat(base: string, key: string, body: string, signal?: AbortSignal) {
  return fetch(`${base}/api/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body,
    signal,
  });
}

/** Reads an echo stream, counting the reply words that arrived. */
class EchoReader {
  private text = "";
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  constructor(response: Response) {
    this.reader = (response.body as ReadableStream<Uint8Array>).getReader();
  }
  get words(): number {
    return (this.text.match(/"content":" ?w\d+"/g) ?? []).length;
  }
  get done(): boolean {
    return this.text.includes("data: [DONE]");
  }
  async until(enough: () => boolean): Promise<void> {
    while (!enough()) {
      const { value, done } = await this.reader.read();
      if (done) return;
      this.text += this.decoder.decode(value, { stream: true });
    }
  }
}

describe.each(dialects)("issue 8.4: crashes neither lose nor lock budget ($name)", (dialect) => {
  let database: TestDatabase | undefined;
  const children: Child[] = [];

  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.process.kill("SIGKILL");
      await child.exited;
    }
    await database?.drop();
    database = undefined;
  });

  async function keyState(db: TestDatabase, hash: string) {
    const [row] = await querySql(
      db,
      "SELECT usage_micros, reserved_micros FROM keys WHERE hash = ?",
      [hash],
    );
    return { usage: Number(row?.usage_micros), reserved: Number(row?.reserved_micros) };
  }

  it(
    "SIGKILL mid-stream: what was delivered up to the last checkpoint is billed, and the reservation comes back",
    async () => {
      database = await dialect.fresh();
      const db = database;
      const body = echoBody(300);
      const reservation = reservationOf(body);
      // Room for one such request and a half: while one is held, a second one does not fit.
      const { key, hash } = await storedKey(db.url, Math.floor(1.5 * reservation));
      const [first, second] = await Promise.all([
        serve(db.url),
        dialect.name === "postgres" ? serve(db.url) : undefined,
      ]);
      if (!first) throw new Error("unreachable");
      children.push(first.child);
      if (second) children.push(second.child);

      const reader = new EchoReader(await chat(first.base, key, body));
      // More than two checkpoints' worth (a checkpoint every leaseMs / 6 = 250 ms, a word every
      // 20 ms), then as much again, so a checkpoint was taken after `delivered` words had gone out.
      await reader.until(() => reader.words >= 30);
      const delivered = reader.words;
      await reader.until(() => reader.words >= delivered + 25);
      expect(reader.done).toBe(false);
      expect((await keyState(db, hash)).reserved).toBeGreaterThan(0);
      first.child.process.kill("SIGKILL");
      await first.child.exited;
      children.splice(children.indexOf(first.child), 1);

      if (second) {
        // Another instance on the same database: until the lease expires the budget is held …
        const refused = await chat(second.base, key, echoBody(300, false));
        expect(refused.status).toBe(402);
        await refused.arrayBuffer();
        // … and within about two leases it comes back, what was delivered billed.
        await waitFor(async () => (await keyState(db, hash)).reserved === 0, 4 * LEASE_MS);
      } else {
        // One server per SQLite file: the next start on it ends the dead server's leases.
        const restarted = await serve(db.url);
        children.push(restarted.child);
        expect((await keyState(db, hash)).reserved).toBe(0);
      }
      const after = await keyState(db, hash);
      expect(after.reserved).toBe(0);
      expect(after.usage).toBeGreaterThanOrEqual(2 * delivered);
      expect(after.usage).toBeLessThanOrEqual(reservation);
      if (second) {
        const served = await chat(second.base, key, echoBody(300, false));
        expect(served.status).toBe(200);
        await served.arrayBuffer();
      }
    },
    TIMEOUT_MS,
  );

  it(
    "a stream lasting more than 3 leases on a live server keeps its lease, and settles exactly once",
    async () => {
      database = await dialect.fresh();
      const db = database;
      const leaseMs = 600;
      const env = { KEYPORT_LEASE_MS: String(leaseMs), KEYPORT_ECHO_DELAY_MS: "40" };
      // 60 words at 40 ms: about 2.4 s, four leases.
      const body = echoBody(60);
      const reservation = reservationOf(body);
      const { key, hash } = await storedKey(db.url, Math.floor(1.5 * reservation));
      const servers = await Promise.all([
        serve(db.url, env),
        // Another instance sweeping expired leases on the same database.
        dialect.name === "postgres" ? serve(db.url, env) : undefined,
      ]);
      for (const server of servers) if (server) children.push(server.child);
      const [first] = servers;
      if (!first) throw new Error("unreachable");

      const startedAt = Date.now();
      const reader = new EchoReader(await chat(first.base, key, body));
      const reading = reader.until(() => reader.done);
      // Until the request settles (its record is written in the same transaction as the
      // release) its reservation stays held: no sweeper, of this instance or another, takes it.
      let heldFor = 0;
      for (;;) {
        const elapsed = Date.now() - startedAt;
        const state = await keyState(db, hash);
        if (state.reserved === 0) {
          const rows = await querySql(db, "SELECT status FROM requests WHERE key_hash = ?", [hash]);
          expect(
            rows.map((row) => Number(row.status)),
            `released ${elapsed} ms into the stream`,
          ).toEqual([200]);
          break;
        }
        expect(state.reserved).toBe(reservation);
        heldFor = elapsed;
        await sleep(100);
      }
      await reading;
      expect(heldFor).toBeGreaterThan(3 * leaseMs);
      expect(reader.words).toBe(60);

      // 60 prompt words at 1, 60 reply words at 2.
      const settled = 60 + 60 * 2;
      await waitFor(async () => (await keyState(db, hash)).reserved === 0, 2000);
      expect(await keyState(db, hash)).toEqual({ usage: settled, reserved: 0 });
      const rows = await querySql(db, "SELECT cost_micros FROM requests WHERE key_hash = ?", [
        hash,
      ]);
      expect(rows.map((row) => Number(row.cost_micros))).toEqual([settled]);
      // A sweep later nothing was released or billed twice.
      await sleep(leaseMs);
      expect(await keyState(db, hash)).toEqual({ usage: settled, reserved: 0 });
    },
    TIMEOUT_MS,
  );
});

/** Polls `check` every 50 ms until it holds, for at most `timeoutMs`. */
async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}
