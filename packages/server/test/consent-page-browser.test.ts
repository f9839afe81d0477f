import type { Browser as Chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../test/e2e/support/chromium.js";
import { appName } from "../src/domain/app-name.js";
import { authPath, Browser } from "./support/browser.js";
import { openPage, signedInPage } from "./support/chromium-page.js";
import { dialects } from "./support/databases.js";
import { expectFitsEverywhere } from "./support/page-fit.js";
import { newVerifier, s256, useServer } from "./support/server.js";

const [sqlite] = dialects;
const CALLBACK = "https://app.example/oauth/callback?from=keyport&x=1";

describe("app_name (a Keyport extension)", () => {
  it("is cleaned of controls and bidi overrides, spaces collapsed, cut to 60 with an ellipsis", () => {
    expect(appName("  My\u202eApp\n\t Pro\u200b ")).toBe("MyApp Pro");
    expect(appName("\u0000\u202e ")).toBeUndefined();
    const long = appName("a".repeat(200)) ?? "";
    expect([...long]).toHaveLength(60);
    expect(long.endsWith("…")).toBe(true);
  });
});

describe("consent page in Chromium", { timeout: 120_000 }, () => {
  const running = useServer(sqlite as (typeof dialects)[number]);
  let chromium: Chromium;
  beforeAll(async () => {
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
  });

  const params = (extra: Record<string, string> = {}) => ({
    callback_url: CALLBACK,
    code_challenge: s256(newVerifier()),
    code_challenge_method: "S256",
    ...extra,
  });

  it("shows the app's name beside its origin, the full callback, the limit's unit and reset, the expiry in words and local time", async () => {
    const expires = new Date(running.clock().getTime() + 30 * 86_400_000 + 3_600_000);
    const { page } = await signedInPage(chromium, running.server.url);
    await page.goto(
      `${running.server.url}${authPath(params({ limit: "5", usage_limit_type: "weekly", expires_at: expires.toISOString() }))}&app_name=${encodeURIComponent("Acme\u202e Writer")}`,
    );
    expect(await page.locator(".app").textContent()).toBe("Acme Writer (https://app.example)");
    expect(await page.getByTestId("callback").textContent()).toBe(CALLBACK);
    expect(await page.locator("#limit-hint").textContent()).toMatch(
      /^Credits; the limit resets every week/,
    );
    const expiry = await page.locator("dd", { has: page.locator("time") }).textContent();
    expect(expiry).toMatch(/^in 30 days, /);
    const time = page.locator("time[data-local]");
    expect(await time.getAttribute("datetime")).toBe(expires.toISOString());
    // The script replaced the UTC text with the reader's local time.
    expect(await time.textContent()).not.toMatch(/UTC/);
    expect(await time.textContent()).toMatch(/\d/);
    await expectFitsEverywhere(page);
  });

  it("without app_name, the origin alone", async () => {
    const { page } = await signedInPage(chromium, running.server.url);
    await page.goto(`${running.server.url}${authPath(params())}`);
    expect(await page.locator(".app").textContent()).toBe("https://app.example");
  });

  it("a 300-character label: a field error on the form, no overflow at 360 px, and Authorize approves nothing until it is shortened", async () => {
    const { page } = await signedInPage(chromium, running.server.url);
    const label = "verylonglabelwithoutspaces".repeat(12).slice(0, 300);
    await page.goto(`${running.server.url}${authPath(params({ key_label: label }))}`);
    expect(await page.locator("#key_label-error").textContent()).toMatch(
      /at most 100 characters; this one has 300/,
    );
    expect(await page.locator("#key_label").inputValue()).toBe(label);
    await expectFitsEverywhere(page);

    await page.locator("#approve").waitFor({ state: "visible" });
    await page.waitForFunction(
      () => !(document.getElementById("approve") as HTMLButtonElement).disabled,
    );
    await page.click("#approve");
    await page.waitForLoadState();
    expect(page.url()).toBe(`${running.server.url}/auth`);
    expect(await page.locator("[role=alert]").textContent()).toMatch(/Nothing was approved/);
    expect(await page.locator("#key_label-error").count()).toBe(1);

    await page.fill("#key_label", "short label");
    await page.waitForFunction(
      () => !(document.getElementById("approve") as HTMLButtonElement).disabled,
    );
    const [request] = await Promise.all([
      page.waitForRequest((r) => r.url().startsWith("https://app.example/")),
      page.click("#approve"),
    ]);
    expect(new URL(request.url()).searchParams.get("code")).toBeTruthy();
  });

  it("Not you? Switch account: signs out and comes back to the same request as the other account", async () => {
    const other = await new Browser(running.server.url).signUp();
    const { page, account } = await signedInPage(chromium, running.server.url);
    const path = `${authPath(params({ key_label: "switch test" }))}&app_name=Switcher`;
    await page.goto(`${running.server.url}${path}`);
    expect(await page.locator("main strong").first().textContent()).toBe(account.email);
    await page.click("button:text('Switch account')");
    await page.waitForURL(/\/signin\?next=/);
    await page.fill("#email", other.email);
    await page.fill("#password", other.password);
    await page.click("button[type=submit]:text('Sign in')");
    await page.waitForURL(/\/auth\?/);
    expect(await page.locator("main strong").first().textContent()).toBe(other.email);
    expect(await page.locator("#key_label").inputValue()).toBe("switch test");
    expect(await page.locator(".app").textContent()).toBe("Switcher (https://app.example)");
  });

  it("error pages say what happened and what to do; 'Nothing was shared' only for a refused authorization", async () => {
    const page = await openPage(chromium);
    const refused = await page.goto(
      `${running.server.url}/auth?callback_url=${encodeURIComponent("javascript:alert(1)")}&code_challenge=${s256(newVerifier())}&code_challenge_method=S256`,
    );
    expect(refused?.status()).toBe(400);
    expect(await page.locator("h1").textContent()).toBe("This request cannot be used");
    expect(await page.getByTestId("nothing-shared").count()).toBe(1);
    await expectFitsEverywhere(page);

    const missing = await page.goto(`${running.server.url}/no/such/page`);
    expect(missing?.status()).toBe(404);
    expect(await page.locator("h1").textContent()).toBe("Page not found");
    expect(await page.locator("main").textContent()).toMatch(/home page/);
    expect(await page.getByTestId("nothing-shared").count()).toBe(0);

    const closed = await page.goto(`${running.server.url}/admin/users/x`);
    expect(closed?.status()).toBe(200); // signed out: sent to sign in
    expect(page.url()).toMatch(/\/signin\?next=/);
  });

  it("429 says to wait, with the seconds from Retry-After", async () => {
    const limited = await running.another({ signInRateLimit: 1 });
    const page = await openPage(chromium);
    const browser = new Browser(limited.url);
    await browser.signIn("a@example.test", "wrong password here");
    // The page's own form, second attempt within the minute.
    await page.goto(`${limited.url}/signin`);
    await page.fill("#email", "a@example.test");
    await page.fill("#password", "wrong password here");
    await page.click("button[type=submit]");
    await page.waitForLoadState();
    expect(await page.locator("h1").textContent()).toBe("Too many attempts");
    expect(await page.locator("main").textContent()).toMatch(/Try again in \d+ seconds?\./);
    expect(await page.getByTestId("nothing-shared").count()).toBe(0);
    await expectFitsEverywhere(page);
  });
});
