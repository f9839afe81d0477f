import type { Browser as Chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../test/e2e/support/chromium.js";
import { expectNoSeriousViolations } from "./support/a11y.js";
import { Browser } from "./support/browser.js";
import { signedInPage } from "./support/chromium-page.js";
import { appKey, echoStatus } from "./support/dashboard.js";
import { dialects } from "./support/databases.js";
import { useServer } from "./support/server.js";

const [sqlite] = dialects;
const NEW_PASSWORD = "violet umbrella gravel orbit";

describe("/apps and /account in Chromium", { timeout: 120_000 }, () => {
  const running = useServer(sqlite as (typeof dialects)[number], { echoDelayMs: 0 });
  let chromium: Chromium;
  beforeAll(async () => {
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
  });
  const url = (path: string) => `${running.server.url}${path}`;

  it("lists the apps holding keys and disconnects one: all of its keys get 401 at once", async () => {
    const { page, http } = await signedInPage(chromium, running.server.url);
    const notes1 = await appKey(http, "https://notes.example/cb", "Notes on laptop");
    const notes2 = await appKey(http, "https://notes.example/other-cb", "Notes on phone");
    const chat = await appKey(http, "https://chat.example/cb", "Chat");
    expect(await echoStatus(running.server.url, notes1)).toBe(200);

    await page.goto(url("/apps"));
    await expectNoSeriousViolations(page);
    const notes = page.locator('tr[data-app="https://notes.example"]');
    expect(await notes.locator("td").allTextContents()).toEqual([
      "Notes on laptop, Notes on phone",
      "2",
      "2026-01-01 00:00 UTC",
      "Disconnect…",
    ]);
    expect(await page.locator('tr[data-app="https://chat.example"] td').nth(2).textContent()).toBe(
      "never",
    );

    await notes.getByRole("link", { name: "Disconnect https://notes.example" }).click();
    await expectNoSeriousViolations(page);
    expect(await echoStatus(running.server.url, notes2)).toBe(200); // confirming changes nothing
    await page.getByRole("button", { name: "Disconnect" }).click();
    await page.waitForURL(url("/apps?done=disconnected"));
    expect(await notes.count()).toBe(0);
    expect(await echoStatus(running.server.url, notes1)).toBe(401);
    expect(await echoStatus(running.server.url, notes2)).toBe(401);
    expect(await echoStatus(running.server.url, chat)).toBe(200);
    // Another user cannot disconnect this one's app.
    const intruder = new Browser(running.server.url);
    await intruder.signUp();
    const answer = await intruder.submit("/", "/apps/disconnect", { app: "https://chat.example" });
    expect(answer.status).toBe(404);
    expect(await echoStatus(running.server.url, chat)).toBe(200);
  });

  it("changes the password with the current one, ending other sessions; /settings leads there", async () => {
    const { page, account } = await signedInPage(chromium, running.server.url);
    const elsewhere = new Browser(running.server.url);
    expect((await elsewhere.signIn(account.email, account.password)).status).toBe(303);

    await page.goto(url("/settings"));
    expect(page.url()).toBe(url("/account"));
    await expectNoSeriousViolations(page);
    await page.getByLabel("Current password").fill("not my password");
    await page.getByLabel("New password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Change password" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("not your current password");
    await page.getByLabel("Current password").fill(account.password);
    await page.getByLabel("New password").fill("password123");
    await page.getByRole("button", { name: "Change password" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("most common");
    await page.getByLabel("Current password").fill(account.password);
    await page.getByLabel("New password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.waitForURL(url("/account?done=password"));
    await expectNoSeriousViolations(page);

    // This browser stays signed in; the other session is over; only the new password works.
    await page.goto(url("/keys"));
    expect(page.url()).toBe(url("/keys"));
    expect((await elsewhere.get("/keys")).status).toBe(303);
    const fresh = new Browser(running.server.url);
    expect((await fresh.signIn(account.email, account.password)).status).toBe(401);
    expect((await fresh.signIn(account.email, NEW_PASSWORD)).status).toBe(303);
  });

  it("signs out everywhere, this browser included", async () => {
    const { page, account } = await signedInPage(chromium, running.server.url);
    const elsewhere = new Browser(running.server.url);
    await elsewhere.signIn(account.email, account.password);
    await page.goto(url("/account"));
    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await page.waitForURL(url("/signin"));
    await page.goto(url("/keys"));
    expect(page.url()).toBe(url("/signin?next=%2Fkeys"));
    expect((await elsewhere.get("/keys")).status).toBe(303);
  });

  it("deletes the account only with its password and the box ticked: keys revoked, signed out", async () => {
    const { page, http, account } = await signedInPage(chromium, running.server.url);
    const key = await appKey(http, "https://notes.example/cb", "Notes");
    await page.goto(url("/account"));
    const remove = page.getByRole("button", { name: "Delete account" });
    await page.getByLabel("Your password").fill("wrong password here");
    await page.getByRole("checkbox").check();
    await remove.click();
    expect(await page.getByRole("alert").textContent()).toContain("not your current password");
    expect(await echoStatus(running.server.url, key)).toBe(200);
    // Without the box ticked (the browser's own check bypassed), nothing happens either.
    const unticked = await http.submit("/account", "/account/delete", {
      password: account.password,
    });
    expect(unticked.status).toBe(400);
    expect(await echoStatus(running.server.url, key)).toBe(200);

    await page.getByLabel("Your password").fill(account.password);
    await page.getByRole("checkbox").check();
    await remove.click();
    await page.waitForURL(url("/?deleted=1"));
    expect(await echoStatus(running.server.url, key)).toBe(401);
    expect((await http.get("/keys")).status).toBe(303);
    expect(
      (await new Browser(running.server.url).signIn(account.email, account.password)).status,
    ).toBe(401);
  });
});
