import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentialsPath, saveKey } from "@keyport/client/node";
import { issueKey, openStore, systemClock } from "@keyport/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { terminalText } from "../src/terminal-text.js";
import { runInProcess, spawnCli } from "./support/run-cli.js";

/** A window-title OSC, a clear-screen CSI, bidi overrides and isolates, and a forged line. */
const HOSTILE =
  "\u001b]0;pwned\u0007\u001b[2Jlabel \u202eevil\u202c \u2066x\u2069\u009b31m\nKey      sk-fake";
/** Anything a terminal would act on, or that reorders what it shows. */
const UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for exactly these.
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const KEY = `sk-kp-v1-${"a".repeat(64)}`;

describe("DESIGN invariant 10: terminalText", () => {
  it.each([
    ["\u001b]0;pwned\u0007title", "title"],
    ["\u001b]8;;https://evil.example\u001b\\link\u001b]8;;\u001b\\", "link"],
    ["\u001b[2J\u001b[1;31mred\u001b[0m", "red"],
    ["\u009b2Jc1", "c1"],
    ["a\u202eb\u202dc\u202ad\u2066e\u2069f\u200fg", "abcdefg"],
    ["bell\u0007 back\bspace\u007f", "bell backspace"],
    ["two\nlines\r\tand tab", "two lines  and tab"],
    ["\u001bcreset", "reset"],
    ["plain ünïcödé €", "plain ünïcödé €"],
  ])("%j → %j", (input, output) => {
    expect(terminalText(input)).toBe(output);
  });
});

describe("DESIGN invariant 10: the CLI prints no control characters a server or database sent", () => {
  let dir: string;
  let hostile: Server;
  let baseUrl: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "keyport-terminal-test-"));
    hostile = createServer((request, response) => {
      response.setHeader("content-type", "application/json");
      if (request.headers.authorization === `Bearer ${KEY}`) {
        response.end(
          JSON.stringify({
            data: {
              label: HOSTILE,
              usage: 0,
              limit: null,
              is_free_tier: false,
              limit_reset: HOSTILE,
              expires_at: HOSTILE,
            },
          }),
        );
        return;
      }
      response.statusCode = 500;
      response.end(JSON.stringify({ error: { code: 500, message: HOSTILE } }));
    });
    await new Promise<void>((resolve) => hostile.listen(0, "127.0.0.1", resolve));
    const address = hostile.address();
    baseUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    env = { HOME: dir, XDG_CONFIG_HOME: join(dir, ".config") };
  });
  afterAll(async () => {
    await new Promise((resolve) => hostile?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  function expectClean(text: string) {
    expect(text).not.toMatch(UNSAFE);
    expect(text).not.toContain("pwned");
    expect(text).not.toMatch(/^Key\s+sk-fake/m);
  }

  it("keyport whoami: a label, reset and expiry full of escapes print as plain text", async () => {
    await saveKey(baseUrl, { key: KEY, userId: "user_1" }, { path: credentialsPath({ env }) });
    const result = await runInProcess(["whoami", "--base-url", baseUrl], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Label\s+label evil x/m);
    expectClean(result.stdout);
    expectClean(result.stderr);
  });

  it("keyport whoami (the real executable): the server's error message prints as plain text", async () => {
    const other = { ...env, XDG_CONFIG_HOME: join(dir, ".config-error") };
    await saveKey(
      baseUrl,
      { key: `${KEY}0`, userId: "user_1" },
      { path: credentialsPath({ env: other }) },
    );
    const result = await spawnCli(["whoami", "--base-url", baseUrl], { env: other }).exited;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("label evil x");
    expectClean(result.stdout);
    expectClean(result.stderr);
  });

  it("keyport keys list: a key label from the database prints as plain text", async () => {
    const database = join(dir, "keyport.sqlite");
    const created = await runInProcess(
      ["users", "create", "--email", "ops@example.test", "--password-stdin"],
      { env: { KEYPORT_DATABASE: database }, stdin: "a long enough passphrase\n" },
    );
    expect(created.code, created.stderr).toBe(0);
    const store = await openStore(database);
    try {
      await issueKey(store, systemClock(), {
        userId: created.stdout.trim(),
        label: HOSTILE,
        limitMicros: null,
        limitReset: null,
        expiresAt: null,
        isManagement: false,
      });
    } finally {
      await store.close();
    }
    const result = await runInProcess(
      ["keys", "list", "--email", "ops@example.test", "--database", database],
      {},
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/ {2}label evil x/);
    // The header and the key's row; the label broke no line.
    expect(result.stdout.trim().split("\n")).toHaveLength(2);
    expectClean(result.stdout);
  });
});
