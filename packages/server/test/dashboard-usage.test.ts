import type { Browser as Chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../test/e2e/support/chromium.js";
import { expectNoSeriousViolations } from "./support/a11y.js";
import { signedInPage } from "./support/chromium-page.js";
import { appKey, echoChat } from "./support/dashboard.js";
import { dialects } from "./support/databases.js";
import { sha256Hex, useServer } from "./support/server.js";

const [sqlite] = dialects;
const DAY = 86_400_000;

describe("/usage in Chromium", { timeout: 120_000 }, () => {
  const running = useServer(sqlite as (typeof dialects)[number], { echoDelayMs: 0 });
  let chromium: Chromium;
  beforeAll(async () => {
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
  });

  /** One echo call; what it cost, from the key's own usage. */
  async function call(baseUrl: string, key: string): Promise<void> {
    const answer = await echoChat(baseUrl, key);
    expect(answer.status).toBe(200);
    await answer.arrayBuffer();
  }

  it("charts 30 days of spend by key and by model with uPlot, and the tables carry the same numbers", async () => {
    const { page, http } = await signedInPage(chromium, running.server.url);
    const notes = await appKey(http, "https://notes.example/cb", "Notes");
    const chat = await appKey(http, "https://chat.example/cb", "Chat");
    await call(running.server.url, notes); // day 0
    running.clock.advance(2 * DAY);
    await call(running.server.url, notes); // day 2
    await call(running.server.url, chat);
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));

    await page.goto(`${running.server.url}/usage`);
    await page.locator('#by-key-chart[data-drawn="true"] canvas').waitFor();
    await page.locator('#by-model-chart[data-drawn="true"] canvas').waitFor();
    expect(errors).toEqual([]); // no CSP refusal, no script error
    await expectNoSeriousViolations(page);

    const table = page.locator("#by-key-title ~ .table-wrap table");
    const headers = await table.locator("thead th").allTextContents();
    const notesName = `Notes (${sha256Hex(notes).slice(0, 6)})`;
    const chatName = `Chat (${sha256Hex(chat).slice(0, 6)})`;
    expect(headers.slice(1).sort()).toEqual([chatName, notesName].sort());
    const rows = await table.locator("tbody tr").count();
    expect(rows).toBe(30);
    const lastRow = await table.locator("tbody tr").last().locator("th, td").allTextContents();
    expect(lastRow[0]).toBe("2026-01-03");
    const threeDaysAgo = await table.locator("tbody tr").nth(27).locator("th").textContent();
    expect(threeDaysAgo).toBe("2026-01-01");
    const noteColumn = headers.indexOf(notesName);
    const dayZero = await table.locator("tbody tr").nth(27).locator("th, td").allTextContents();
    expect(Number(dayZero[noteColumn])).toBeGreaterThan(0);
    expect(Number(lastRow[noteColumn])).toBeGreaterThan(0);
    expect(Number(lastRow[headers.indexOf(chatName)])).toBeGreaterThan(0);

    // The chart draws what the table shows: the same series, in uPlot's own legend.
    const legend = await page.locator("#by-key-chart .u-legend .u-label").allTextContents();
    expect(legend.slice(1).sort()).toEqual([chatName, notesName].sort());
    const model = await page.locator("#by-model-title ~ .table-wrap thead th").allTextContents();
    expect(model).toEqual(["Day (UTC)", "keyport/echo"]);
  });

  it("without scripts the tables are the view, with the numbers", async () => {
    const { page, http } = await signedInPage(chromium, running.server.url);
    const key = await appKey(http, "https://notes.example/cb", "Offline notes");
    await call(running.server.url, key);
    const context = await chromium.newContext({ javaScriptEnabled: false });
    try {
      await context.addCookies(await page.context().cookies());
      const noScript = await context.newPage();
      await noScript.goto(`${running.server.url}/usage`);
      expect(await noScript.locator("canvas").count()).toBe(0);
      const table = noScript.locator("#by-key-title ~ .table-wrap table");
      const headers = await table.locator("thead th").allTextContents();
      expect(headers).toEqual(["Day (UTC)", `Offline notes (${sha256Hex(key).slice(0, 6)})`]);
      const today = await table.locator("tbody tr").last().locator("td").textContent();
      expect(Number(today)).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });
});
