import type { Browser as Chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../test/e2e/support/chromium.js";
import { createAccount } from "../src/index.js";
import { Browser, csrfTokenOf } from "./support/browser.js";
import { signedInPage } from "./support/chromium-page.js";
import { dialects } from "./support/databases.js";
import { expectFitsEverywhere } from "./support/page-fit.js";
import { useServer } from "./support/server.js";
import { echoCall, keyForSignedIn } from "./support/user-key.js";

const PASSWORD = "correct horse battery staple";

describe.each(dialects)("first user admin ($name)", { timeout: 120_000 }, (dialect) => {
  it("a race of sign-ups on an empty database with --first-user-admin makes exactly one admin", async () => {
    const database = await dialect.fresh();
    const { openStore } = await import("../src/index.js");
    const store = await openStore(database.url);
    try {
      const deps = { store, clock: () => new Date() };
      const made = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          createAccount(deps, `racer${i}@example.test`, PASSWORD, "if-first"),
        ),
      );
      expect(made.every((user) => user !== undefined)).toBe(true);
      expect(made.filter((user) => user?.isAdmin)).toHaveLength(1);
      // Later accounts never are, even with the grant.
      const late = await createAccount(deps, "late@example.test", PASSWORD, "if-first");
      expect(late?.isAdmin).toBe(false);
      const listed = await store.listUsers({ offset: 0, limit: 10, since: new Date(0) });
      expect(listed.users.filter((entry) => entry.user.isAdmin)).toHaveLength(1);
    } finally {
      await store.close();
      await database.drop();
    }
  });
});

describe("admin pages in Chromium", { timeout: 120_000 }, () => {
  const running = useServer(dialects[0] as (typeof dialects)[number], { firstUserAdmin: true });
  let chromium: Chromium;
  let admin: { email: string; password: string };
  let member: Browser;
  let memberEmail: string;
  let memberKey: string;

  beforeAll(async () => {
    chromium = await launchChromium();
    // The first sign-up of the server becomes its admin; the next ones do not.
    admin = await new Browser(running.server.url).signUp("operator@example.test");
    member = new Browser(running.server.url);
    ({ email: memberEmail } = await member.signUp("member@spend.test"));
    memberKey = await keyForSignedIn(member);
    expect((await echoCall(running.server.url, memberKey)).status).toBe(200);
    for (let i = 0; i < 3; i++)
      await new Browser(running.server.url).signUp(`extra${i}@example.test`);
  });
  afterAll(async () => {
    await chromium?.close();
  });

  it("non-admins get 404 on /admin pages and actions; signed-out visitors are sent to sign in", async () => {
    for (const path of [
      "/admin",
      "/admin/users",
      "/admin/users/user_00000000000000000000000000000000",
    ]) {
      expect((await member.get(path)).status, path).toBe(404);
    }
    const token = csrfTokenOf((await member.get("/")).html);
    const forged = await member.post("/admin/users/user_00000000000000000000000000000000/disable", {
      csrf_token: token,
    });
    expect(forged.status).toBe(404);
    const anonymous = await new Browser(running.server.url).get("/admin/users");
    expect(anonymous.status).toBe(303);
    expect(anonymous.location).toMatch(/\/signin\?next=%2Fadmin%2Fusers$/);
  });

  it("lists accounts with spend and keys, searches by email, fits 360 px, passes axe", async () => {
    const { page } = await signedInPage(chromium, running.server.url, admin);
    await page.goto(`${running.server.url}/admin/users`);
    expect(await page.locator("nav a[href='/admin/users']").getAttribute("aria-current")).toBe(
      "page",
    );
    const rows = page.locator("tbody tr");
    expect(await rows.count()).toBe(5);
    const memberRow = rows.filter({ hasText: memberEmail });
    const cells = await memberRow.locator("td").allTextContents();
    expect(cells[1]).toBe("1");
    expect(Number(cells[2])).toBeGreaterThan(0);
    expect(cells[4]).toBe("none");
    await expectFitsEverywhere(page);

    await page.fill("#q", "SPEND.test");
    await page.click("form.inline button");
    await page.waitForURL(/q=SPEND\.test/);
    expect(await page.locator("tbody tr").allTextContents()).toEqual([
      expect.stringContaining(memberEmail),
    ]);
  });

  it("pages through accounts", async () => {
    const { page } = await signedInPage(chromium, running.server.url, admin);
    // 50 a page: a search that matches none shows one page and no pager.
    await page.goto(`${running.server.url}/admin/users?q=nobody-matches`);
    expect(await page.locator("tbody tr").count()).toBe(0);
    expect(await page.locator("nav.pager").count()).toBe(0);
    await page.goto(`${running.server.url}/admin/users?page=999`);
    expect(await page.locator("tbody tr").count()).toBe(0);
  });

  it("disables a user from the page (key stops at once, sessions end), then enables", async () => {
    const { page } = await signedInPage(chromium, running.server.url, admin);
    await page.goto(`${running.server.url}/admin/users?q=member`);
    await page.click(`a:text("${memberEmail}")`);
    await expectFitsEverywhere(page);
    await page.click("button:text('Disable account')");
    await page.waitForURL(/done=disabled/);
    expect(await page.locator("[role=status]").textContent()).toMatch(/Disabled/);
    const refused = await echoCall(running.server.url, memberKey);
    expect(refused.status).toBe(403);
    expect((await member.get("/")).html).not.toContain(memberEmail);

    await page.click("button:text('Enable account')");
    await page.waitForURL(/done=enabled/);
    expect((await echoCall(running.server.url, memberKey)).status).toBe(200);
  });

  it("sets the account credit; a bad value gets a field error and changes nothing", async () => {
    const { page } = await signedInPage(chromium, running.server.url, admin);
    await page.goto(`${running.server.url}/admin/users?q=member`);
    await page.click(`a:text("${memberEmail}")`);
    const detail = page.url();

    await page.fill("#credits", "-5");
    await page.click("button:text('Save credit')");
    expect(await page.locator("#credits-error").textContent()).toMatch(/from 0 to/);
    expect(await page.locator("#credits").getAttribute("aria-invalid")).toBe("true");
    await expectFitsEverywhere(page);
    expect((await echoCall(running.server.url, memberKey)).status).toBe(200);

    await page.goto(detail);
    await page.fill("#credits", "0");
    await page.click("button:text('Save credit')");
    await page.waitForURL(/done=credit/);
    const capped = await echoCall(running.server.url, memberKey);
    expect(capped.status).toBe(402);
    expect(capped.error?.message).toMatch(/Account credit reached/);

    await page.fill("#credits", "");
    await page.click("button:text('Save credit')");
    await page.waitForURL(/done=credit/);
    expect((await echoCall(running.server.url, memberKey)).status).toBe(200);
  });
});
