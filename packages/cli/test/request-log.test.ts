import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approve, Browser, csrfTokenOf } from "../../server/test/support/browser.js";
import { type Child, freePort, spawnCli, waitForOk } from "./support/run-cli.js";

/**
 * Issue 12: `keyport serve` writes one JSON line per request to stdout (pino) with method,
 * route pattern, status, duration and request id, and the key's hash prefix when a key
 * authenticated; a full flow through the real process leaves none of its secrets in the output.
 */

interface LogLine {
  msg?: string;
  method?: string;
  route?: string;
  status?: number;
  duration_ms?: number;
  request_id?: string;
  key?: string;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "keyport-log-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("keyport serve: request logs (real process)", () => {
  it("every request is a JSON line with its fields; no secret of a full flow appears anywhere", async () => {
    const database = join(dir, "keyport.sqlite");
    const port = await freePort();
    const child = spawnCli(["serve", "--port", String(port), "--database", database], {
      env: { KEYPORT_CONSENT_DELAY_MS: "0", KEYPORT_ECHO_DELAY_MS: "0" },
    });
    const base = `http://127.0.0.1:${port}`;
    const secrets = new Map<string, string>();
    const responses: { requestId: string | null; status: number }[] = [];
    try {
      await waitForOk(`${base}/healthz`, child, 1200);

      // Sign up, then sign in with the password: the browser now holds a session cookie.
      const browser = new Browser(base);
      const { email, password } = await browser.signUp(
        undefined,
        `pw-${randomBytes(12).toString("hex")}`,
      );
      secrets.set("password", password);
      const verifier = randomBytes(32).toString("base64url");
      secrets.set("verifier", verifier);
      const code = await approve(browser, {
        callback_url: "http://localhost:3000/callback",
        code_challenge: createHash("sha256").update(verifier).digest("base64url"),
        code_challenge_method: "S256",
        state: "s1",
      });
      secrets.set("code", code);
      secrets.set("csrf token", csrfTokenOf((await browser.get("/signin")).html));
      for (const [name, value] of browser.cookies) secrets.set(`cookie ${name}`, value);

      const exchanged = await fetch(`${base}/api/v1/auth/keys`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": "edge-7f3a.trace:1" },
        body: JSON.stringify({ code, code_verifier: verifier, code_challenge_method: "S256" }),
      });
      expect(exchanged.status).toBe(200);
      expect(exchanged.headers.get("x-request-id")).toBe("edge-7f3a.trace:1");
      const { key } = (await exchanged.json()) as { key: string };
      secrets.set("key", key);

      for (const stream of [false, true]) {
        const chat = await fetch(`${base}/api/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
          body: JSON.stringify({
            model: "keyport/echo",
            stream,
            messages: [{ role: "user", content: "hello there" }],
          }),
        });
        await chat.text();
        responses.push({ requestId: chat.headers.get("x-request-id"), status: chat.status });
      }
      // An id that is not sane is replaced, not echoed.
      const odd = await fetch(`${base}/api/v1/key`, {
        headers: { authorization: `Bearer ${key}`, "x-request-id": "x".repeat(200) },
      });
      expect(odd.status).toBe(200);
      expect(odd.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);

      const management = await spawnCli(
        ["keys", "create-management", "--email", email, "--database", database],
        {},
      ).exited;
      expect(management.code, management.stderr).toBe(0);
      const managementKey = management.stdout.trim();
      secrets.set("management key", managementKey);
      const listed = await fetch(`${base}/api/v1/keys/${sha256(key)}`, {
        headers: { authorization: `Bearer ${managementKey}` },
      });
      expect(listed.status).toBe(200);
      expect((await fetch(`${base}/no/such/page`)).status).toBe(404);
    } finally {
      child.process.kill("SIGTERM");
    }
    const result = await child.exited;
    expect(result.code).toBe(0);

    const output = result.stdout + result.stderr;
    for (const [name, secret] of secrets) {
      expect(secret.length, name).toBeGreaterThanOrEqual(8);
      expect(output.includes(secret), `the ${name} appears in the output`).toBe(false);
    }

    const lines = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as LogLine);
    const requests = lines.filter((line) => line.msg === "request");
    expect(requests.length).toBeGreaterThanOrEqual(12);
    for (const line of requests) {
      expect(line.method).toMatch(/^(GET|POST)$/);
      expect(line.route).toMatch(/^(\/[\w:./-]*|unmatched)$/);
      expect(typeof line.status).toBe("number");
      expect(line.duration_ms).toBeGreaterThanOrEqual(0);
      expect(line.request_id).toMatch(/^[\w.:-]{1,128}$/);
    }
    const routes = requests.map((line) => `${line.method} ${line.route} ${line.status}`);
    expect(routes).toEqual(
      expect.arrayContaining([
        "POST /signup 303",
        "POST /signin 303",
        "GET /auth 200",
        "POST /auth 303",
        "POST /api/v1/auth/keys 200",
        "POST /api/v1/chat/completions 200",
        "GET /api/v1/keys/:hash 200",
        "GET unmatched 404",
      ]),
    );
    // The ids in the logs are the ones the responses carried; one id per request.
    const ids = requests.map((line) => line.request_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain("edge-7f3a.trace:1");
    for (const { requestId } of responses) expect(ids).toContain(requestId);
    // A key is named by a prefix of its hash, the management key too.
    const keyed = requests.filter((line) => line.key !== undefined);
    const keyHash = sha256(secrets.get("key") as string);
    const managementHash = sha256(secrets.get("management key") as string);
    expect(keyed.filter((line) => line.route === "/api/v1/chat/completions")).toHaveLength(2);
    for (const line of keyed) {
      expect(line.key).toHaveLength(16);
      expect([keyHash, managementHash].some((hash) => hash.startsWith(line.key as string))).toBe(
        true,
      );
    }
    expect(keyed.map((line) => line.key)).toContain(managementHash.slice(0, 16));
  }, 120_000);

  it("a burst cut short by SIGTERM leaves every answered request's line, whole", async () => {
    let ids: string[] = [];
    const stdout = await servedUntilSigterm("burst", async (base) => {
      const answers = await Promise.all(
        Array.from({ length: 400 }, () => fetch(`${base}/api/v1/providers`)),
      );
      ids = answers.map((answer) => answer.headers.get("x-request-id") as string);
      await Promise.all(answers.map((answer) => answer.arrayBuffer()));
    });
    const logged = stdout
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as LogLine).request_id);
    for (const id of ids) expect(logged).toContain(id);
  }, 60_000);

  it("a log reader that stops reading does not stop the server; its lines follow when it reads again", async () => {
    let answered = 0;
    const stdout = await servedUntilSigterm("stall", async (base, child) => {
      // Nothing more is read from the server's stdout: the pipe (64 KiB) fills after a few
      // hundred lines, and a log written synchronously would then block the event loop.
      child.process.stdout?.pause();
      for (let round = 0; round < 60; round++) {
        const answers = await Promise.all(
          Array.from({ length: 50 }, () =>
            fetch(`${base}/api/v1/providers`, { signal: AbortSignal.timeout(10_000) }),
          ),
        );
        for (const answer of answers) {
          await answer.arrayBuffer();
          if (answer.status === 200) answered += 1;
        }
      }
      expect(answered).toBe(3000);
      child.process.stdout?.resume();
    });
    const lines = stdout.trim().split("\n");
    // Nothing was dropped (16 MiB may wait), and every line arrived whole.
    expect(
      lines.filter((line) => (JSON.parse(line) as LogLine).msg === "request").length,
    ).toBeGreaterThanOrEqual(3000);
  }, 120_000);
});

/**
 * Runs `keyport serve` on a database of its own named `name`, calls `use` once it is ready, then
 * stops it with SIGTERM; resolves with its stdout once it has exited 0.
 */
async function servedUntilSigterm(
  name: string,
  use: (base: string, child: Child) => Promise<void>,
): Promise<string> {
  const port = await freePort();
  const child = spawnCli([
    "serve",
    "--port",
    String(port),
    "--database",
    join(dir, `${name}.sqlite`),
  ]);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForOk(`${base}/healthz`, child, 1200);
    await use(base, child);
  } finally {
    child.process.kill("SIGTERM");
  }
  const result = await child.exited;
  expect(result.code).toBe(0);
  return result.stdout;
}
