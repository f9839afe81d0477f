import { createHash, randomBytes } from "node:crypto";
import { type ConfigInput, parseConfig, type RunningServer, startServer } from "../../src/index.js";
import type { TestDatabase } from "./databases.js";

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
export const NO_RATE_LIMITS = {
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
      ...options,
      database: database.url,
    }),
    clock,
  );
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
