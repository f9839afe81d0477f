import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/index.js";
import { mintKeyFor } from "./gateway/support.js";
import { approve, Browser } from "./support/browser.js";
import { dialects, type TestDatabase } from "./support/databases.js";
import { exchange, newVerifier, s256, startTestServer, testClock } from "./support/server.js";

// Deadlines short enough for a test; the defaults are 10 s and 30 s.
const DEADLINES = { headersTimeoutMs: 300, requestTimeoutMs: 600 };
/** Far past the deadlines (even on a loaded machine): a slow client still talking by then was not cut. */
const GIVE_UP_MS = 15_000;

/** How a raw connection ended: the status line the server sent (if any), and when. */
interface Ending {
  readonly status: number | undefined;
  readonly afterMs: number;
  /** The client reached the end of what it meant to send (the server never cut it). */
  readonly finished: boolean;
}

/**
 * A client over a raw socket that sends `head` at once and then `trickle`, one byte every
 * `everyMs`; it stops by itself when the server answers or closes, or after `giveUpMs`.
 */
function slowClient(
  url: string,
  head: string,
  trickle: string,
  everyMs: number,
  giveUpMs = GIVE_UP_MS,
): Promise<Ending> {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let answer = "";
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const end = (finished: boolean) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1];
      resolve({
        status: status ? Number(status) : undefined,
        afterMs: Date.now() - started,
        finished,
      });
    };
    const giveUp = setTimeout(() => end(true), giveUpMs);
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
      if (answer.includes("\r\n")) end(false);
    });
    socket.on("close", () => end(false));
    socket.on("error", () => end(false));
    socket.on("connect", () => {
      socket.write(head);
      timer = setInterval(() => {
        if (sent >= trickle.length) return;
        socket.write(trickle.charAt(sent++));
      }, everyMs);
    });
  });
}

function postHead(path: string, length: number, extra = ""): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${length}\r\n${extra}\r\n`
  );
}

describe.each(dialects)("DESIGN invariant 7: header and body read deadlines ($name)", (dialect) => {
  let database: TestDatabase;
  let server: RunningServer;

  beforeAll(async () => {
    database = await dialect.fresh();
    server = await startTestServer(database, { ...DEADLINES, echoDelayMs: 150 });
  });

  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it("a body sent a byte at a time is cut at the request deadline (408 or closed)", async () => {
    const body = JSON.stringify({ code: "x".repeat(200) });
    const ending = await slowClient(
      server.url,
      postHead("/api/v1/auth/keys", body.length),
      body,
      100,
    );
    expect(ending.finished).toBe(false);
    if (ending.status !== undefined) expect(ending.status).toBe(408);
  });

  it("headers sent a byte at a time are cut at the headers deadline", async () => {
    const head = postHead("/api/v1/auth/keys", 2, `X-Padding: ${"p".repeat(200)}\r\n`);
    const ending = await slowClient(server.url, "", head, 20);
    expect(ending.finished).toBe(false);
    if (ending.status !== undefined) expect(ending.status).toBe(408);
  });

  it("the deadline bounds receiving the request, not answering it: a long SSE stream completes", async () => {
    const { key } = await mintKeyFor(server);
    const started = Date.now();
    const response = await fetch(`${server.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "keyport/echo",
        stream: true,
        messages: [{ role: "user", content: "one two three four five six seven eight" }],
      }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    // Eight words 150 ms apart: the stream outlived the 600 ms request deadline.
    expect(Date.now() - started).toBeGreaterThan(DEADLINES.requestTimeoutMs);
    expect(text).toContain("eight");
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it("200 slow connections do not stop a normal client's sign-up, consent and exchange", async () => {
    const body = JSON.stringify({ code: "x".repeat(80) });
    // Each stops itself after 3 s at the latest; the server normally cuts them far sooner.
    const slow = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0
        ? slowClient(server.url, postHead("/api/v1/auth/keys", body.length), body, 100, 3_000)
        : slowClient(server.url, postHead("/signin", 60), "email=a%40b.c&password=x", 100, 3_000),
    );
    const browser = new Browser(server.url);
    await browser.signUp();
    const verifier = newVerifier();
    const code = await approve(browser, {
      callback_url: "https://app.example/cb",
      code_challenge: s256(verifier),
      code_challenge_method: "S256",
    });
    const answer = await exchange(server.url, {
      code,
      code_verifier: verifier,
      code_challenge_method: "S256",
    });
    expect(answer.status).toBe(200);
    // None of them got anywhere: refused or cut, never served, never a 500.
    for (const ending of await Promise.all(slow)) {
      if (ending.status !== undefined) expect([400, 403, 408]).toContain(ending.status);
    }
  });
});

describe("DESIGN invariant 7: rate limits are decided before the body is read", () => {
  let database: TestDatabase;
  let server: RunningServer;
  const [sqlite] = dialects;

  beforeAll(async () => {
    database = await (sqlite as (typeof dialects)[number]).fresh();
    server = await startTestServer(
      database,
      { ...DEADLINES, exchangeRateLimit: 1, signInRateLimit: 1, signUpRateLimit: 1 },
      testClock(),
    );
  });

  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it.each([
    ["/api/v1/auth/keys", "application/json", '{"code":"nope"}'],
    ["/signin", "application/x-www-form-urlencoded", "email=a%40b.c&password=x"],
    ["/signup", "application/x-www-form-urlencoded", "email=a%40b.c&password=x"],
  ])("POST %s over the limit: 429 while the body has not arrived", async (path, type, body) => {
    const first = await fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "content-type": type },
      body,
      redirect: "manual",
    });
    expect(first.status).not.toBe(429);
    const head =
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\n` +
      `Content-Length: ${body.length}\r\n\r\n`;
    // Headers only: the body never comes.
    const ending = await slowClient(server.url, head, "", 1_000);
    expect(ending.status).toBe(429);
  });
});
