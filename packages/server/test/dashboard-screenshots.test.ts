import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser as Chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../test/e2e/support/chromium.js";
import { signedInPage } from "./support/chromium-page.js";
import { appKey, echoChat } from "./support/dashboard.js";
import { dialects } from "./support/databases.js";
import { useServer } from "./support/server.js";

/**
 * The README's dashboard screenshots, taken from real Chromium on a real server with real
 * usage. Run on purpose, not with the suite:
 *   KEYPORT_DOCS_SCREENSHOTS=docs/images npx vitest run packages/server/test/dashboard-screenshots.test.ts
 */
const target = process.env.KEYPORT_DOCS_SCREENSHOTS;
const [sqlite] = dialects;
const DAY = 86_400_000;

describe.skipIf(!target)("dashboard screenshots for the README", { timeout: 300_000 }, () => {
  const running = useServer(sqlite as (typeof dialects)[number], { echoDelayMs: 0 });
  let chromium: Chromium;
  beforeAll(async () => {
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
  });

  it("takes the keys, usage, connected apps and account pages", async () => {
    const dir = resolve(process.cwd(), target as string);
    mkdirSync(dir, { recursive: true });
    const { page, http } = await signedInPage(chromium, running.server.url);
    const notes = await appKey(http, "https://notes.example/callback", "Notes on my laptop");
    const chat = await appKey(http, "https://chat.example/oauth", "Chat assistant");
    const script = await appKey(http, "http://127.0.0.1:43117/callback", "keyport CLI on laptop");
    const plan: [string, number][] = [
      [notes, 3],
      [chat, 2],
      [script, 1],
    ];
    for (let day = 0; day < 12; day++) {
      for (const [key, calls] of plan) {
        for (let i = 0; i < ((day + calls) % 4) + calls - 1; i++) {
          const answer = await echoChat(running.server.url, key, "x ".repeat(40 * (day + 1)));
          expect(answer.status).toBe(200);
          await answer.arrayBuffer();
        }
      }
      running.clock.advance(DAY);
    }
    await page.goto(`${running.server.url}/keys`);
    await page.getByLabel("Label").fill("Nightly batch job");
    await page.getByLabel("Limit in credits").fill("5");
    await page.getByLabel("Limit resets").selectOption("monthly");
    await page.getByRole("button", { name: "Create key" }).click();
    await page.waitForURL(/\/keys\/created$/);

    const shots: [string, string][] = [
      ["/keys", "dashboard-keys.png"],
      ["/usage", "dashboard-usage.png"],
      ["/apps", "dashboard-apps.png"],
      ["/account", "dashboard-account.png"],
    ];
    for (const [path, file] of shots) {
      await page.goto(`${running.server.url}${path}`);
      if (path === "/usage")
        await page.locator('#by-model-chart[data-drawn="true"] canvas').waitFor();
      await page.screenshot({ path: join(dir, file), fullPage: true });
    }
  });
});
