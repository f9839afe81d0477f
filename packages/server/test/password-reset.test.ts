import type { Browser as Chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../test/e2e/support/chromium.js";
import type { RunningServer } from "../src/index.js";
import { expectNoSeriousViolations } from "./support/a11y.js";
import { Browser } from "./support/browser.js";
import { openPage } from "./support/chromium-page.js";
import { dialects } from "./support/databases.js";
import { type TestClock, testClock, useServer } from "./support/server.js";
import { resetLinkIn, startSmtp, type TestSmtp } from "./support/smtp.js";

const [sqlite] = dialects;
const NEW_PASSWORD = "lantern meadow copper fjord";
const MINUTE = 60_000;

describe("password reset by email", { timeout: 120_000 }, () => {
  const running = useServer(sqlite as (typeof dialects)[number]);
  let chromium: Chromium;
  let smtp: TestSmtp;
  let server: RunningServer;
  let clock: TestClock;
  beforeAll(async () => {
    chromium = await launchChromium();
    smtp = await startSmtp();
    clock = testClock();
    server = await running.another({ smtpUrl: smtp.url }, clock);
  });
  afterAll(async () => {
    await chromium?.close();
    await smtp?.close();
  });
  /** Each test starts a fresh rate-limit minute. */
  const nextMinute = () => clock.advance(MINUTE + 1);

  it("mails a single-use link; Chromium follows it, sets a new password and signs in", async () => {
    nextMinute();
    const http = new Browser(server.url);
    const account = await http.signUp();
    const page = await openPage(chromium);
    await page.goto(`${server.url}/signin`);
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await expectNoSeriousViolations(page);
    const before = smtp.mails.length;
    await page.getByLabel("Email").fill(account.email.toUpperCase());
    await page.getByRole("button", { name: "Send the link" }).click();
    expect(await page.getByRole("status").textContent()).toContain("a link to reset");

    const mail = await smtp.nth(before + 1);
    expect(mail.to).toEqual([account.email]);
    // The link is on the configured public URL; this server listens on an ephemeral port (its
    // public URL says port 0), so the test opens the link's path on the real port.
    const link = new URL(new URL(resetLinkIn(mail)).pathname, server.url).href;
    await page.goto(link);
    await expectNoSeriousViolations(page);
    await page.getByLabel("New password").fill("password123");
    await page.getByRole("button", { name: "Set the password" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("most common");
    await page.getByLabel("New password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Set the password" }).click();
    await page.waitForURL(`${server.url}/signin?reset=1`);
    await page.getByLabel("Email").fill(account.email);
    await page.getByLabel("Password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${server.url}/`);
    expect(await page.locator("strong", { hasText: account.email }).count()).toBe(1);

    // The old password is gone, the old session too, and the link works once.
    expect((await new Browser(server.url).signIn(account.email, account.password)).status).toBe(
      401,
    );
    expect((await http.get("/keys")).status).toBe(303);
    await page.goto(link);
    expect(await page.getByRole("alert").textContent()).toContain("expired or was already used");
    const replay = await new Browser(server.url).submit("/forgot", new URL(link).pathname, {
      password: "another fine passphrase",
    });
    expect(replay.status).toBe(410);
    expect((await new Browser(server.url).signIn(account.email, NEW_PASSWORD)).status).toBe(303);
  });

  it("a link older than 30 minutes fails", async () => {
    nextMinute();
    const http = new Browser(server.url);
    const account = await http.signUp();
    const before = smtp.mails.length;
    await http.submit("/forgot", "/forgot", { email: account.email });
    const link = new URL(resetLinkIn(await smtp.nth(before + 1)));
    clock.advance(30 * MINUTE + 1);
    expect((await http.get(link.pathname)).status).toBe(410);
    const late = await http.submit("/forgot", link.pathname, { password: NEW_PASSWORD });
    expect(late.status).toBe(410);
    expect((await new Browser(server.url).signIn(account.email, NEW_PASSWORD)).status).toBe(401);
    expect((await new Browser(server.url).signIn(account.email, account.password)).status).toBe(
      303,
    );
  });

  it("answers an unknown email exactly as a known one and mails nobody", async () => {
    nextMinute();
    const known = await new Browser(server.url).signUp();
    const before = smtp.mails.length;
    const ask = (email: string) => new Browser(server.url).submit("/forgot", "/forgot", { email });
    const unknown = await ask("nobody-here@example.test");
    const real = await ask(known.email);
    expect(unknown.status).toBe(real.status);
    const strip = (html: string, email: string) =>
      html.replace(email, "EMAIL").replace(/value="[^"]+"/g, 'value=""');
    expect(strip(unknown.html, "nobody-here@example.test")).toBe(strip(real.html, known.email));
    const mail = await smtp.nth(before + 1);
    expect(mail.to).toEqual([known.email]);
    expect(smtp.mails.length).toBe(before + 1);
  });

  it("rate-limits reset requests per address: 429 with Retry-After past the limit", async () => {
    nextMinute();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = await new Browser(server.url).submit("/forgot", "/forgot", {
        email: `flood-${i}@example.test`,
      });
      statuses.push(answer.status);
      if (answer.status === 429)
        expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it("without SMTP, the page says how the operator resets a password with the CLI", async () => {
    const page = await openPage(chromium);
    await page.goto(`${running.server.url}/forgot`);
    await expectNoSeriousViolations(page);
    expect(await page.locator(".code").textContent()).toBe(
      "keyport users set-password you@example.com",
    );
    expect(await page.getByRole("button").count()).toBe(0);
    const post = await new Browser(running.server.url).post("/forgot", { email: "a@b.c" });
    expect(post.status).toBe(200);
  });
});
