import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser as Chromium, Page } from "playwright-core";
import { onTestFinished } from "vitest";
import { Browser } from "./browser.js";

/**
 * Where failure screenshots go: `KEYPORT_ARTIFACTS` (CI uploads it) or a folder under the
 * system's temp directory.
 */
const ARTIFACTS_DIR = process.env.KEYPORT_ARTIFACTS ?? join(tmpdir(), "keyport-artifacts");

/**
 * A page in a fresh Chromium context, closed when the current test ends; if the test failed,
 * a full-page screenshot is saved first and its path printed. Call it inside a test.
 */
export async function openPage(chromium: Chromium, viewport = { width: 1280, height: 900 }) {
  const context = await chromium.newContext({ viewport });
  const page = await context.newPage();
  onTestFinished(async ({ task }) => {
    try {
      if (task.result?.state === "fail") await saveScreenshot(page, task.name);
    } finally {
      await context.close();
    }
  });
  return page;
}

/** Saves a full-page PNG of `page` under {@link ARTIFACTS_DIR}; returns and prints its path. */
async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = `${name.replace(/[^a-z0-9]+/gi, "-").slice(0, 80)}-${Date.now()}.png`;
  const path = join(ARTIFACTS_DIR, file);
  await page.screenshot({ path, fullPage: true });
  console.error(`screenshot of the failed page: ${path}`);
  return path;
}

/** An account the tests signed up, with its password. */
export interface Account {
  readonly email: string;
  readonly password: string;
}

/**
 * A Chromium page already signed in to the server at `baseUrl`: the account (a new one unless
 * given) signs in through the server's real forms, and the session cookie is handed to the
 * browser, which skips typing the form on every test. Closed (screenshot on failure) as
 * {@link openPage}.
 */
export async function signedInPage(
  chromium: Chromium,
  baseUrl: string,
  account?: Account,
): Promise<{ page: Page; account: Account; http: Browser }> {
  const http = new Browser(baseUrl);
  let signedIn: Account;
  if (account) {
    const answer = await http.signIn(account.email, account.password);
    if (answer.status !== 303) throw new Error(`sign-in answered ${answer.status}`);
    signedIn = account;
  } else {
    signedIn = await http.signUp();
  }
  const page = await openPage(chromium);
  await page.context().addCookies(
    [...http.cookies].map(([name, value]) => ({
      name,
      value,
      url: baseUrl,
      secure: true,
      httpOnly: true,
      sameSite: "Lax" as const,
    })),
  );
  return { page, account: signedIn, http };
}
