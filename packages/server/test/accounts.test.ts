import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../src/config/config.js";
import { type RunningServer, startServer } from "../src/node/start.js";
import { Browser, type Page } from "./support/browser.js";

/** Every argon2 call the server makes, counted (the real functions still run). */
const argon2 = vi.hoisted(() => ({ hash: 0, verify: 0 }));
vi.mock("@node-rs/argon2", async (original) => {
  const real = await original<typeof import("@node-rs/argon2")>();
  return {
    ...real,
    hash: (...args: Parameters<typeof real.hash>) => {
      argon2.hash++;
      return real.hash(...args);
    },
    verify: (...args: Parameters<typeof real.verify>) => {
      argon2.verify++;
      return real.verify(...args);
    },
  };
});

/** What an observer of one answer sees, with the per-session CSRF token blanked. */
function observed(page: Page) {
  return {
    status: page.status,
    location: page.location,
    body: page.html.replace(/name="csrf_token" value="[^"]*"/g, 'name="csrf_token" value=""'),
    setCookie: page.headers
      .getSetCookie()
      .map((cookie) => cookie.replace(/=[^;]*/, "=…"))
      .sort(),
  };
}

describe("issue 9, item 8: sign-in and sign-up do not tell whether an email has an account", () => {
  let server: RunningServer;
  let account: { email: string; password: string };

  beforeAll(async () => {
    server = await startServer(
      parseConfig({ port: 0, database: ":memory:", signInRateLimit: 1000, signUpRateLimit: 1000 }),
    );
    account = await new Browser(server.url).signUp();
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(() => {
    argon2.hash = 0;
    argon2.verify = 0;
  });

  async function signIn(email: string, password: string) {
    const browser = new Browser(server.url);
    await browser.get("/signin");
    const before = argon2.verify;
    const page = await browser.signIn(email, password);
    return { page: observed(page), verifies: argon2.verify - before };
  }

  async function signUp(email: string, password: string) {
    const browser = new Browser(server.url);
    await browser.get("/signup");
    const before = argon2.hash;
    const page = await browser.submit("/signup", "/signup", { email, password });
    return { page: observed(page), hashes: argon2.hash - before };
  }

  it("sign-in: a wrong password and an unknown email get byte-identical answers, each after one argon2id verify", async () => {
    const known = await signIn(account.email, "not the right password");
    const unknown = await signIn(
      account.email.replace("user-", "nobody-"),
      "not the right password",
    );
    expect(known.page.status).toBe(401);
    expect(unknown.page).toEqual({
      ...known.page,
      body: known.page.body.replace(account.email, account.email.replace("user-", "nobody-")),
    });
    expect([known.verifies, unknown.verifies]).toEqual([1, 1]);
  });

  it("sign-up: a taken email and a new one get byte-identical answers (303 to sign-in), each after one argon2id hash", async () => {
    const fresh = `fresh-${Date.now()}@example.test`;
    const taken = await signUp(account.email, "another long passphrase");
    const created = await signUp(fresh, "another long passphrase");
    expect(created.page.status).toBe(303);
    expect(created.page.location).toBe(`${server.url}/signin?next=%2F&signed_up=1`);
    expect(taken.page).toEqual(created.page);
    expect([taken.hashes, created.hashes]).toEqual([1, 1]);
    // The new account works; the taken one kept its password.
    expect((await signIn(fresh, "another long passphrase")).page.status).toBe(303);
    expect((await signIn(account.email, "another long passphrase")).page.status).toBe(401);
    expect((await signIn(account.email, account.password)).page.status).toBe(303);
  });

  it("the sign-in page after sign-up says what to do without saying which case it was", async () => {
    const page = await new Browser(server.url).get("/signin?next=%2F&signed_up=1");
    expect(page.html).toContain("Sign in with that email and password to continue");
  });
});

describe("issue 9, item 8: passwords per NIST SP 800-63B §3.1.1.2", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(
      parseConfig({ port: 0, database: ":memory:", signInRateLimit: 1000, signUpRateLimit: 1000 }),
    );
  });
  afterAll(async () => {
    await server?.close();
  });

  const signUp = (password: string) =>
    new Browser(server.url).submit("/signup", "/signup", {
      email: `p-${Math.random().toString(36).slice(2)}@example.test`,
      password,
    });

  it.each([
    ["a common password", "Sunshine1", /most common/],
    ["another, upper case", "PASSWORD123", /most common/],
    ["7 characters", "abcdefg", /at least 8/],
    ["7 code points in 14 UTF-16 units", "🔑🔑🔑🔑🔑🔑🔑", /at least 8/],
    ["1025 characters", "x".repeat(1025), /at most 1024/],
  ])("refuses %s with 400 and says why", async (_, password, why) => {
    const page = await signUp(password);
    expect(page.status).toBe(400);
    expect(page.html).toMatch(why);
  });

  it.each([
    [
      "a 64-character passphrase",
      "the quick brown fox jumps over the lazy dog while it is 64 chars",
    ],
    ["8 characters, no digits or symbols", "zqxjvbnm"],
    ["1000 astral code points (2000 UTF-16 units)", "𝄞".repeat(1000)],
  ])("accepts %s, and it signs in", async (_, password) => {
    const browser = new Browser(server.url);
    const { email } = await browser.signUp(undefined, password);
    expect((await new Browser(server.url).signIn(email, password)).status).toBe(303);
  });
});
