import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/index.js";
import {
  type AuthParams,
  approve,
  authPath,
  Browser,
  consentForm,
  csrfTokenOf,
  inputValueOf,
  type Page,
} from "./support/browser.js";
import { dialects, type TestDatabase } from "./support/databases.js";
import { rawQuery } from "./support/raw-sql.js";
import { exchange, newVerifier, s256, testClock, useServer } from "./support/server.js";

const CHALLENGE = s256(newVerifier());
const WEB: AuthParams = {
  callback_url: "https://app.example/cb?x=1",
  code_challenge: CHALLENGE,
  code_challenge_method: "S256",
};

const REJECTED_CALLBACKS = [
  "javascript:alert(1)",
  "data:text/html,x",
  "file:///etc/passwd",
  "https://user@app.example/cb",
  "https://user:pw@app.example/cb",
  "https://app.example/cb#frag",
  "/cb",
  "http://example.com/cb",
  "http://localhost.evil.com/cb",
  "http://127.0.0.1.nip.io/cb",
];

function expectSecurityHeaders(page: Page, what: string) {
  const csp = page.headers.get("content-security-policy") ?? "";
  expect(csp, what).toContain("frame-ancestors 'none'");
  expect(csp, what).toContain("default-src 'none'");
  expect(page.headers.get("x-frame-options"), what).toBe("DENY");
  expect(page.headers.get("referrer-policy"), what).toBe("no-referrer");
}

/** The message a form shows in its `role="alert"` paragraph. */
function alertOf(html: string): string | undefined {
  return /role="alert">([^<]*)</.exec(html)?.[1]?.trim();
}

