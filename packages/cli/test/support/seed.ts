import { createHash, randomBytes } from "node:crypto";
import { createAccount, openStore, systemClock } from "@keyport/server";
import Database from "better-sqlite3";

/**
 * A code for a new account with a credit limit of 1, stored as the consent page would store it,
 * so a test can exchange it for a key over HTTP once a server runs on `database`.
 */
export async function prepareCode(
  database: string,
  email = `u${randomBytes(4).toString("hex")}@example.com`,
): Promise<{ code: string; verifier: string }> {
  const store = await openStore(database);
  try {
    const user = await createAccount({ store, clock: systemClock }, email, "a password");
    const code = randomBytes(32).toString("base64url");
    const verifier = randomBytes(32).toString("base64url");
    const now = systemClock();
    await store.createCode({
      codeHash: createHash("sha256").update(code).digest("hex"),
      userId: user?.id ?? "",
      codeChallenge: createHash("sha256").update(verifier).digest("base64url"),
      codeChallengeMethod: "S256",
      callbackUrl: "http://localhost:3000/cb",
      keyLabel: "cli test",
      limitMicros: 1_000_000,
      limitReset: null,
      keyExpiresAt: null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + 600_000),
    });
    return { code, verifier };
  } finally {
    await store.close();
  }
}

/** What all keys of a SQLite database hold reserved right now, read beside the server. */
export function reservedMicros(database: string): number {
  const db = new Database(database, { readonly: true });
  try {
    const row = db.prepare("SELECT sum(reserved_micros) AS n FROM keys").get() as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

/** Exchanges a prepared code for a key at a running server (`POST /api/v1/auth/keys`). */
export async function exchangeCode(
  base: string,
  prepared: { code: string; verifier: string },
): Promise<string> {
  const response = await fetch(`${base}/api/v1/auth/keys`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      code: prepared.code,
      code_verifier: prepared.verifier,
      code_challenge_method: "S256",
    }),
  });
  if (response.status !== 200) throw new Error(`exchange: ${response.status}`);
  return ((await response.json()) as { key: string }).key;
}

/** Forty words: at the echo's 500 ms a word, a 20-second stream. */
const WORDS = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");

/**
 * Starts a slow streamed `keyport/echo` call and reads its first chunk, so its reservation is
 * held until the stream ends; returns the reader to cancel it.
 */
export async function openStream(
  base: string,
  key: string,
): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const stream = await fetch(`${base}/api/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model: "keyport/echo",
      stream: true,
      max_tokens: 50,
      messages: [{ role: "user", content: WORDS }],
    }),
  });
  const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  return reader;
}

/**
 * A key stored directly (as an operator's `keyport keys create` would), for a new user or the
 * given one; its plaintext, hash and user.
 */
export async function storedKey(
  database: string,
  limitMicros: number | null,
  options: { isManagement?: boolean; userId?: string } = {},
) {
  const store = await openStore(database);
  try {
    const now = new Date();
    const userId = options.userId ?? `user_${randomBytes(6).toString("hex")}`;
    if (!options.userId) {
      await store.createUser({
        id: userId,
        email: `${userId}@example.com`,
        passwordHash: "x",
        createdAt: now,
      });
    }
    const key = `sk-kp-v1-${randomBytes(32).toString("hex")}`;
    const hash = createHash("sha256").update(key).digest("hex");
    await store.createKey({
      hash,
      userId,
      label: "test key",
      limitMicros,
      limitReset: null,
      expiresAt: null,
      createdAt: now,
      isManagement: options.isManagement ?? false,
    });
    return { key, hash, userId };
  } finally {
    await store.close();
  }
}
