import type { Browser as Chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../test/e2e/support/chromium.js";
import { expectNoSeriousViolations } from "./support/a11y.js";
import { Browser, csrfTokenOf } from "./support/browser.js";
import { signedInPage } from "./support/chromium-page.js";
import { appKey, echoStatus } from "./support/dashboard.js";
import { dialects } from "./support/databases.js";
import { keyInfo, sha256Hex, useServer } from "./support/server.js";

const [sqlite] = dialects;

describe("/keys in Chromium", { timeout: 120_000 }, () => {
  const running = useServer(sqlite as (typeof dialects)[number], { echoDelayMs: 0 });
  let chromium: Chromium;
  beforeAll(async () => {
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
  });
  const url = (path: string) => `${running.server.url}${path}`;

  it("sends a signed-out visitor to sign in, and back to /keys", async () => {
    const answer = await new Browser(running.server.url).get("/keys");
    expect(answer.status).toBe(303);
    expect(answer.location).toBe(url("/signin?next=%2Fkeys"));
  });

  it("creates a key shown once, edits it, disables, enables and revokes it; the gateway follows at once", async () => {
    const { page } = await signedInPage(chromium, running.server.url);
    await page.goto(url("/keys"));
    await expectNoSeriousViolations(page);
    await page.getByLabel("Label").fill("Laptop script");
    await page.getByLabel("Limit in credits").fill("5");
    await page.getByLabel("Limit resets").selectOption("daily");
    await page.getByRole("button", { name: "Create key" }).click();
    await page.waitForURL(url("/keys/created"));
    const key = (await page.getByTestId("new-key").textContent())?.trim() ?? "";
    expect(key).toMatch(/^sk-kp-v1-[0-9a-f]{64}$/);
    await expectNoSeriousViolations(page);
    // Shown once: the page does not show it again.
    await page.goto(url("/keys/created"));
    expect(page.url()).toBe(url("/keys"));
    expect(await page.content()).not.toContain(key);

    expect(await echoStatus(running.server.url, key)).toBe(200);
    await page.reload();
    const row = page.locator(`tr[data-key="${sha256Hex(key)}"]`);
    await expect.poll(() => row.locator("th").textContent()).toContain("Laptop script");
    const cells = await row.locator("td").allTextContents();
    expect(cells[0]).toBe("5 credits, resets daily");
    expect(Number(cells[3])).toBeGreaterThan(0); // total
    expect(cells[1]).toBe(cells[3]); // today = total: one call, today
    expect(cells[2]).toBe(cells[3]); // 30 days
    expect(cells[5]).toBe("2026-01-01 00:00 UTC"); // last used, on the server's clock
    expect(cells[6]).toBe("This dashboard");

    await row.getByRole("link", { name: "Edit Laptop script" }).click();
    await expectNoSeriousViolations(page);
    await page.getByLabel("Label").fill("Renamed script");
    await page.getByLabel("Limit in credits").fill("");
    await page.getByRole("button", { name: "Save" }).click();
    await page.waitForURL(url("/keys?done=saved"));
    expect(await row.locator("th").textContent()).toContain("Renamed script");
    expect(await row.locator("td").first().textContent()).toBe("No limit");

    await row.getByRole("button", { name: "Disable Renamed script" }).click();
    await page.waitForURL(url("/keys?done=disabled"));
    expect(await row.locator(".badge").allTextContents()).toContain("disabled");
    expect(await echoStatus(running.server.url, key)).not.toBe(200);
    await row.getByRole("button", { name: "Enable Renamed script" }).click();
    await page.waitForURL(url("/keys?done=enabled"));
    expect(await echoStatus(running.server.url, key)).toBe(200);

    await row.getByRole("link", { name: "Revoke Renamed script" }).click();
    await page.waitForURL(url(`/keys/${sha256Hex(key)}/revoke`));
    await expectNoSeriousViolations(page);
    expect(await echoStatus(running.server.url, key)).toBe(200); // the confirm page changes nothing
    await page.getByRole("button", { name: "Revoke key" }).click();
    await page.waitForURL(url("/keys?done=revoked"));
    expect(await row.count()).toBe(0);
    expect(await echoStatus(running.server.url, key)).toBe(401);
    expect((await keyInfo(running.server.url, key)).status).toBe(401);
  });

  it("shows where each key came from: the app's callback origin for PKCE keys", async () => {
    const { page, http } = await signedInPage(chromium, running.server.url);
    const key = await appKey(http, "https://notes.example/oauth/callback?x=1", "Notes app");
    await page.goto(url("/keys"));
    const row = page.locator(`tr[data-key="${sha256Hex(key)}"]`);
    expect(await row.locator("td").nth(6).textContent()).toBe("App at https://notes.example");
    expect(await row.locator("td").nth(5).textContent()).toBe("never");
  });

  it("refuses a bad limit with a field error, another user's key with 404, a form without its token with 403", async () => {
    const owner = new Browser(running.server.url);
    await owner.signUp();
    const key = await appKey(owner, "https://a.example/cb", "Mine");
    const hash = sha256Hex(key);
    const intruder = new Browser(running.server.url);
    await intruder.signUp();

    const bad = await intruder.submit("/keys", "/keys", {
      label: "x",
      limit: "-3",
      limit_reset: "",
    });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain("Enter the limit as a number of credits");
    const tooLong = await intruder.submit("/keys", "/keys", { label: "y".repeat(101), limit: "" });
    expect(tooLong.status).toBe(400);
    expect(tooLong.html).toContain("Keep the label to 100 characters");

    for (const action of ["revoke", "disable", "edit"]) {
      const answer = await intruder.submit("/keys", `/keys/${hash}/${action}`, {
        label: "stolen",
        limit: "",
      });
      expect(answer.status).toBe(404);
    }
    expect((await intruder.get(`/keys/${hash}/revoke`)).status).toBe(404);
    const noToken = await owner.post(`/keys/${hash}/revoke`, {});
    expect(noToken.status).toBe(403);
    const junk = await owner.submit("/keys", "/keys/not-a-hash/revoke", {});
    expect(junk.status).toBe(404);
    // Nothing of that reached the key.
    expect(await echoStatus(running.server.url, key)).toBe(200);
    const page = await owner.get("/keys");
    expect(page.html).toContain("Mine");
    expect(csrfTokenOf(page.html)).toBeTruthy();
  });
});
