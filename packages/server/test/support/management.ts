import type { RunningServer } from "../../src/index.js";
import { issueKey } from "../../src/services/issue-key.js";
import { Browser } from "./browser.js";

/** A signed-up account and a management key for it, made the way `keyport keys` makes one. */
export interface ManagedAccount {
  readonly browser: Browser;
  readonly email: string;
  readonly userId: string;
  readonly managementKey: string;
  readonly managementHash: string;
}

/** Signs up a fresh account in a browser and gives it a management key. */
export async function managedAccount(server: RunningServer, now: Date): Promise<ManagedAccount> {
  const browser = new Browser(server.url);
  const { email } = await browser.signUp();
  const user = await server.store.findUserByEmail(email);
  if (!user) throw new Error(`signed up ${email} but found no account`);
  const { key, stored } = await issueKey(server.store, now, {
    userId: user.id,
    label: "Management key",
    limitMicros: null,
    limitReset: null,
    expiresAt: null,
    isManagement: true,
  });
  return { browser, email, userId: user.id, managementKey: key, managementHash: stored.hash };
}

/** A JSON API call with a bearer key (no `Authorization` header when `key` is undefined). */
export function callApi(
  server: RunningServer,
  key: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(`${server.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A chat completion with the built-in `keyport/echo` model. */
export function echoChat(server: RunningServer, key: string): Promise<Response> {
  return callApi(server, key, "POST", "/api/v1/chat/completions", {
    model: "keyport/echo",
    messages: [{ role: "user", content: "hello there" }],
  });
}
