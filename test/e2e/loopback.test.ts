import { AccessDeniedError, getKeyInfo, signInWithLoopback } from "@keyport/client/node";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./support/chromium.js";
import { newAccount, signUp } from "./support/pages.js";
import { type Stack, startStack } from "./support/stack.js";

let browser: Browser;
let stack: Stack;

beforeAll(async () => {
  [browser, stack] = await Promise.all([launchChromium(), startStack()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

/**
 * Stands in for the system browser: `signInWithLoopback` hands it the consent URL, and a person
 * signs up and clicks `choice` in real Chromium. Resolves the page the loopback listener answered.
 */
function chromiumUser(choice: "Authorize" | "Deny") {
  let opened!: (url: string) => void;
  const url = new Promise<string>((resolve) => {
    opened = resolve;
  });
  const answered = url.then(async (consentUrl) => {
    const context = await browser.newContext();
    try {
      const page: Page = await context.newPage();
      await page.goto(consentUrl);
      await signUp(page, newAccount());
      await page.getByRole("button", { name: choice }).click();
      await page.waitForURL("http://127.0.0.1:*/callback/**");
      return { heading: await page.locator("h1").textContent(), callback: page.url() };
    } finally {
      await context.close();
    }
  });
  return {
    openBrowser: (consentUrl: string) => {
      opened(consentUrl);
      return true;
    },
    url,
    answered,
  };
}

/** True once nothing accepts connections at `url`'s origin any more. */
async function refuses(url: string): Promise<boolean> {
  try {
    await fetch(new URL(url).origin);
    return false;
  } catch {
    return true;
  }
}

describe("RFC 8252 §7.3 loopback sign-in against a real Keyport server, real Chromium as the user", () => {
  it("approve → a key that works on GET /api/v1/key; the browser sees Connected; listener closed", async () => {
    const user = chromiumUser("Authorize");
    const [result, page] = await Promise.all([
      signInWithLoopback({
        baseUrl: stack.keyportUrl,
        keyLabel: "Loopback e2e",
        limit: 3,
        openBrowser: user.openBrowser,
        onUrl: () => {},
      }),
      user.answered,
    ]);
    expect(result.key).toMatch(/^sk-kp-v1-[0-9a-f]{64}$/);
    expect(result.userId).toEqual(expect.any(String));
    const info = await getKeyInfo({ baseUrl: stack.keyportUrl, key: result.key });
    expect(info).toMatchObject({ label: "Loopback e2e", limit: 3, usage: 0 });

    expect(page.heading).toBe("Connected");
    const callback = new URL(page.callback);
    expect(callback.hostname).toBe("127.0.0.1");
    expect(callback.pathname).toMatch(/^\/callback\/[A-Za-z0-9_-]{43}$/);
    expect(callback.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await refuses(page.callback)).toBe(true);
  });

  it("deny → AccessDeniedError; the browser sees Sign-in cancelled; listener closed", async () => {
    const user = chromiumUser("Deny");
    const signIn = signInWithLoopback({
      baseUrl: stack.keyportUrl,
      openBrowser: user.openBrowser,
      onUrl: () => {},
    });
    const [outcome, page] = await Promise.all([signIn.catch((error) => error), user.answered]);
    expect(outcome).toBeInstanceOf(AccessDeniedError);
    expect(page.heading).toBe("Sign-in cancelled");
    expect(new URL(page.callback).searchParams.get("error")).toBe("access_denied");
    expect(await refuses(page.callback)).toBe(true);
  });
});
