import { randomBytes } from "node:crypto";
import { createAccount, openStore, systemClock } from "@keyport/server";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { querySql } from "../../server/test/gateway/support.js";
import { dialects, type TestDatabase } from "../../server/test/support/databases.js";
import { type Child, freePort, spawnCli, waitForOk } from "./support/run-cli.js";
import { prepareCode, storedKey } from "./support/seed.js";

/**
 * Issue 10 with real `keyport serve` processes: two instances on one PostgreSQL (behind what
 * would be a load balancer: one public URL) keep every guarantee one instance gives. Instances
 * start once per `describe`; each test works on its own codes, keys and accounts. `keyport/echo`
 * bills 1 micro-credit per prompt word and 2 per reply word; its worst case is the body's bytes
 * plus `max_tokens × 2`.
 */

/** Real server processes need a real PostgreSQL server: the file is skipped without one. */
const postgres = process.env.KEYPORT_TEST_POSTGRES_URL
  ? dialects.find((dialect) => dialect.name === "postgres")
  : undefined;
const PUBLIC_URL = "http://localhost:8080";
/** Start-up runs the TypeScript sources through tsx: slow on a loaded machine. */
const START_TIMEOUT_MS = 60_000;
const TIMEOUT_MS = 30_000;

interface Instance {
  readonly child: Child;
  readonly base: string;
}

/** `count` `keyport serve` processes on `database`, started together. */
async function serveMany(
  database: string,
  count: number,
  env: Record<string, string>,
): Promise<Instance[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const port = await freePort();
      const child = spawnCli(["serve", "--port", String(port)], {
        env: { KEYPORT_DATABASE: database, KEYPORT_PUBLIC_URL: PUBLIC_URL, ...env },
      });
      const base = `http://127.0.0.1:${port}`;
      await waitForOk(`${base}/healthz`, child, 1200);
      return { child, base };
    }),
  );
}

/** Ends the processes this file started, by their own handles. */
async function stopAll(instances: readonly Instance[]): Promise<void> {
  for (const { child } of instances) {
    if (child.process.exitCode === null && child.process.signalCode === null) {
      child.process.kill("SIGTERM");
    }
    await child.exited;
  }
}

/** The database URL with an `application_name`, so a test can cut exactly these connections. */
function named(url: string, applicationName: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set("application_name", applicationName);
  return parsed.href;
}

