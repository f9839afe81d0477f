import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, createServer as createNetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getKeyInfo } from "@keyport/client";
import { credentialsPath, saveKey } from "@keyport/client/node";
import { parseConfig, type RunningServer, startServer } from "@keyport/server";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../test/e2e/support/chromium.js";
import { consentInChromium, spawnLogin } from "./support/consent.js";
import { BIN, freePort, runInProcess, spawnCli } from "./support/run-cli.js";

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

/** The consent URLs a command printed (`…/auth?…`): the tests want exactly one. */
const consentUrls = (stderr: string) => stderr.match(/https?:\/\/\S+\/auth\?\S+/g) ?? [];

/** What `GET /api/v1/key` answers for a key right now. */
const keyStatus = async (key: string) =>
  (await fetch(`${baseUrl}/api/v1/key`, { headers: { authorization: `Bearer ${key}` } })).status;

/** The credentials file of an environment, parsed. */
function credentials(env: { XDG_CONFIG_HOME: string }) {
  const file = join(env.XDG_CONFIG_HOME, "keyport", "credentials.json");
  return { file, data: JSON.parse(readFileSync(file, "utf8")) };
}

/**
 * A directory with an `xdg-open` that records the URL it was given in `opened` and exits with
 * `status`: a real opener process, put first on PATH.
 */
function fakeOpener(status: number): { PATH: string; opened: string } {
  const bin = mkdtempSync(join(dir, "bin-"));
  const opened = join(bin, "opened.txt");
  writeFileSync(
    join(bin, "xdg-open"),
    `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\nexit ${status}\n`,
    { mode: 0o755 },
  );
  return { PATH: `${bin}:${process.env.PATH ?? ""}`, opened };
}

/** Logs in headless through the real executable, typing the page's code back loosely. */
async function headlessLogin(args: string[], env: Record<string, string>) {
  const login = spawnLogin(["login", "--headless", ...args], env);
  const url = await login.consentUrl();
  const code = await consentInChromium(browser, url, { headless: true });
  expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
  // As a person might type it: lower case, a space for the dash, spaces around.
  login.type(`  ${code.toLowerCase().replace("-", " ")} \n`);
  expect(await login.exited, login.stderr()).toBe(0);
  return login;
}