describe.each(dialects)("Pages ($name)", (dialect) => {
  const running = useServer(dialect);
  let database: TestDatabase;
  let server: RunningServer;
  /** Signed in once for the whole suite (argon2 is slow on purpose). */
  let user: Browser;
  let account: { email: string; password: string };

  beforeAll(async () => {
    ({ server, database } = running);
    user = new Browser(server.url);
    account = await user.signUp();
  });

  async function countRows(sql: string, params: unknown[] = []): Promise<number> {
    const [row] = await rawQuery(database, sql, params);
    return Number(row?.n);
  }

  async function signedInAs(browser: Browser): Promise<string | undefined> {
    return /Signed in as <strong>([^<]+)</.exec((await browser.get("/")).html)?.[1];
  }

  describe("DESIGN invariant 5: security headers", () => {
    it("on every page, signed in or out, success or error", async () => {
      const anonymous = new Browser(server.url);
      const pages: [string, Page][] = [
        ["/", await anonymous.get("/")],
        ["/signin", await anonymous.get("/signin")],
        ["/signup", await anonymous.get("/signup")],
        ["/auth signed out", await anonymous.get(authPath(WEB))],
        ["/auth consent", await user.get(authPath(WEB))],
        ["/auth error", await user.get(authPath({ callback_url: "javascript:alert(1)" }))],
        ["404", await anonymous.get("/no/such/page")],
        ["POST 403", await anonymous.post("/signin", { email: "a@b.c", password: "x" })],
        ["/healthz", await anonymous.get("/healthz")],
      ];
      const consent = await user.get(
        authPath({ code_challenge: CHALLENGE, code_challenge_method: "S256" }),
      );
      pages.push([
        "headless code page",
        await user.post("/auth", consentForm(consent.html, "approve")),
      ]);
      for (const [what, page] of pages) expectSecurityHeaders(page, what);
      expect(pages.find(([what]) => what === "404")?.[1].status).toBe(404);
      expect(pages.find(([what]) => what === "/auth error")?.[1].status).toBe(400);
    });

    it("the consent page lets its form post to the callback's origin only", async () => {
      const page = await user.get(authPath(WEB));
      const csp = page.headers.get("content-security-policy") ?? "";
      expect(csp).toMatch(/form-action 'self' https:\/\/app\.example(;|$)/);
    });
  });

  describe("DESIGN invariant 5: session cookie", () => {
    it("HttpOnly, SameSite=Lax, Secure, Path=/ over http", async () => {
      const browser = new Browser(server.url);
      await browser.get("/signin");
      const [header] = browser.setCookieHeaders;
      expect(header).toMatch(/^keyport_session=/);
      expect(header).toMatch(/;\s*HttpOnly/i);
      expect(header).toMatch(/;\s*SameSite=Lax/i);
      expect(header).toMatch(/;\s*Secure/i);
      expect(header).toMatch(/;\s*Path=\//i);
    });

    it("named __Host- (no Domain, Path=/) when the public URL is https", async () => {
      const https = await running.another({ publicUrl: "https://keyport.example" });
      const browser = new Browser(https.url);
      await browser.get("/signin");
      const [header] = browser.setCookieHeaders;
      expect(header).toMatch(/^__Host-keyport_session=/);
      expect(header).toMatch(/;\s*Secure/i);
      expect(header).toMatch(/;\s*Path=\/(;|$)/i);
      expect(header).not.toMatch(/Domain=/i);
    });

    it("session fixation: the id changes at sign-in and the old one is not signed in", async () => {
      const browser = new Browser(server.url);
      await browser.get("/signin");
      const before = browser.cookies.get("keyport_session");
      const page = await browser.signIn(account.email, account.password);
      expect(page.status).toBe(303);
      const after = browser.cookies.get("keyport_session");
      expect(before).toBeDefined();
      expect(after).toBeDefined();
      expect(after).not.toBe(before);
      expect(await signedInAs(browser)).toBe(account.email);

      const attacker = new Browser(server.url);
      attacker.cookies.set("keyport_session", before as string);
      expect(await signedInAs(attacker)).toBeUndefined();
    });

    it("session fixation at sign-up too", async () => {
      const browser = new Browser(server.url);
      await browser.get("/signup");
      const before = browser.cookies.get("keyport_session");
      const { email } = await browser.signUp();
      expect(browser.cookies.get("keyport_session")).not.toBe(before);
      const attacker = new Browser(server.url);
      attacker.cookies.set("keyport_session", before as string);
      expect(await signedInAs(attacker)).toBeUndefined();
      expect(await signedInAs(browser)).toBe(email);
    });

    it("a session ends after 30 days (injected clock)", async () => {
      const clock = testClock();
      const timed = await running.another({}, clock);
      const browser = new Browser(timed.url);
      const { email } = await browser.signUp();
      clock.advance(30 * 86_400_000 - 1);
      expect(await signedInAs(browser)).toBe(email);
      clock.advance(1);
      expect(await signedInAs(browser)).toBeUndefined();
    });

    it("sign-out ends the session server-side", async () => {
      const browser = new Browser(server.url);
      await browser.signIn(account.email, account.password);
      const id = browser.cookies.get("keyport_session") as string;
      const out = await browser.submit("/", "/signout", {});
      expect(out.status).toBe(303);
      expect(await signedInAs(browser)).toBeUndefined();
      const replay = new Browser(server.url);
      replay.cookies.set("keyport_session", id);
      expect(await signedInAs(replay)).toBeUndefined();
    });
  });

  describe("DESIGN invariant 5: CSRF token on every form POST", () => {
    it("POST /signup without a token or with another session's: 403, no account", async () => {
      const email = "csrf-victim@example.test";
      const browser = new Browser(server.url);
      await browser.get("/signup");
      const other = new Browser(server.url);
      const foreignToken = csrfTokenOf((await other.get("/signup")).html);
      for (const token of [undefined, foreignToken, "", "garbage"]) {
        const page = await browser.post("/signup", {
          ...(token === undefined ? {} : { csrf_token: token }),
          email,
          password: "long enough password",
        });
        expect(page.status).toBe(403);
        expect(page.location).toBeUndefined();
        expectSecurityHeaders(page, "403");
      }
      expect(await countRows("SELECT count(*) AS n FROM users WHERE email = ?", [email])).toBe(0);
    });

    it("POST /signin without a valid token: 403, not signed in", async () => {
      const browser = new Browser(server.url);
      await browser.get("/signin");
      const page = await browser.post("/signin", {
        email: account.email,
        password: account.password,
      });
      expect(page.status).toBe(403);
      expect(await signedInAs(browser)).toBeUndefined();
    });

    it("POST /auth without a valid token: 403, no code, no redirect", async () => {
      const consent = await user.get(authPath(WEB));
      const codesBefore = await countRows("SELECT count(*) AS n FROM codes");
      const { csrf_token: _, ...withoutToken } = consentForm(consent.html, "approve");
      for (const fields of [withoutToken, { ...withoutToken, csrf_token: "forged" }]) {
        const page = await user.post("/auth", fields);
        expect(page.status).toBe(403);
        expect(page.location).toBeUndefined();
      }
      expect(await countRows("SELECT count(*) AS n FROM codes")).toBe(codesBefore);
    });

    it("POST /signout without a valid token: 403, still signed in", async () => {
      const page = await user.post("/signout", {});
      expect(page.status).toBe(403);
      expect(await signedInAs(user)).toBe(account.email);
    });
  });

  describe("sign-in", () => {
    it("wrong password and unknown email: 401, the form again, the same message", async () => {
      const wrong = await new Browser(server.url).signIn(account.email, "not the password");
      const unknown = await new Browser(server.url).signIn("nobody@example.test", "whatever pw");
      for (const page of [wrong, unknown]) {
        expect(page.status).toBe(401);
        expect(page.html).toContain('name="password"');
        expect(page.html).toContain("Sign in</button>");
        expectSecurityHeaders(page, "401");
      }
      expect(alertOf(wrong.html)).toBeTruthy();
      expect(alertOf(wrong.html)).toBe(alertOf(unknown.html));
    });

    it("the email is case-insensitive", async () => {
      const page = await new Browser(server.url).signIn(
        account.email.toUpperCase(),
        account.password,
      );
      expect(page.status).toBe(303);
    });

    it("labelled fields and visible buttons, for password managers and screen readers", async () => {
      const signin = (await new Browser(server.url).get("/signin")).html;
      expect(signin).toMatch(/<label for="email">Email<\/label>/);
      expect(signin).toMatch(/<label for="password">Password<\/label>/);
      expect(signin).toContain("Sign in</button>");
      expect(signin).toContain('href="/signup?next=%2F"');
      const signup = (await new Browser(server.url).get("/signup")).html;
      expect(signup).toContain("Sign up</button>");
    });

    it("sign-up answers a taken email as a new one (303 to sign-in), refuses a short password with 400; no second account", async () => {
      const taken = await new Browser(server.url).submit("/signup", "/signup", {
        email: account.email,
        password: "another long password",
      });
      expect(taken.status).toBe(303);
      expect(taken.location).toBe(`${server.url}/signin?next=%2F&signed_up=1`);
      const short = await new Browser(server.url).submit("/signup", "/signup", {
        email: "short@example.test",
        password: "short",
      });
      expect(short.status).toBe(400);
      expect(
        await countRows("SELECT count(*) AS n FROM users WHERE email IN (?, ?)", [
          account.email,
          "short@example.test",
        ]),
      ).toBe(1);
    });
  });

  describe("open redirects through next", () => {
    it.each([
      "//evil.com",
      "https://evil.com",
      "/\\evil.com",
      "/\t/evil.com",
      "/\r\nSet-Cookie: x=1",
    ])("next=%j lands on /", async (next) => {
      const browser = new Browser(server.url);
      const signin = await browser.get(`/signin?next=${encodeURIComponent(next)}`);
      expect(signin.html).toContain('action="/signin?next=%2F"');
      const page = await browser.post(`/signin?next=${encodeURIComponent(next)}`, {
        csrf_token: csrfTokenOf(signin.html),
        email: account.email,
        password: account.password,
      });
      expect(page.status).toBe(303);
      expect(page.location).toBe(`${server.url}/`);
    });
  });

  describe("GET /auth signed out: sign in, then back to the same request", () => {
    it("303 to /signin?next=…, and sign-in lands on the same consent request", async () => {
      const params: AuthParams = { ...WEB, key_label: "Round trip", state: "st&=1" };
      const browser = new Browser(server.url);
      const first = await browser.get(authPath(params));
      expect(first.status).toBe(303);
      const signinUrl = new URL(first.location as string);
      expect(signinUrl.pathname).toBe("/signin");
      expect(signinUrl.searchParams.get("next")).toBe(authPath(params));

      const signin = await browser.get(signinUrl.pathname + signinUrl.search);
      const action = /<form method="post" action="([^"]+)"/.exec(signin.html)?.[1] as string;
      const signedIn = await browser.post(action.replaceAll("&amp;", "&"), {
        csrf_token: csrfTokenOf(signin.html),
        email: account.email,
        password: account.password,
      });
      expect(signedIn.status).toBe(303);
      expect(signedIn.location).toBe(`${server.url}${authPath(params)}`);

      const consent = await browser.get(authPath(params));
      expect(consent.status).toBe(200);
      expect(inputValueOf(consent.html, "key_label")).toBe("Round trip");
      expect(consentForm(consent.html, "approve").state).toBe("st&=1");
    });

    it("the same through sign-up", async () => {
      const browser = new Browser(server.url);
      const first = await browser.get(authPath(WEB));
      const next = new URL(first.location as string).searchParams.get("next") as string;
      const signup = await browser.get(`/signup?next=${encodeURIComponent(next)}`);
      const email = `via-signup-${Date.now()}@example.test`;
      const page = await browser.post(`/signup?next=${encodeURIComponent(next)}`, {
        csrf_token: csrfTokenOf(signup.html),
        email,
        password: "long enough password",
      });
      expect(page.status).toBe(303);
      // Sign-up never signs in (it would tell a taken email by the missing session): sign-in next.
      const signinUrl = new URL(page.location as string);
      expect(signinUrl.pathname).toBe("/signin");
      expect(signinUrl.searchParams.get("next")).toBe(next);
      const signin = await browser.get(signinUrl.pathname + signinUrl.search);
      const action = /<form method="post" action="([^"]+)"/.exec(signin.html)?.[1] as string;
      const signedIn = await browser.post(action.replaceAll("&amp;", "&"), {
        csrf_token: csrfTokenOf(signin.html),
        email,
        password: "long enough password",
      });
      expect(signedIn.location).toBe(`${server.url}${authPath(WEB)}`);
    });
  });

  describe("the consent page", () => {
    it("names the callback's origin, and the label, limit and expiry", async () => {
      const page = await user.get(
        authPath({
          ...WEB,
          key_label: "Key for <b>app</b>",
          limit: "7.5",
          usage_limit_type: "daily",
          expires_at: "2099-01-01T00:00:00Z",
        }),
      );
      expect(page.status).toBe(200);
      expect(page.html).toContain('<span class="app">https://app.example</span>');
      expect(inputValueOf(page.html, "key_label")).toBe("Key for <b>app</b>");
      expect(page.html).not.toContain("<b>app</b>");
      expect(inputValueOf(page.html, "limit")).toBe("7.5");
      expect(page.html).toContain("daily");
      expect(page.html).toContain("2099-01-01T00:00:00.000Z");
      expect(page.html).toContain("Authorize</button>");
      expect(page.html).toMatch(/Deny\s*<\/button>/);
      expect(page.html).not.toContain('role="note"');
    });

    it.each([
      ["http://127.0.0.1:43123/callback", "127.0.0.1:43123"],
      ["http://localhost:8080/cb", "localhost:8080"],
      ["http://[::1]:9000/cb", "[::1]:9000"],
    ])("warns about a loopback callback %s", async (callback, host) => {
      const page = await user.get(authPath({ ...WEB, callback_url: callback }));
      expect(page.status).toBe(200);
      const note = /role="note">([^<]*)</.exec(page.html)?.[1] ?? "";
      expect(note).toContain(host);
      expect(note).toMatch(/your own computer/);
    });

    it("warns about a custom-scheme callback", async () => {
      const page = await user.get(authPath({ ...WEB, callback_url: "com.example.app:/cb" }));
      expect(page.status).toBe(200);
      expect(page.html).toContain('<span class="app">com.example.app</span>');
      const note = /role="note">([^<]*)</.exec(page.html)?.[1] ?? "";
      expect(note).toMatch(/installed app/);
    });

    it("approve: 303 to the callback with code and state, keeping its own query", async () => {
      const consent = await user.get(authPath({ ...WEB, state: "abc 123" }));
      const page = await user.post("/auth", consentForm(consent.html, "approve"));
      expect(page.status).toBe(303);
      const location = new URL(page.location as string);
      expect(`${location.origin}${location.pathname}`).toBe("https://app.example/cb");
      expect(location.searchParams.get("x")).toBe("1");
      expect(location.searchParams.get("state")).toBe("abc 123");
      expect(location.searchParams.get("code")).toMatch(/^[A-Za-z0-9_-]{43,}$/);
      expect(location.hash).toBe("");
    });

    it("approve with a label and limit edited by the user: the key carries them", async () => {
      const verifier = newVerifier();
      const consent = await user.get(
        authPath({
          callback_url: "myapp://cb",
          code_challenge: s256(verifier),
          code_challenge_method: "S256",
          limit: "9",
        }),
      );
      const page = await user.post("/auth", {
        ...consentForm(consent.html, "approve"),
        key_label: "Edited",
        limit: "2",
      });
      expect(page.location).toMatch(/^myapp:\/\/cb\?code=/);
      const code = new URL(page.location as string).searchParams.get("code");
      const { key } = await (
        await exchange(server.url, { code, code_verifier: verifier, code_challenge_method: "S256" })
      ).json();
      const { data } = await (
        await fetch(`${server.url}/api/v1/key`, { headers: { authorization: `Bearer ${key}` } })
      ).json();
      expect(data).toMatchObject({ label: "Edited", limit: 2 });
    });

    it("deny: 303 with error=access_denied and state, no code", async () => {
      const codesBefore = await countRows("SELECT count(*) AS n FROM codes");
      const consent = await user.get(authPath({ ...WEB, state: "s1" }));
      const page = await user.post("/auth", consentForm(consent.html, "deny"));
      expect(page.status).toBe(303);
      const location = new URL(page.location as string);
      expect(location.searchParams.get("error")).toBe("access_denied");
      expect(location.searchParams.get("state")).toBe("s1");
      expect(location.searchParams.get("x")).toBe("1");
      expect(location.searchParams.has("code")).toBe(false);
      expect(await countRows("SELECT count(*) AS n FROM codes")).toBe(codesBefore);
    });
  });

  describe("headless mode (no callback_url)", () => {
    it("S256: the page shows the code, which exchanges for a key", async () => {
      const verifier = newVerifier();
      const code = await approve(user, {
        code_challenge: s256(verifier),
        code_challenge_method: "S256",
        key_label: "Headless box",
      });
      const answer = await exchange(server.url, {
        code,
        code_verifier: verifier,
        code_challenge_method: "S256",
      });
      expect(answer.status).toBe(200);
    });

    it("303 after the POST to a no-store page only this browser can open; a reload mints nothing", async () => {
      const verifier = newVerifier();
      const params = { code_challenge: s256(verifier), code_challenge_method: "S256" };
      const consent = await user.get(authPath(params));
      const codesBefore = await countRows("SELECT count(*) AS n FROM codes");
      const answer = await user.post("/auth", consentForm(consent.html, "approve"));
      expect(answer.status).toBe(303);
      expect(new URL(answer.location as string).pathname).toBe("/auth/code");
      expect(answer.html).not.toMatch(/data-testid="code"/);
      const first = await user.get("/auth/code");
      const second = await user.get("/auth/code");
      expect(first.status).toBe(200);
      expect(first.headers.get("cache-control")).toBe("no-store");
      expect(second.html).toBe(first.html);
      expect(await countRows("SELECT count(*) AS n FROM codes")).toBe(codesBefore + 1);

      const stranger = await new Browser(server.url).get("/auth/code");
      expect(stranger.status).toBe(404);
      const tampered = new Browser(server.url);
      const sealed = user.cookies.get("keyport_headless_code") ?? "";
      const [payload = "", signature = ""] = sealed.split(".");
      const forged = Buffer.from(JSON.stringify({ code: "attacker", keyLabel: "x" })).toString(
        "base64url",
      );
      tampered.cookies.set("keyport_headless_code", `${forged}.${signature}`);
      expect(payload).not.toBe(forged);
      expect((await tampered.get("/auth/code")).status).toBe(404);
    });

    it("deny: 303 to a page that says nothing was created", async () => {
      const params = { code_challenge: CHALLENGE, code_challenge_method: "S256" };
      const consent = await user.get(authPath(params));
      const answer = await user.post("/auth", consentForm(consent.html, "deny"));
      expect(answer.status).toBe(303);
      expect(new URL(answer.location as string).pathname).toBe("/auth/denied");
      expect((await user.get("/auth/denied")).html).toMatch(/No key was created/);
    });

    it.each([
      ["plain", { code_challenge: CHALLENGE, code_challenge_method: "plain" }],
      ["no challenge", {}],
    ])("%s: 400 error page", async (_, params) => {
      const page = await user.get(authPath(params));
      expect(page.status).toBe(400);
      expect(page.location).toBeUndefined();
      expect(alertOf(page.html)).toMatch(/S256/);
    });
  });

  describe("DESIGN invariant 4: a bad callback_url never redirects", () => {
    it.each(REJECTED_CALLBACKS)("GET /auth callback_url=%s: 400 page, no Location", async (bad) => {
      for (const browser of [user, new Browser(server.url)]) {
        const page = await browser.get(authPath({ ...WEB, callback_url: bad }));
        expect(page.status).toBe(400);
        expect(page.headers.get("location")).toBeNull();
        expect(page.headers.get("content-type")).toMatch(/text\/html/);
        expect(alertOf(page.html)).toMatch(/callback_url/);
      }
    });

    it.each(["javascript:alert(1)", "http://evil.example/cb", "https://app.example/cb#x"])(
      "a consent form tampered to callback_url=%s: 400, no redirect, no code",
      async (bad) => {
        const codesBefore = await countRows("SELECT count(*) AS n FROM codes");
        const consent = await user.get(authPath(WEB));
        for (const decision of ["approve", "deny"] as const) {
          const page = await user.post("/auth", {
            ...consentForm(consent.html, decision),
            callback_url: bad,
          });
          expect(page.status).toBe(400);
          expect(page.location).toBeUndefined();
        }
        expect(await countRows("SELECT count(*) AS n FROM codes")).toBe(codesBefore);
      },
    );

    it("a consent form with callback_url given twice: 400, no redirect", async () => {
      const consent = await user.get(authPath(WEB));
      const page = await user.post("/auth", {
        ...consentForm(consent.html, "approve"),
        callback_url: ["https://app.example/cb", "https://evil.example/cb"],
      });
      expect(page.status).toBe(400);
      expect(page.location).toBeUndefined();
    });
  });

  describe("DESIGN invariant 7: abuse", () => {
    it("form bodies over 16 KiB: 413", async () => {
      const browser = new Browser(server.url);
      const token = csrfTokenOf((await browser.get("/signin")).html);
      for (const path of ["/signin", "/signup", "/auth", "/signout"]) {
        const page = await browser.post(path, { csrf_token: token, email: "x".repeat(17 * 1024) });
        expect(page.status, path).toBe(413);
      }
    });

    it("sign-in is rate limited: 429 with Retry-After", async () => {
      const limited = await running.another({ signInRateLimit: 2 });
      const browser = new Browser(limited.url);
      for (let i = 0; i < 2; i++) {
        expect((await browser.signIn("nobody@example.test", "wrong password")).status).toBe(401);
      }
      const page = await browser.signIn("nobody@example.test", "wrong password");
      expect(page.status).toBe(429);
      expect(Number(page.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expectSecurityHeaders(page, "429");
    });

    it("sign-up is rate limited: 429 with Retry-After, no account", async () => {
      const limited = await running.another({ signUpRateLimit: 1 });
      await new Browser(limited.url).signUp();
      const page = await new Browser(limited.url).submit("/signup", "/signup", {
        email: "second@example.test",
        password: "long enough password",
      });
      expect(page.status).toBe(429);
      expect(Number(page.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    });

    it("malformed requests get a 4xx page, never a 500", async () => {
      const browser = new Browser(server.url);
      const token = csrfTokenOf((await browser.get("/signin")).html);
      const file = new FormData();
      file.append("csrf_token", token);
      file.append("email", new Blob(["x"]), "x.txt");
      const badNext = await browser.get("/signin?next=%");
      expect(badNext.status).toBe(200);
      expect(badNext.html).toContain('action="/signin?next=%2F"');
      const answers = [
        await browser.get("/auth?callback_url=%E0%A4%A&code_challenge=%"),
        await user.get("/auth?callback_url=https%3A%2F%2Fapp.example%2Fcb&limit=%ZZ"),
        await user.get(`/auth?callback_url=${"a".repeat(8000)}`),
        await browser.request("POST", "/signin", "{", { "content-type": "application/json" }),
        await browser.request("POST", "/signin", "%%%", {
          "content-type": "application/x-www-form-urlencoded",
        }),
        await user.post("/auth", { csrf_token: csrfTokenOf((await user.get("/")).html) }),
      ];
      const multipart = await fetch(`${server.url}/signup`, {
        method: "POST",
        body: file,
        headers: { cookie: `keyport_session=${browser.cookies.get("keyport_session")}` },
        redirect: "manual",
      });
      for (const status of [...answers.map((page) => page.status), multipart.status]) {
        expect(status).toBeGreaterThanOrEqual(400);
        expect(status).toBeLessThan(500);
      }
    });

    it("an over-long session cookie is ignored, never a 500", async () => {
      const browser = new Browser(server.url);
      browser.cookies.set("keyport_session", "x".repeat(4000));
      expect((await browser.get("/")).status).toBe(200);
    });
  });

  describe("--signup closed", () => {
    it("GET /signup 403, POST /signup refused, no account; sign-in has no sign-up link", async () => {
      const closed = await running.another({ signup: "closed" });
      const browser = new Browser(closed.url);
      expect((await browser.get("/signup")).status).toBe(403);
      const signin = await browser.get("/signin");
      expect(signin.html).not.toContain('href="/signup');
      const page = await browser.post("/signup", {
        csrf_token: csrfTokenOf(signin.html),
        email: "closed@example.test",
        password: "long enough password",
      });
      expect(page.status).toBe(403);
      expect(page.location).toBeUndefined();
      expect((await browser.signIn("closed@example.test", "long enough password")).status).toBe(
        401,
      );
    });
  });
});