function exchange(base: string, body: Record<string, unknown>) {
  return fetch(`${base}/api/v1/auth/keys`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

function exchangeBody(prepared: { code: string; verifier: string }) {
  return { code: prepared.code, code_verifier: prepared.verifier, code_challenge_method: "S256" };
}

function keyInfo(base: string, key: string) {
  return fetch(`${base}/api/v1/key`, { headers: { authorization: `Bearer ${key}` } });
}

const words = (count: number) => Array.from({ length: count }, (_, i) => `w${i}`).join(" ");

/** A non-streamed echo call of `count` words, answered in full. */
function echoBody(count: number): string {
  return JSON.stringify({
    model: "keyport/echo",
    max_tokens: count,
    messages: [{ role: "user", content: words(count) }],
  });
}
const reservationOf = (body: string) =>
  Buffer.byteLength(body) + (JSON.parse(body) as { max_tokens: number }).max_tokens * 2;

function chat(base: string, key: string, body: string) {
  return fetch(`${base}/api/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body,
  });
}

async function keyState(database: TestDatabase, hash: string) {
  const [row] = await querySql(
    database,
    "SELECT usage_micros, reserved_micros FROM keys WHERE hash = ?",
    [hash],
  );
  return { usage: Number(row?.usage_micros), reserved: Number(row?.reserved_micros) };
}

/** Polls `check` every 50 ms until it holds or `ms` run out (a bounded loop). */
async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (let waited = 0; waited <= ms; waited += 50) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** What an echo answer billed, from its usage (1 per prompt word, 2 per reply word). */
function echoCost(answer: { usage: { prompt_tokens: number; completion_tokens: number } }) {
  return answer.usage.prompt_tokens + 2 * answer.usage.completion_tokens;
}

/** The session cookie `Set-Cookie` gave, as a `Cookie` header value. */
function sessionCookie(response: Response): string {
  const cookie = response.headers
    .getSetCookie()
    .find((line) => line.startsWith("keyport_session="));
  if (!cookie) throw new Error("no session cookie");
  return cookie.split(";")[0] as string;
}

describe.skipIf(!postgres)("issue 10: two keyport serve instances on one PostgreSQL", () => {
  let database: TestDatabase;
  let instances: Instance[] = [];
  const applicationName = `keyport_scale_${randomBytes(4).toString("hex")}`;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    database = await (postgres as NonNullable<typeof postgres>).fresh();
    instances = await serveMany(named(database.url, applicationName), 2, {
      KEYPORT_EXCHANGE_RATE_LIMIT: "1000000",
      KEYPORT_SIGNIN_RATE_LIMIT: "1000000",
      KEYPORT_GATEWAY_RATE_LIMIT: "0",
      KEYPORT_GATEWAY_MAX_IN_FLIGHT: "0",
      KEYPORT_ECHO_DELAY_MS: "5",
      KEYPORT_LEASE_MS: "1500",
    });
    [a, b] = instances as [Instance, Instance];
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    await stopAll(instances);
    await database?.drop();
  });

  it("a code issued through A is exchanged on B", async () => {
    const prepared = await prepareCode(database.url);
    const response = await exchange(b.base, exchangeBody(prepared));
    expect(response.status).toBe(200);
    const { key } = (await response.json()) as { key: string };
    expect((await keyInfo(a.base, key)).status).toBe(200);
  });

  it("a session signed in on A is signed in on B", async () => {
    const email = `s${randomBytes(4).toString("hex")}@example.com`;
    const store = await openStore(database.url);
    await createAccount({ store, clock: systemClock }, email, "a long enough password");
    await store.close();
    const page = await fetch(`${a.base}/signin`);
    const anonymous = sessionCookie(page);
    const csrf = (await page.text()).match(/name="csrf_token" value="([^"]+)"/)?.[1] ?? "";
    const signIn = await fetch(`${a.base}/signin`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: anonymous },
      body: new URLSearchParams({ email, password: "a long enough password", csrf_token: csrf }),
    });
    expect(signIn.status).toBe(303);
    const signedIn = sessionCookie(signIn);
    const home = await fetch(`${b.base}/`, { headers: { cookie: signedIn } });
    expect(home.status).toBe(200);
    expect(await home.text()).toContain(email);
  });

  it(
    "50 concurrent exchanges of one code over both instances: exactly one key, 49 × 403",
    async () => {
      const prepared = await prepareCode(database.url);
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          exchange((i % 2 ? b : a).base, exchangeBody(prepared)),
        ),
      );
      const statuses = responses.map((response) => response.status);
      await Promise.all(responses.map((response) => response.arrayBuffer()));
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      expect(statuses.filter((status) => status === 403)).toHaveLength(49);
    },
    TIMEOUT_MS,
  );

  it("a proven replay (the right verifier) on the other instance revokes the key", async () => {
    const prepared = await prepareCode(database.url);
    const first = await exchange(a.base, exchangeBody(prepared));
    expect(first.status).toBe(200);
    const { key } = (await first.json()) as { key: string };
    expect((await keyInfo(b.base, key)).status).toBe(200);
    expect((await exchange(b.base, exchangeBody(prepared))).status).toBe(403);
    expect((await keyInfo(a.base, key)).status).toBe(401);
    expect((await keyInfo(b.base, key)).status).toBe(401);
  });

  it("a key revoked through A is refused by B on the very next request", async () => {
    const management = await storedKey(database.url, null, { isManagement: true });
    const { key, hash } = await storedKey(database.url, 1_000_000, { userId: management.userId });
    expect((await keyInfo(b.base, key)).status).toBe(200);
    const revoked = await fetch(`${a.base}/api/v1/keys/${hash}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${management.key}` },
    });
    expect(revoked.status).toBe(200);
    expect((await keyInfo(b.base, key)).status).toBe(401);
    expect((await chat(b.base, key, echoBody(3))).status).toBe(401);
  });

  it(
    "concurrent gateway calls through both instances never push a near-empty key past its limit",
    async () => {
      const body = echoBody(20);
      const cost = 20 + 2 * 20;
      // Room for 3½ worst cases: no more than 3 calls can hold a reservation at once.
      const limit = Math.floor(3.5 * reservationOf(body));
      const { key, hash } = await storedKey(database.url, limit);
      const responses = await Promise.all(
        Array.from({ length: 40 }, (_, i) => chat((i % 2 ? b : a).base, key, body)),
      );
      const statuses = responses.map((response) => response.status);
      await Promise.all(responses.map((response) => response.arrayBuffer()));
      const served = statuses.filter((status) => status === 200).length;
      expect(served).toBeGreaterThanOrEqual(1);
      expect(statuses.every((status) => status === 200 || status === 402)).toBe(true);
      const state = await keyState(database, hash);
      expect(state.reserved).toBe(0);
      expect(state.usage).toBe(served * cost);
      expect(state.usage).toBeLessThanOrEqual(limit);
    },
    TIMEOUT_MS,
  );

  it(
    "pg_terminate_backend mid-traffic: both stay up, failures are clean 503s, service returns, nothing double-spent",
    async () => {
      const { key, hash } = await storedKey(database.url, 100_000_000);
      const body = echoBody(10);
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      const settled: number[] = [];
      const failures: { status: number; text: string }[] = [];
      try {
        const call = async (i: number) => {
          const response = await chat((i % 2 ? b : a).base, key, body).catch(
            (error: Error) => new Response(`${error.message}: ${error.cause}`, { status: 599 }),
          );
          const text = await response.text();
          if (response.status === 200) settled.push(echoCost(JSON.parse(text)));
          else failures.push({ status: response.status, text });
        };
        const traffic = Array.from({ length: 60 }, (_, i) =>
          new Promise((resolve) => setTimeout(resolve, i * 5)).then(() => call(i)),
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        const cut = await admin.query(
          "SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE application_name = $1",
          [applicationName],
        );
        expect(cut.rows.length).toBeGreaterThan(0);
        await Promise.all(traffic);
      } finally {
        await admin.end();
      }
      for (const { child } of [a, b]) expect(child.process.exitCode, child.stderr()).toBeNull();
      for (const failure of failures) {
        expect(
          failure.status,
          `${failure.text}\nA: ${a.child.stderr()}\nB: ${b.child.stderr()}`,
        ).toBe(503);
        expect(failure.text).not.toMatch(/terminat|postgres|connection|sql|pg_/i);
      }
      // Service returns by itself on both instances.
      for (const instance of [a, b]) {
        let ok = false;
        for (let attempt = 0; attempt < 20 && !ok; attempt++) {
          const response = await chat(instance.base, key, body);
          const text = await response.text();
          if (response.status === 200) {
            settled.push(echoCost(JSON.parse(text)));
            ok = true;
          } else await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(ok).toBe(true);
      }
      for (const { child } of [a, b]) expect(child.process.exitCode).toBeNull();
      // Reservations cut off from their settle come back when their lease ends.
      expect(await waitFor(async () => (await keyState(database, hash)).reserved === 0, 6000)).toBe(
        true,
      );
      const state = await keyState(database, hash);
      // Never double-spent: the key is charged at most what the answered calls cost. (A call
      // answered 200 whose settle was then cut may go unbilled once its lease ends: the
      // operator's loss, never the key's; see issue 10's report.)
      expect(state.usage).toBeLessThanOrEqual(settled.reduce((sum, cost) => sum + cost, 0));
      expect(state.usage).toBeGreaterThan(0);
    },
    TIMEOUT_MS,
  );
});

const redisUrl = process.env.KEYPORT_TEST_REDIS_URL;

/**
 * Rate limits counted in a store both instances share: PostgreSQL, and Redis when
 * `KEYPORT_TEST_REDIS_URL` names one (`.ci/run` starts it).
 */
const rateLimitStores: { name: string; env: () => Record<string, string> }[] = [
  { name: "PostgreSQL", env: () => ({}) },
  ...(redisUrl
    ? [
        {
          name: "Redis",
          env: () => ({
            KEYPORT_REDIS_URL: redisUrl,
            // A prefix of this run's own, so parallel runs sharing the Redis never meet.
            KEYPORT_REDIS_PREFIX: `keyport-test-${randomBytes(6).toString("hex")}:`,
          }),
        },
      ]
    : []),
];

describe.skipIf(!postgres).each(rateLimitStores)(
  "issue 10: rate limits hold across instances ($name)",
  ({ env }) => {
    let database: TestDatabase;
    let instances: Instance[] = [];

    beforeAll(async () => {
      database = await (postgres as NonNullable<typeof postgres>).fresh();
      instances = await serveMany(database.url, 2, {
        KEYPORT_EXCHANGE_RATE_LIMIT: "5",
        KEYPORT_SIGNIN_RATE_LIMIT: "5",
        KEYPORT_GATEWAY_RATE_LIMIT: "5",
        KEYPORT_ECHO_DELAY_MS: "0",
        ...env(),
      });
    }, START_TIMEOUT_MS);

    afterAll(async () => {
      await stopAll(instances);
      await database?.drop();
    });

    it("gateway, 5 a minute per key: the 6th call, alternating instances, is 429", async () => {
      const { key } = await storedKey(database.url, 1_000_000);
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const response = await chat(instances[i % 2]?.base ?? "", key, echoBody(2));
        statuses.push(response.status);
        if (i === 5) {
          expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
          expect(((await response.json()) as { error: { code: number } }).error.code).toBe(429);
        } else await response.arrayBuffer();
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    });

    it("exchange, 5 a minute per address: the 6th, alternating instances, is 429", async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const response = await exchange(instances[i % 2]?.base ?? "", { code: `nope-${i}` });
        statuses.push(response.status);
        if (i === 5) expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        await response.arrayBuffer();
      }
      expect(statuses).toEqual([403, 403, 403, 403, 403, 429]);
    });

    it("sign-in, 5 a minute per address: the 6th, alternating instances, is 429", async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        // No CSRF token: refused (403) once counted, which is all this needs.
        const response = await fetch(`${instances[i % 2]?.base}/signin`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "email=a%40example.com&password=wrong",
        });
        statuses.push(response.status);
        await response.arrayBuffer();
      }
      expect(statuses.slice(0, 5).every((status) => status !== 429)).toBe(true);
      expect(statuses[5]).toBe(429);
    });
  },
);