// Each test starts the real executable (tsx) once or more and signs up in Chromium: on a loaded
// machine that takes far longer than the default 20 s, so the cap is raised (not an assertion).
describe("keyport login, whoami, logout against a real server, consent in real Chromium", {
  timeout: 180_000,
}, () => {
  it("login --server --headless (the real executable): one URL, the short code typed loosely → key saved 0600 in the profile; whoami and logout use the saved server", async () => {
    const env = userEnv();
    const login = await headlessLogin(["--server", baseUrl, "--label", "CLI test"], env);
    expect(consentUrls(login.stderr())).toHaveLength(1);
    expect(new URL(consentUrls(login.stderr())[0] ?? "").searchParams.has("callback_url")).toBe(
      false,
    );
    expect(login.stderr()).toMatch(/like ABCD-EFGH/);
    expect(login.stdout()).toBe("");
    expect(login.stderr()).toContain(`Logged in to ${baseUrl}`);

    const { file, data } = credentials(env);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(env.XDG_CONFIG_HOME, "keyport"))).toEqual(["credentials.json"]);
    const saved = data.profiles.default;
    expect(saved).toMatchObject({
      server: baseUrl,
      label: "CLI test",
      key: expect.stringMatching(KEY),
    });
    expect(login.stderr()).not.toContain(saved.key);

    // No --server from here on: the profile remembers it.
    const whoami = await spawnCli(["whoami"], { env }).exited;
    expect(whoami.code, whoami.stderr).toBe(0);
    expect(whoami.stdout).toMatch(/^Label\s+CLI test$/m);
    expect(whoami.stdout).toMatch(new RegExp(`^Server\\s+${baseUrl}$`, "m"));
    expect(whoami.stdout).toMatch(/^Profile\s+default$/m);
    expect(whoami.stdout).toMatch(/^Usage\s+0 credits/m);
    expect(whoami.stdout).toMatch(/^Limit\s+none$/m);
    expect(whoami.stdout).not.toContain(saved.key);

    // Once the key is revoked behind its back, whoami must say so.
    const hash = createHash("sha256").update(saved.key).digest("hex");
    const revoked = await runInProcess(["keys", "revoke", "--hash", hash], {
      env: { KEYPORT_DATABASE: join(dir, "keyport.sqlite") },
    });
    expect(revoked.code, revoked.stderr).toBe(0);
    const refused = await runInProcess(["whoami"], { env });
    expect(refused.code).toBe(3);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toMatch(/refused the saved key.*Run `keyport login` for a new one/);

    const logout = await runInProcess(["logout"], { env });
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stdout).toMatch(/^Logged out of .*already refused and forgotten/);
    expect(credentials(env).data.profiles).toEqual({ default: { server: baseUrl } });

    const after = await runInProcess(["whoami"], { env });
    expect(after.code).toBe(3);
    expect(after.stderr).toBe(
      `keyport whoami: not logged in to ${baseUrl}. Run \`keyport login\`.\n`,
    );
    const again = await runInProcess(["logout"], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/nothing to forget/);
  });

  it("logging in again in a profile revokes the key it replaces; another profile's key is left alone", async () => {
    const env = userEnv();
    const first = await headlessLogin(["--server", baseUrl], env);
    expect(first.stderr()).not.toMatch(/previous key/);
    const key1 = credentials(env).data.profiles.default.key;

    const work = await headlessLogin(["--server", baseUrl, "--profile", "work"], env);
    expect(work.stderr()).toContain("(profile work)");
    const key2 = credentials(env).data.profiles.work.key;
    expect(await keyStatus(key1)).toBe(200);

    // The default profile again, with no --server: its saved server.
    const second = await headlessLogin([], env);
    const key3 = credentials(env).data.profiles.default.key;
    expect(key3).not.toBe(key1);
    expect(second.stderr()).toMatch(/Revoked the previous key sk-kp-v1-/);
    expect(await keyStatus(key1)).toBe(401);
    expect(await keyStatus(key3)).toBe(200);
    expect(await keyStatus(key2)).toBe(200);
    expect(Object.keys(credentials(env).data.profiles).sort()).toEqual(["default", "work"]);

    const whoWork = await runInProcess(["whoami", "--profile", "work"], { env });
    expect(whoWork.code, whoWork.stderr).toBe(0);
    expect(whoWork.stdout).toMatch(/^Profile\s+work$/m);

    // logout revokes the key on the server, not only in the file.
    const logout = await spawnCli(["logout", "--profile", "work"], { env }).exited;
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stdout).toMatch(/revoked and forgotten/);
    expect(await keyStatus(key2)).toBe(401);
    expect(await keyStatus(key3)).toBe(200);
  });

  it("a key an older keyport saved by server is used, then replaced and revoked by the next login", async () => {
    const env = userEnv();
    const old = await headlessLogin(["--server", baseUrl, "--print"], env);
    const legacyKey = old.stdout().trim();
    await saveKey(baseUrl, { key: legacyKey }, { path: credentialsPath({ env }) });
    const whoami = await runInProcess(["whoami", "--base-url", baseUrl], { env });
    expect(whoami.code, whoami.stderr).toBe(0);

    await headlessLogin(["--server", baseUrl], env);
    expect(await keyStatus(legacyKey)).toBe(401);
    const { data } = credentials(env);
    expect(data.keys).toEqual({});
    expect(data.profiles.default.server).toBe(baseUrl);
  });

  it("no display and no --headless (the real executable): only the URL for any device, then the code", async () => {
    const env = userEnv();
    const login = spawnLogin(["login", "--server", baseUrl], env);
    const url = await login.consentUrl();
    expect(new URL(url).searchParams.has("callback_url")).toBe(false);
    expect(login.stderr()).toMatch(/No browser can open here \(no display/);
    login.type(`${await consentInChromium(browser, url, { headless: true })}\n`);
    expect(await login.exited, login.stderr()).toBe(0);
    expect(consentUrls(login.stderr())).toEqual([url]);
    expect(login.stderr()).not.toContain("127.0.0.1");
  });

  it("a browser opener that works: the loopback URL it was given, printed once, and the sign-in completes", async () => {
    const opener = fakeOpener(0);
    const env = { ...userEnv(), DISPLAY: ":0", PATH: opener.PATH };
    const login = spawnLogin(["login", "--server", baseUrl], env);
    const url = await login.consentUrl();
    expect(readFileSync(opener.opened, "utf8")).toBe(url);
    expect(new URL(url).searchParams.get("callback_url")).toMatch(/^http:\/\/127\.0\.0\.1:/);
    expect(await consentInChromium(browser, url)).toBe("Connected");
    expect(await login.exited, login.stderr()).toBe(0);
    expect(consentUrls(login.stderr())).toEqual([url]);
    expect(login.stderr()).toMatch(/Opened your browser/);
  });

  it("a browser opener that fails, not at a terminal: only the loopback URL, which still works", async () => {
    const opener = fakeOpener(3);
    const env = { ...userEnv(), DISPLAY: ":0", PATH: opener.PATH };
    const login = spawnLogin(["login", "--server", baseUrl], env);
    const url = await login.consentUrl();
    expect(readFileSync(opener.opened, "utf8")).toBe(url);
    expect(login.stderr()).toMatch(/Could not open a browser/);
    expect(await consentInChromium(browser, url)).toBe("Connected");
    expect(await login.exited, login.stderr()).toBe(0);
    expect(consentUrls(login.stderr())).toEqual([url]);
  });

  it("a browser opener that fails at a terminal (a real pty through script(1)): only the URL for any device, then the code", async () => {
    const opener = fakeOpener(1);
    const env = { ...userEnv(), DISPLAY: ":0", PATH: opener.PATH };
    const command = [process.execPath, BIN, "login", "--server", baseUrl]
      .map((word) => `'${word}'`)
      .join(" ");
    // script(1) gives the command a terminal as stdin; everything it prints arrives here.
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
    try {
      let url: string | undefined;
      for (let i = 0; i < 1200 && !url; i++) {
        url = output.match(/https?:\/\/\S+\/auth\?\S+/)?.[0];
        if (!url) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(url, output).toBeDefined();
      expect(new URL(url ?? "").searchParams.has("callback_url")).toBe(false);
      expect(readFileSync(opener.opened, "utf8")).toMatch(/callback_url=http%3A%2F%2F127\.0\.0\.1/);
      expect(output).toMatch(/Could not open a browser, so sign in from any device/);
      const code = await consentInChromium(browser, url ?? "", { headless: true });
      child.stdin.write(`${code.toLowerCase()}\r`);
      expect(await exited, output).toBe(0);
      expect(consentUrls(output)).toEqual([url]);
      expect(credentials(env).data.profiles.default.key).toMatch(KEY);
    } finally {
      if (child.exitCode === null) child.kill();
    }
  });

  it("login --print over loopback (the real executable, KEYPORT_NO_BROWSER=1, KEYPORT_URL): the key alone on stdout, nothing saved", async () => {
    const env = { ...userEnv(), DISPLAY: ":0", KEYPORT_NO_BROWSER: "1", KEYPORT_URL: baseUrl };
    const login = spawnLogin(["login", "--print", "--label", "Script key", "--limit", "5"], env);
    const url = await login.consentUrl();
    expect(new URL(url).searchParams.get("callback_url")).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/callback\/[A-Za-z0-9_-]{43}$/,
    );
    expect(login.stderr()).toMatch(/Open this URL in a browser on this machine/);
    expect(await consentInChromium(browser, url)).toBe("Connected");
    expect(await login.exited, login.stderr()).toBe(0);
    expect(consentUrls(login.stderr())).toEqual([url]);

    expect(login.stdout()).toMatch(/^sk-kp-v1-[0-9a-f]{64}\n$/);
    const info = await getKeyInfo({ baseUrl, key: login.stdout().trim() });
    expect(info).toMatchObject({ label: "Script key", limit: 5 });
    expect(login.stderr()).toContain("printed, not saved");
    expect(existsSync(join(env.XDG_CONFIG_HOME, "keyport"))).toBe(false);
  });

  it("Deny on the consent page (the real executable): the command ends at once, exit 3, no key saved", async () => {
    const env = { ...userEnv(), DISPLAY: ":0" };
    const login = spawnLogin(["login", "--server", baseUrl, "--no-browser"], env);
    expect(await consentInChromium(browser, await login.consentUrl(), { deny: true })).toBe(
      "Sign-in cancelled",
    );
    expect(await login.exited).toBe(3);
    const last = login.stderr().trim().split("\n").at(-1);
    expect(last).toMatch(/^keyport login: access was denied .* Run `keyport login --server/);
    expect(existsSync(join(env.XDG_CONFIG_HOME, "keyport"))).toBe(false);
  });
});

describe("keyport login checks the server before any browser (the real executable)", {
  timeout: 60_000,
}, () => {
  it("a closed port: exit 1 at once, naming the server and ECONNREFUSED, no URL", async () => {
    const gone = `http://127.0.0.1:${await freePort()}`;
    const result = await spawnCli(["login", "--server", gone], { env: userEnv() }).exited;
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `keyport login: could not reach ${gone} (ECONNREFUSED). Check --server, and that the server is up.\n`,
    );
  });

  it("a server that accepts but never answers: exit 1 after the check's timeout, no URL", async () => {
    const sockets: Socket[] = [];
    const silent = createNetServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const result = await spawnCli(["login", "--server", url, "--headless"], {
        env: userEnv(),
      }).exited;
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `keyport login: ${url} did not answer within 5 s. Check --server, and that the server is up.\n`,
      );
      expect(sockets.length).toBeGreaterThan(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("a web server that is not Keyport (404): exit 1 saying so", async () => {
    const other = createHttpServer((_req, res) => res.writeHead(404).end("no"));
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    try {
      const result = await spawnCli(["login", "--server", url], { env: userEnv() }).exited;
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/is not a Keyport or OpenRouter server/);
      expect(consentUrls(result.stderr)).toEqual([]);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });
});

describe("keyport login, whoami, logout: usage and failures (in-process)", () => {
  it.each(["login", "whoami", "logout"])(
    "`%s --help` exits 0 with --server, --profile and exit codes",
    async (name) => {
      const result = await runInProcess([name, "--help"]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: keyport ${name}`);
      for (const flag of ["--server", "--base-url", "--profile"]) {
        expect(result.stdout).toContain(flag);
      }
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
    [["whoami", "--server", "http://a.test", "--base-url", "http://b.test"], /give one/],
    [["whoami", "--profile", "../etc"], /--profile must be/],
    [["login", "--server", "http://a.test/?x=1"], /--server must be/],
  ])("%j: exit 2 with one line", async (argv, message) => {
    const result = await runInProcess(argv, { env: userEnv() });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^keyport \w+: /);
    expect(lines[0]).toMatch(message);
  });

  it.each(["KEYPORT_URL", "KEYPORT_BASE_URL"])(
    "%s that is not a URL: exit 2 naming the variable",
    async (variable) => {
      const result = await runInProcess(["whoami"], { env: { ...userEnv(), [variable]: "x" } });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(new RegExp(variable));
    },
  );

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
    expect(result.stderr).toMatch(/like ABCD-EFGH/);
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
