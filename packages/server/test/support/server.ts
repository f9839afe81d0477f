import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { type ConfigInput, parseConfig, type RunningServer, startServer } from "../../src/index.js";
import type { Dialect, TestDatabase } from "./databases.js";

/** A clock the test moves by hand, so expiry is tested without sleeping. */
export interface TestClock {
  (): Date;
  advance(ms: number): void;
}

/** Starts at a fixed instant; `advance` moves it forward. */
export function testClock(start = Date.parse("2026-01-01T00:00:00.000Z")): TestClock {
  let now = start;
  const clock = (() => new Date(now)) as TestClock;
  clock.advance = (ms: number) => {
    now += ms;
  };
  return clock;
}

/** Rate limits high enough that tests which do not test them never meet them. */
const NO_RATE_LIMITS = {
  exchangeRateLimit: 1_000_000,
  signInRateLimit: 1_000_000,
  signUpRateLimit: 1_000_000,
} as const satisfies ConfigInput;

/** A real server over loopback on an ephemeral port, on the given test database. */
export function startTestServer(
  database: TestDatabase,
  options: ConfigInput = {},
  clock: TestClock = testClock(),
): Promise<RunningServer> {
  return startServer(
    parseConfig({
      port: 0,
      host: "127.0.0.1",
      ...NO_RATE_LIMITS,
      // Tests that approve in the same instant (a frozen clock) are not testing the delay.
      consentDelayMs: 0,
      ...options,
      database: database.url,
    }),
    clock,
  );
}

/** The server a suite shares, with its database and clock; valid once the suite's set-up ran. */
export interface ServerFixture {
  readonly server: RunningServer;
  readonly database: TestDatabase;
  readonly clock: TestClock;
  /** Another server on a fresh database of the same dialect, closed with the suite's own. */
  another(options?: ConfigInput, clock?: TestClock): Promise<RunningServer>;
}

/**
 * Registers, for the enclosing `describe`, a server on a fresh database of `dialect` started
 * before its tests and closed (database dropped) after them. Suites loop over the dialects with
 * `describe.each(dialects)` and call this once inside.
 * @example
 * describe.each(dialects)("GET /api/v1/key ($name)", (dialect) => {
 *   const running = useServer(dialect);
 *   it("…", async () => keyInfo(running.server.url, key));
 * });
 */
export function useServer(dialect: Dialect, options: ConfigInput = {}): ServerFixture {
  const started: { server: RunningServer; database: TestDatabase }[] = [];
  let clock: TestClock | undefined;
  const main = () => {
    const first = started[0];
    if (!first) throw new Error("useServer: the server starts in beforeAll; use it in a test");
    return first;
  };
  const start = async (options: ConfigInput, clock: TestClock) => {
    const database = await dialect.fresh();
    const server = await startTestServer(database, options, clock).catch(async (error) => {
      await database.drop();
      throw error;
    });
    started.push({ server, database });
    return server;
  };
  beforeAll(async () => {
    clock = testClock();
    await start(options, clock);
  });
  afterAll(async () => {
    for (const { server, database } of started.splice(0).reverse()) {
      await server.close();
      await database.drop();
    }
  });
  return {
    get server() {
      return main().server;
    },
    get database() {
      return main().database;
    },
    get clock() {
      main();
      return clock as TestClock;
    },
    another: (extra = {}, extraClock = testClock()) => start(extra, extraClock),
  };
}

/** A fresh RFC 7636 verifier (43 chars of base64url) computed independently of the server. */
export function newVerifier(): string {
  return randomBytes(32).toString("base64url");
}

/** base64url(SHA-256(verifier)) without padding, straight from node:crypto. */
export function s256(verifier: string): string {
  return createHash("sha256").update(verifier, "ascii").digest("base64url");
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** `POST /api/v1/auth/keys` with a JSON body (or a raw string body). */
export function exchange(
  baseUrl: string,
  body: unknown,
  init: { raw?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return fetch(`${baseUrl}/api/v1/auth/keys`, {
    method: "POST",
    headers: { "content-type": "application/json", ...init.headers },
    body: init.raw ?? JSON.stringify(body),
  });
}

/** `GET /api/v1/key` with a bearer key. */
export function keyInfo(baseUrl: string, key: string): Promise<Response> {
  return fetch(`${baseUrl}/api/v1/key`, { headers: { authorization: `Bearer ${key}` } });
}
