import type { Browser as Chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../test/e2e/support/chromium.js";
import { expectNoSeriousViolations, seriousViolations } from "./support/a11y.js";
import { openPage, signedInPage } from "./support/chromium-page.js";
import { dialects } from "./support/databases.js";
import { useServer } from "./support/server.js";

const [sqlite] = dialects;

describe("axe check and signed-in Chromium pages", () => {
  const running = useServer(sqlite as (typeof dialects)[number]);
  let chromium: Chromium;
  beforeAll(async () => {
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
  });

  it("finds the serious violations axe reports on a broken page", async () => {
    const page = await openPage(chromium);
    await page.setContent(
      '<html><body><img src="x.png"><form><input type="text"></form><button></button></body></html>',
    );
    const ids = (await seriousViolations(page)).map((v) => v.id).sort();
    expect(ids).toEqual(expect.arrayContaining(["button-name", "image-alt", "label"]));
    await expect(expectNoSeriousViolations(page)).rejects.toThrow(/image-alt/);
  });

  it("passes the sign-in and sign-up pages", async () => {
    const page = await openPage(chromium);
    for (const path of ["/signin", "/signup"]) {
      await page.goto(`${running.server.url}${path}`);
      await expectNoSeriousViolations(page);
    }
  });

  it("opens a page already signed in, with the session the server issued", async () => {
    const { page, account } = await signedInPage(chromium, running.server.url);
    await page.goto(running.server.url);
    expect(await page.locator("strong", { hasText: account.email }).count()).toBe(1);
    await expectNoSeriousViolations(page);
  });
});
