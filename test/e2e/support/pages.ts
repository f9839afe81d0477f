import { randomBytes } from "node:crypto";
import type { Page } from "playwright-core";

/** A new unique account's credentials. */
export function newAccount() {
  return {
    email: `e2e-${randomBytes(6).toString("hex")}@example.com`,
    password: "correct horse battery",
  };
}

/**
 * On Keyport's sign-in page: follows the sign-up link and creates the account, then signs in
 * with it on the page sign-up leads to (sign-up never signs in: it would tell a taken email from
 * a new one), as a person would.
 */
export async function signUp(page: Page, account: { email: string; password: string }) {
  await page.getByRole("link", { name: "Sign up" }).click();
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByText("Sign in with that email and password to continue").waitFor();
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Sign in" }).click();
}
