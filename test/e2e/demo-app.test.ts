import { createHash, randomBytes } from "node:crypto";
import { exchangeCode, getKeyInfo, UnauthorizedError } from "@keyport/client";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { launchChromium } from "./support/chromium.js";
import { newAccount, signUp } from "./support/pages.js";
import { type Stack, startStack } from "./support/stack.js";

let browser: Browser;
let stack: Stack;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  [browser, stack] = await Promise.all([launchChromium(), startStack()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});
beforeEach(async () => {
  await context?.close();
  context = await browser.newContext();
  page = await context.newPage();
});

describe("the demo app in real Chromium", () => {
  it("connects with Keyport: sign up, approve, back in the app with a key whose label it shows", async () => {
    await page.goto(stack.app.url);
    await page.getByRole("button", { name: "Connect with Keyport" }).click();

    await page.waitForURL(`${stack.keyportUrl}/signin**`);
    await signUp(page, newAccount());

    await page.waitForURL(`${stack.keyportUrl}/auth?**`);
    await expect
      .poll(() => page.locator(".app").textContent(), { timeout: 10_000 })
      .toBe(new URL(stack.app.url).origin);
    await page.getByText("runs on your own computer").waitFor({ state: "visible" });
    await page.getByRole("button", { name: "Authorize" }).click();

    await page.waitForURL(`${stack.app.url}/**`);
    await expect
      .poll(() => page.locator("#key-label").textContent(), { timeout: 10_000 })
      .toBe("Demo chat app");
    await expect
      .poll(() => page.locator("#key-preview").textContent(), { timeout: 10_000 })
      .toMatch(/^sk-kp-v1-.{4}…[0-9a-f]{4}$/);
    expect(new URL(page.url()).search).toBe("");

    // The key works on the gateway: the built-in test model streams the message back, billed.
    await page.getByRole("button", { name: "Send" }).click();
    await expect
      .poll(() => page.locator("#reply").textContent(), { timeout: 10_000 })
      .toContain("Hello from the demo app");
    await expect
      .poll(async () => Number(await page.locator("#key-usage").textContent()), { timeout: 10_000 })
      .toBeGreaterThan(0);

    // A reload does not exchange the code again: the stored key is shown.
    await page.reload();
    await expect
      .poll(() => page.locator("#key-label").textContent(), { timeout: 10_000 })
      .toBe("Demo chat app");
    expect(await page.locator("#status").getAttribute("class")).not.toBe("error");

    // Disconnect revokes the key on the server (DELETE /api/v1/key): it stops working at once.
    const key = (await page.evaluate(() => localStorage.getItem("demo-app:key"))) ?? "";
    expect((await getKeyInfo({ baseUrl: stack.keyportUrl, key })).label).toBe("Demo chat app");
    await page.getByRole("button", { name: "Disconnect" }).click();
    await expect
      .poll(() => page.locator("#status").textContent(), { timeout: 10_000 })
      .toBe("Disconnected: the key is revoked.");
    await page.locator("#signed-in").waitFor({ state: "hidden" });
    expect(await page.evaluate(() => localStorage.getItem("demo-app:key"))).toBeNull();
    await expect(getKeyInfo({ baseUrl: stack.keyportUrl, key })).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
    const chat = await fetch(`${stack.keyportUrl}/api/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "keyport/echo", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(chat.status).toBe(401);
  });

  it("reports a denied consent and holds no key", async () => {
    await page.goto(stack.app.url);
    await page.getByRole("button", { name: "Connect with Keyport" }).click();
    await page.waitForURL(`${stack.keyportUrl}/signin**`);
    await signUp(page, newAccount());
    await page.getByRole("button", { name: "Deny" }).click();

    await page.waitForURL(`${stack.app.url}/**`);
    await expect
      .poll(() => page.locator("#status").textContent(), { timeout: 10_000 })
      .toMatch(/denied/i);
    await page.locator("#signed-in").waitFor({ state: "hidden" });
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
  });

  it("connects in a popup without the app losing its page", async () => {
    await page.goto(stack.app.url);
    await page.evaluate(() => {
      (window as unknown as { marker: string }).marker = "still here";
    });
    const popupOpened = page.waitForEvent("popup");
    await page.getByRole("button", { name: "Connect in a popup" }).click();
    const popup = await popupOpened;
    const popupClosed = popup.waitForEvent("close");
    await popup.waitForURL(`${stack.keyportUrl}/signin**`);
    await signUp(popup, newAccount());
    await popup.getByRole("button", { name: "Authorize" }).click();

    await expect
      .poll(() => page.locator("#key-label").textContent(), { timeout: 10_000 })
      .toBe("Demo chat app");
    expect(await page.evaluate(() => (window as unknown as { marker: string }).marker)).toBe(
      "still here",
    );
    await popupClosed;
  });

  it("headless mode: the consent page shows a code that exchanges for a key", async () => {
    const verifier = randomBytes(32).toString("base64url");
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    await page.goto(
      `${stack.keyportUrl}/auth?code_challenge=${challenge}&code_challenge_method=S256&key_label=My%20terminal`,
    );
    await signUp(page, newAccount());
    await page.getByText("A device or terminal wants an API key").waitFor({ state: "visible" });
    await page.getByRole("button", { name: "Authorize" }).click();

    const code = (await page.getByTestId("code").textContent())?.trim() ?? "";
    // A short user code, as `gh` shows, typed back loosely.
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    const typed = code.toLowerCase().replace("-", " ");
    const { key } = await exchangeCode({
      baseUrl: stack.keyportUrl,
      code: typed,
      codeVerifier: verifier,
    });
    expect((await getKeyInfo({ baseUrl: stack.keyportUrl, key })).label).toBe("My terminal");
  });

  it("never redirects to an unacceptable callback_url", async () => {
    const response = await page.goto(
      `${stack.keyportUrl}/auth?callback_url=${encodeURIComponent("javascript:alert(1)")}`,
    );
    expect(response?.status()).toBe(400);
    expect(page.url()).toContain(`${stack.keyportUrl}/auth`);
    await expect
      .poll(() => page.getByRole("alert").textContent(), { timeout: 10_000 })
      .toMatch(/javascript/);
  });
});
