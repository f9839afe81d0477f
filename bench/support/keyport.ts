import type { ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createAccount, openStore, systemClock } from "@keyport/server";
import type { LoadRequest } from "./load.js";
import { startProcess } from "./processes.js";

/** A code stored as the consent page would store it, and the verifier that redeems it. */
export interface PreparedCode {
  readonly code: string;
  readonly verifier: string;
}

/**
 * Creates an account and `count` S256 codes for it directly in the database at `path`, so a
 * benchmark measures the exchange rather than the consent pages.
 */
export async function prepareCodes(
  path: string,
  count: number,
  terms: { label: string; limitMicros: number | null; limitReset: "monthly" | null },
): Promise<PreparedCode[]> {
  const store = await openStore(path);
  const user = await createAccount(
    { store, clock: systemClock },
    "bench@example.com",
    "bench password",
  );
  if (!user) throw new Error("could not create the bench account");
  const now = systemClock();
  const prepared: PreparedCode[] = [];
  for (let i = 0; i < count; i++) {
    const code = randomBytes(32).toString("base64url");
    const verifier = randomBytes(32).toString("base64url");
    await store.createCode({
      codeHash: createHash("sha256").update(code).digest("hex"),
      userId: user.id,
      codeChallenge: createHash("sha256").update(verifier).digest("base64url"),
      codeChallengeMethod: "S256",
      callbackUrl: "http://localhost:3000/callback",
      keyLabel: terms.label,
      limitMicros: terms.limitMicros,
      limitReset: terms.limitReset,
      keyExpiresAt: null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + 3_600_000),
    });
    prepared.push({ code, verifier });
  }
  await store.close();
  return prepared;
}

/** The exchange request body for a prepared code. */
export function exchangeBody(prepared: PreparedCode): string {
  return JSON.stringify({
    code: prepared.code,
    code_verifier: prepared.verifier,
    code_challenge_method: "S256",
  });
}

/**
 * Runs `keyport serve` in a child process on `port` over `database`. `BENCH_CPU_PROFILE=DIR`
 * writes a V8 CPU profile of it to DIR when it stops (`BENCH_PROFILE_INTERVAL` µs per sample).
 */
export function startKeyport(
  port: number,
  database: string,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const dir = process.env.BENCH_CPU_PROFILE;
  const profile = dir
    ? [
        "--cpu-prof",
        `--cpu-prof-dir=${dir}`,
        `--cpu-prof-interval=${process.env.BENCH_PROFILE_INTERVAL ?? "1000"}`,
      ]
    : [];
  return startProcess(
    process.execPath,
    [
      ...profile,
      "packages/cli/dev/keyport.mjs",
      "serve",
      "--port",
      String(port),
      "--database",
      database,
    ],
    `http://127.0.0.1:${port}/healthz`,
    env,
  );
}

/** Exchanges one prepared code for its key over HTTP (a bench's set-up, not its load). */
export async function exchangeKey(baseUrl: string, prepared: PreparedCode): Promise<string> {
  const response = await fetch(`${baseUrl}/api/v1/auth/keys`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: exchangeBody(prepared),
  });
  const { key } = (await response.json()) as { key?: string };
  if (!key) throw new Error(`exchange failed with ${response.status}`);
  return key;
}

const KEY_SHAPE = /^sk-kp-v1-[0-9a-f]{64}$/;

/**
 * The exchange as load: each call takes the next prepared code (each code is single-use) and
 * checks that the answer is a key.
 */
export function exchangeRequests(codes: readonly PreparedCode[]): () => LoadRequest {
  let next = 0;
  return () => {
    const prepared = codes[next++];
    if (!prepared) throw new Error("ran out of prepared codes");
    return {
      method: "POST",
      path: "/api/v1/auth/keys",
      headers: { "content-type": "application/json" },
      body: exchangeBody(prepared),
      check(status, body) {
        const parsed = JSON.parse(body) as { key?: unknown };
        if (status !== 200 || typeof parsed.key !== "string" || !KEY_SHAPE.test(parsed.key))
          throw new Error(`${status} ${body.slice(0, 120)}`);
      },
    };
  };
}
