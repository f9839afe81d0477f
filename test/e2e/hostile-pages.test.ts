import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { launchChromium } from "./support/chromium.js";
import { newAccount, signUp } from "./support/pages.js";
import { type Stack, startStack } from "./support/stack.js";

/**
 * An attacker's site on another loopback origin (`127.0.0.1`, another site than Keyport's
 * `localhost`), serving the pages below and recording what reaches its `/cb` callback.
 */
interface HostileSite {
  readonly origin: string;
  /** Every URL that reached `/cb`: a code there means a key was approved. */
  readonly callbacks: string[];
  /** Pages by path; each is sent as HTML. */
  readonly pages: Map<string, string>;
  close(): Promise<void>;
}

async function startHostileSite(): Promise<HostileSite> {
  const callbacks: string[] = [];
  const pages = new Map<string, string>();
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    if (url.pathname === "/cb") callbacks.push(url.href);
    const html = pages.get(url.pathname) ?? "<!doctype html><title>cb</title><h1>back</h1>";
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    callbacks,
    pages,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Longer than the default second, so that the attack's clicks land inside it even on a loaded
 * machine; the test checks they did.
 */
const CONSENT_DELAY_MS = 3000;

let browser: Browser;
let stack: Stack;
let hostile: HostileSite;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  [browser, stack, hostile] = await Promise.all([
    launchChromium(),
    startStack({ consentDelayMs: CONSENT_DELAY_MS }),
    startHostileSite(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await hostile?.close();
});
beforeEach(async () => {
  await context?.close();
  context = await browser.newContext();
  page = await context.newPage();
});

/** Signs a new account up in `page`, as a person would; returns its email. */
async function signedInVictim(): Promise<string> {
  const account = newAccount();
  await page.goto(`${stack.keyportUrl}/signin`);
  await signUp(page, account);
  await page.waitForURL(`${stack.keyportUrl}/`);
  return account.email;
}

function consentUrl(): string {
  const challenge = createHash("sha256").update(randomBytes(32).toString("base64url")).digest();
  const query = new URLSearchParams({
    callback_url: `${hostile.origin}/cb`,
    code_challenge: challenge.toString("base64url"),
    code_challenge_method: "S256",
  });
  return `${stack.keyportUrl}/auth?${query}`;
}

/** A page whose big button, on the first click of a double-click, opens `target` by `how`. */
function doubleClickBait(target: string, how: "navigate" | "popup"): string {
  const open = how === "navigate" ? "location.href = t" : "window.open(t)";
  return `<!doctype html><title>Win a prize</title>
<button id="bait" style="font-size:40px;width:100%;height:100vh">Double-click to claim</button>
<script>
  const t = ${JSON.stringify(target)};
  document.getElementById("bait").addEventListener("mousedown", () => { ${open}; }, { once: true });
</script>`;
}

/**
 * The user's second click, fast: a real mouse click on Authorize as soon as the consent page is
 * there. Returns the time from the consent page's `DOMContentLoaded` to the click, which must
 * stay under the delay for the test to mean anything.
 */
async function clickAuthorizeFast(consent: Page): Promise<number> {
  await consent.waitForLoadState("domcontentloaded");
  const shown = Date.now();
  // `force`: a person's click does not wait for the button to be enabled.
  await consent.locator("#approve").click({ force: true, timeout: 2000 });
  return Date.now() - shown;
}

describe("DESIGN invariant 5 in real Chromium: a hostile page turns a double-click into Authorize", {
  timeout: 60_000,
}, () => {
  it.each(["navigate", "popup"] as const)(
    "consent opened under the first click (%s): the second click approves nothing; waiting a second does",
    async (how) => {
      await signedInVictim();
      hostile.pages.set(`/bait-${how}`, doubleClickBait(consentUrl(), how));
      await page.goto(`${hostile.origin}/bait-${how}`);
      const before = hostile.callbacks.length;

      const popup = how === "popup" ? context.waitForEvent("page") : undefined;
      await page.mouse.click(200, 200);
      const consent = popup ? await popup : page;
      await consent.waitForURL(`${stack.keyportUrl}/auth?**`);
      const posts: string[] = [];
      consent.on("request", (request) => {
        if (request.method() === "POST") posts.push(request.url());
      });
      expect(await clickAuthorizeFast(consent)).toBeLessThan(CONSENT_DELAY_MS);
      await consent.waitForTimeout(200);

      expect(posts).toEqual([]);
      expect(hostile.callbacks.length).toBe(before);
      expect(consent.url()).toMatch(/\/auth\?/);

      // A person who reads the page for a second can approve.
      await consent.getByRole("button", { name: "Authorize" }).click({ timeout: 10_000 });
      await consent.waitForURL(`${hostile.origin}/cb?**`);
      expect(hostile.callbacks.length).toBe(before + 1);
      expect(new URL(hostile.callbacks.at(-1) as string).searchParams.get("code")).toMatch(
        /^[A-Za-z0-9_-]{43,}$/,
      );
    },
  );

  it("a consent page that is hidden does not count its time; shown again, it waits a second more", async () => {
    await signedInVictim();
    await page.goto(consentUrl());
    const approve = page.locator("#approve");
    const setVisibility = (state: "hidden" | "visible") =>
      page.evaluate((value) => {
        Object.defineProperty(document, "visibilityState", { value, configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));
      }, state);
    await setVisibility("hidden");
    await page.waitForTimeout(CONSENT_DELAY_MS + 500);
    expect(await approve.isDisabled()).toBe(true);
    await setVisibility("visible");
    await page.waitForTimeout(CONSENT_DELAY_MS / 2);
    expect(await approve.isDisabled()).toBe(true);
    await expect.poll(() => approve.isDisabled(), { timeout: 5000 }).toBe(false);
  });
});

describe("DESIGN invariant 5 in real Chromium: cross-site forms cannot touch the session", {
  timeout: 60_000,
}, () => {
  it.each([
    ["sign-in", "/signin"],
    ["sign-out", "/signout"],
  ])(
    "a page on another site auto-submitting %s: the victim stays signed in as themself",
    async (_, action) => {
      const victim = await signedInVictim();
      const attacker = newAccount();
      hostile.pages.set(
        `/auto${action}`,
        `<!doctype html><title>Loading</title>
<form method="post" action="${stack.keyportUrl}${action}">
  <input name="email" value="${attacker.email}"><input name="password" value="${attacker.password}">
  <input name="csrf_token" value="guess">
</form>
<script>document.forms[0].submit()</script>`,
      );
      const answer = page.waitForResponse(`${stack.keyportUrl}${action}`);
      await page.goto(`${hostile.origin}/auto${action}`);
      const response = await answer;
      expect(response.status()).toBe(403);
      expect(await response.headerValue("set-cookie")).toBeNull();

      await page.goto(`${stack.keyportUrl}/`);
      expect(await page.textContent("body")).toContain(`Signed in as ${victim}`);
    },
  );
});
