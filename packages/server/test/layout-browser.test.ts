import type { Browser as Chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../test/e2e/support/chromium.js";
import { openPage, signedInPage } from "./support/chromium-page.js";
import { dialects } from "./support/databases.js";
import { expectFitsEverywhere, expectNoHorizontalScroll, NARROW } from "./support/page-fit.js";
import { useServer } from "./support/server.js";

const [sqlite] = dialects;

// Chromium and axe share two cores with other work: generous, not timed, limits.
describe("page frame in Chromium: 360 px, dark scheme, favicon", { timeout: 120_000 }, () => {
  const running = useServer(sqlite as (typeof dialects)[number]);
  let chromium: Chromium;
  beforeAll(async () => {
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
  });

  it("serves the SVG favicon with caching, and every page links it", async () => {
    const answer = await fetch(`${running.server.url}/assets/favicon.svg`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toBe("image/svg+xml");
    expect(answer.headers.get("cache-control")).toMatch(/max-age=\d{4,}/);
    expect(await answer.text()).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);

    const page = await openPage(chromium);
    for (const path of ["/", "/signin", "/no-such-page"]) {
      await page.goto(`${running.server.url}${path}`);
      const href = await page.locator('link[rel="icon"]').getAttribute("href");
      expect(href, path).toBe("/assets/favicon.svg");
      expect(await page.locator('link[rel="icon"]').getAttribute("type")).toBe("image/svg+xml");
    }
  });

  it.each(["/", "/signin", "/signup", "/no-such-page", "/auth?callback_url=javascript:alert(1)"])(
    "%s fits 360 px and passes axe in both schemes",
    async (path) => {
      const page = await openPage(chromium, NARROW);
      await page.goto(`${running.server.url}${path}`);
      await expectFitsEverywhere(page);
    },
  );

  it("signed-in home page: navigation frame, 360 px, both schemes", async () => {
    const { page } = await signedInPage(chromium, running.server.url);
    await page.goto(running.server.url);
    expect(await page.locator('nav[aria-label="Main"] a').allTextContents()).toEqual(
      expect.arrayContaining(["Keys", "Account"]),
    );
    // Not an admin: no link to the admin pages.
    expect(await page.locator('nav a[href="/admin/users"]').count()).toBe(0);
    await expectFitsEverywhere(page);
  });

  it("dashboard pages, with a key of a long label in the table: 360 px, both schemes", async () => {
    const { page } = await signedInPage(chromium, running.server.url);
    await page.goto(`${running.server.url}/keys`);
    await page.getByLabel("Label").fill(`Nightly batch ${"long-label-".repeat(8)}`);
    await page.getByLabel("Limit in credits").fill("12.5");
    await page.getByRole("button", { name: "Create key" }).click();
    await expectFitsEverywhere(page);
    for (const path of ["/keys", "/usage", "/apps", "/account", "/forgot"]) {
      await page.goto(`${running.server.url}${path}`);
      await expectFitsEverywhere(page);
    }
  });

  it("a page wider than the viewport would be caught", async () => {
    const page = await openPage(chromium, NARROW);
    await page.goto(`${running.server.url}/signin`);
    await page.evaluate(() => {
      const wide = document.createElement("pre");
      wide.textContent = "x".repeat(400);
      document.querySelector("main")?.append(wide);
    });
    await expect(expectNoHorizontalScroll(page)).rejects.toThrow(/wide in a 360px viewport/);
  });
});
