import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getKeyInfo } from "@keyport/client";
import { parseConfig, type RunningServer, startServer } from "@keyport/server";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../test/e2e/support/chromium.js";
import { consentInChromium, spawnLogin, startInProcess } from "./support/consent.js";
import { runInProcess } from "./support/run-cli.js";

const KEY = /^sk-kp-v1-[0-9a-f]{64}$/;

let dir: string;
let server: RunningServer;
let baseUrl: string;
let browser: Browser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "keyport-login-test-"));
  [browser, server] = await Promise.all([
    launchChromium(),
    startServer(
      parseConfig({
        port: 0,
        database: join(dir, "keyport.sqlite"),
        signInRateLimit: 1000,
        signUpRateLimit: 1000,
      }),
    ),
  ]);
  // `localhost`, as a browser reaches a local server (Secure cookies work there over http).
  baseUrl = `http://localhost:${server.port}`;
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh config dir: the environment a user's shell would give `keyport`. */
function userEnv(): { HOME: string; XDG_CONFIG_HOME: string } {
  const home = mkdtempSync(join(dir, "home-"));
  return { HOME: home, XDG_CONFIG_HOME: join(home, ".config") };
}

describe("keyport login, whoami, logout against a real server, consent in real Chromium", () => {
  it("login --headless (the real executable): URL on stderr, code pasted on stdin → key saved 0600; whoami, refused key, logout", async () => {
    const env = userEnv();
    const login = spawnLogin(
      ["login", "--base-url", baseUrl, "--headless", "--label", "CLI test"],
      env,
    );
    const url = await login.consentUrl();
    expect(new URL(url).searchParams.has("callback_url")).toBe(false);
    const code = await consentInChromium(browser, url, { headless: true });
    login.type(`${code}\n`);
    expect(await login.exited, login.stderr()).toBe(0);
    expect(login.stdout()).toBe("");
    expect(login.stderr()).toContain(`Logged in to ${baseUrl}`);

    const file = join(env.XDG_CONFIG_HOME, "keyport", "credentials.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, "utf8")).keys[baseUrl];
    expect(saved).toMatchObject({ label: "CLI test", key: expect.stringMatching(KEY) });
    expect(login.stderr()).not.toContain(saved.key);

    const whoami = await runInProcess(["whoami", "--base-url", baseUrl], { env });
    expect(whoami.code, whoami.stderr).toBe(0);
    expect(whoami.stdout).toMatch(/^Label\s+CLI test$/m);
    expect(whoami.stdout).toMatch(/^Usage\s+0 credits/m);
    expect(whoami.stdout).toMatch(/^Limit\s+none$/m);
    expect(whoami.stdout).toMatch(/^Expires\s+never$/m);
    expect(whoami.stdout).not.toContain(saved.key);

    // A replay of the code that proves nothing (a wrong verifier) revokes nothing.
    const replay = await fetch(`${baseUrl}/api/v1/auth/keys`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code, code_verifier: "x".repeat(43) }),
    });
    expect(replay.status).toBe(403);
    expect((await runInProcess(["whoami", "--base-url", baseUrl], { env })).code).toBe(0);

    // Once the key is revoked, whoami must say so.
    const hash = createHash("sha256").update(saved.key).digest("hex");
    const revoked = await runInProcess(["keys", "revoke", "--hash", hash], {
      env: { KEYPORT_DATABASE: join(dir, "keyport.sqlite") },
    });
    expect(revoked.code, revoked.stderr).toBe(0);
    const refused = await runInProcess(["whoami", "--base-url", baseUrl], { env });
    expect(refused.code).toBe(3);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toMatch(/refused the saved key.*keyport login/);

    const logout = await runInProcess(["logout", "--base-url", baseUrl], { env });
    expect(logout.code).toBe(0);
    expect(logout.stdout).toMatch(/^Logged out of/);
    expect(JSON.parse(readFileSync(file, "utf8")).keys).toEqual({});

    const after = await runInProcess(["whoami", "--base-url", baseUrl], { env });
    expect(after.code).toBe(3);
    expect(after.stderr).toBe(
      `keyport whoami: not logged in to ${baseUrl}. Run \`keyport login --base-url ${baseUrl}\`.\n`,
    );
    const again = await runInProcess(["logout", "--base-url", baseUrl], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/nothing to forget/);
  });

  it("login --print over loopback (the real executable, KEYPORT_NO_BROWSER=1): the key alone on stdout, nothing saved", async () => {
    const env = { ...userEnv(), KEYPORT_NO_BROWSER: "1", KEYPORT_BASE_URL: baseUrl };
    const login = spawnLogin(["login", "--print", "--label", "Script key", "--limit", "5"], env);
    const url = await login.consentUrl();
    expect(new URL(url).searchParams.get("callback_url")).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/callback\/[A-Za-z0-9_-]{43}$/,
    );
    expect(await consentInChromium(browser, url)).toBe("Connected");
    expect(await login.exited, login.stderr()).toBe(0);

    expect(login.stdout()).toMatch(/^sk-kp-v1-[0-9a-f]{64}\n$/);
    const info = await getKeyInfo({ baseUrl, key: login.stdout().trim() });
    expect(info).toMatchObject({ label: "Script key", limit: 5 });
    expect(login.stderr()).toContain("printed, not saved");
    expect(existsSync(join(env.XDG_CONFIG_HOME, "keyport"))).toBe(false);
  });

  it("a denied consent: exit 3, one line saying so, no key saved", async () => {
    const env = { ...userEnv(), KEYPORT_NO_BROWSER: "1" };
    const login = startInProcess(["login", "--base-url", baseUrl], env);
    expect(await consentInChromium(browser, await login.consentUrl(), { deny: true })).toBe(
      "Sign-in cancelled",
    );
    expect(await login.exited).toBe(3);
    const last = login.stderr().trim().split("\n").at(-1);
    expect(last).toMatch(/^keyport login: access was denied .* Run `keyport login --base-url/);
    expect(existsSync(join(env.XDG_CONFIG_HOME, "keyport"))).toBe(false);
  });
});

describe("keyport login, whoami, logout: usage and failures (in-process)", () => {
  it.each(["login", "whoami", "logout"])(
    "`%s --help` exits 0 with --base-url and exit codes",
    async (name) => {
      const result = await runInProcess([name, "--help"]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: keyport ${name}`);
      expect(result.stdout).toContain("--base-url");
      expect(result.stdout).toMatch(/Exit status: 0/);
    },
  );

  it("`keyport --help` lists login, whoami and logout", async () => {
    const result = await runInProcess(["--help"]);
    for (const name of ["login", "whoami", "logout"]) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${name}\\s`, "m"));
    }
  });

  it.each([
    [["login", "--limit", "lots"], /--limit/],
    [["login", "--limit=-1"], /--limit/],
    [["login", "--label", ""], /--label/],
    [["login", "--label", "x".repeat(101)], /--label/],
    [["login", "--base-url", "ftp://example.com"], /--base-url/],
    [["whoami", "--base-url", "not a url"], /--base-url/],
    [["logout", "extra"], /extra/],
    [["whoami", "--verbose"], /verbose/],
  ])("%j: exit 2 with one line", async (argv, message) => {
    const result = await runInProcess(argv, { env: userEnv() });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^keyport \w+: /);
    expect(lines[0]).toMatch(message);
  });

  it("KEYPORT_BASE_URL that is not a URL: exit 2 naming the variable", async () => {
    const result = await runInProcess(["whoami"], { env: { ...userEnv(), KEYPORT_BASE_URL: "x" } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/KEYPORT_BASE_URL/);
  });

  it("whoami with no saved key defaults to OpenRouter and exits 3 without any request", async () => {
    const result = await runInProcess(["whoami"], { env: userEnv() });
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      "keyport whoami: not logged in to https://openrouter.ai. Run `keyport login`.\n",
    );
  });

  it("login --headless with stdin closed before a code: exit 1, one line, nothing saved", async () => {
    const env = userEnv();
    const result = await runInProcess(["login", "--headless", "--base-url", baseUrl], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/keyport login: no code was entered\. Run `keyport login/);
    expect(existsSync(join(env.XDG_CONFIG_HOME, "keyport"))).toBe(false);
  });

  it("login --headless with a code the server does not know: exit 1 with the server's reason", async () => {
    const result = await runInProcess(["login", "--headless", "--base-url", baseUrl], {
      env: userEnv(),
      stdin: "not-a-real-code\n",
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/keyport login: Invalid code or code_verifier\. .*again/);
  });

  it("a server that cannot be reached: exit 1 saying which and what to check", async () => {
    const closed = await startServer(parseConfig({ port: 0, database: join(dir, "gone.sqlite") }));
    await closed.close();
    const gone = `http://127.0.0.1:${closed.port}`;
    const result = await runInProcess(["login", "--headless", "--base-url", gone], {
      env: userEnv(),
      stdin: "some-code\n",
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`could not reach ${gone} \\(ECONNREFUSED\\)\\. Check --base-url`),
    );
  });

  it("an unreadable credentials file stops login before the browser, and is left untouched", async () => {
    const env = userEnv();
    const file = join(env.XDG_CONFIG_HOME, "keyport", "credentials.json");
    await import("node:fs/promises").then(async (fs) => {
      await fs.mkdir(join(env.XDG_CONFIG_HOME, "keyport"), { recursive: true });
      await fs.writeFile(file, "{ not json");
    });
    const result = await runInProcess(["login", "--base-url", baseUrl], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/not valid JSON; fix or remove it/);
    expect(result.stderr).not.toMatch(/\/auth\?/);
    expect(readFileSync(file, "utf8")).toBe("{ not json");
  });
});
