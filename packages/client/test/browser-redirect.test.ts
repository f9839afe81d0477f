import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  AccessDeniedError,
  type BrowserEnvironment,
  completeSignIn,
  createCodeChallenge,
  type FetchLike,
  InvalidCodeError,
  KeyportError,
  StateMismatchError,
  startSignIn,
} from "../src/browser/index.js";
import { type AuthServer, startAuthServer } from "./helpers/auth-server.js";
import { fakeTab } from "./helpers/fake-browser.js";
import { errorBody } from "./helpers/http-server.js";

let server: AuthServer;

beforeEach(async () => {
  server = await startAuthServer();
});

afterEach(() => server.close());

async function signInAndReturn(
  env: ReturnType<typeof fakeTab>,
  extra?: Record<string, string>,
  callbackUrl?: string,
) {
  await startSignIn({ ...env, baseUrl: server.baseUrl, keyLabel: "Test app", callbackUrl });
  const url = env.location.assigned.at(-1) ?? "";
  env.location.url = new URL(server.approve(url, extra));
  return url;
}

describe("startSignIn", () => {
  it("stores verifier, method, state, baseUrl and callbackUrl under one key and navigates", async () => {
    const tab = fakeTab("https://app.example/settings?tab=keys#top");
    await startSignIn({ ...tab, baseUrl: `${server.baseUrl}/`, keyLabel: "Test app", limit: 3 });
    expect([...tab.storage.items.keys()]).toEqual(["keyport:sign-in"]);
    const stored = JSON.parse(tab.storage.getItem("keyport:sign-in") ?? "");
    const url = new URL(tab.location.assigned[0] ?? "");
    expect(url.origin + url.pathname).toBe(`${server.baseUrl}/auth`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      callback_url: "https://app.example/settings",
      code_challenge: await createCodeChallenge(stored.v, "S256"),
      code_challenge_method: "S256",
      key_label: "Test app",
      limit: "3",
      state: stored.s,
    });
    expect(stored).toMatchObject({
      m: "S256",
      b: server.baseUrl,
      c: "https://app.example/settings",
    });
    expect(stored.s).toMatch(/^[\w-]{43}$/);
  });

  it("resolves a relative callbackUrl against the page", async () => {
    const tab = fakeTab("https://app.example/a/b");
    await startSignIn({ ...tab, callbackUrl: "/callback?x=1" });
    const url = new URL(tab.location.assigned[0] ?? "");
    expect(url.searchParams.get("callback_url")).toBe("https://app.example/callback?x=1");
    expect(url.origin).toBe("https://openrouter.ai");
  });
});

describe("completeSignIn", () => {
  it("returns null on a page that is not a callback, touching nothing", async () => {
    const tab = fakeTab("https://app.example/?tab=1");
    expect(await completeSignIn(tab)).toBeNull();
    expect(tab.history.entries).toEqual([]);
  });

  it("exchanges the code, cleans the address bar keeping other params and the hash", async () => {
    const tab = fakeTab("https://app.example/app");
    await signInAndReturn(tab, {}, "/app?lang=fr");
    expect(tab.location.search).toMatch(/^\?lang=fr&code=.+&state=.+$/);
    tab.location.url.hash = "#section";
    tab.history.state = { router: 1 };
    const result = await completeSignIn(tab);
    expect(result).toEqual({ key: expect.stringMatching(/^sk-kp-v1-/), userId: "user_1" });
    expect(tab.location.href).toBe("https://app.example/app?lang=fr#section");
    expect(tab.history.state).toEqual({ router: 1 });
    expect(tab.storage.getItem("keyport:sign-in")).toBeNull();
    expect(server.requests).toHaveLength(1);
  });

  it("React StrictMode: two calls in a row exchange once and share the result", async () => {
    const tab = fakeTab("https://app.example/");
    await signInAndReturn(tab);
    const first = completeSignIn(tab);
    const second = completeSignIn(tab);
    const [a, b] = await Promise.all([first, second]);
    expect(a).not.toBeNull();
    expect(b).toEqual(a);
    expect(server.requests).toHaveLength(1);
    expect(await completeSignIn(tab)).toBeNull();
    expect(server.requests).toHaveLength(1);
  });

  it("shares the result even when the address bar could not be cleaned", async () => {
    const tab = fakeTab("https://app.example/");
    await signInAndReturn(tab);
    const stuck = { ...tab, history: { state: null, replaceState() {} } };
    const [a, b] = await Promise.all([completeSignIn(stuck), completeSignIn(stuck)]);
    expect(b).toBe(a);
    expect(server.requests).toHaveLength(1);
    // Settled, verifier forgotten: the code left in the address bar is never sent again.
    await expect(completeSignIn(stuck)).rejects.toThrow(StateMismatchError);
    expect(server.requests).toHaveLength(1);
  });

  it("never resubmits a code another copy of the module already sent", async () => {
    const tab = fakeTab("https://app.example/");
    await signInAndReturn(tab);
    const pending = JSON.parse(tab.storage.getItem("keyport:sign-in") ?? "");
    tab.storage.setItem("keyport:sign-in", JSON.stringify({ ...pending, x: tab.location.search }));
    await expect(completeSignIn(tab)).rejects.toThrow(InvalidCodeError);
    expect(server.requests).toHaveLength(0);
  });

  it("rejects a callback whose state differs, without exchanging", async () => {
    const tab = fakeTab("https://app.example/");
    await signInAndReturn(tab, { state: "forged" });
    await expect(completeSignIn(tab)).rejects.toThrow(StateMismatchError);
    expect(server.requests).toHaveLength(0);
    expect(tab.location.search).toBe("");
  });

  it("rejects a callback when no sign-in was started in this tab", async () => {
    const tab = fakeTab("https://app.example/?code=injected&state=whatever");
    await expect(completeSignIn(tab)).rejects.toThrow(StateMismatchError);
    expect(server.requests).toHaveLength(0);
  });

  it("accepts a callback without state (OpenRouter may not echo it): PKCE still binds it", async () => {
    const tab = fakeTab("https://app.example/");
    await signInAndReturn(tab);
    tab.location.url.searchParams.delete("state");
    expect(await completeSignIn(tab)).toMatchObject({ userId: "user_1" });
  });

  it("error=access_denied → AccessDeniedError, verifier forgotten", async () => {
    const tab = fakeTab("https://app.example/");
    await startSignIn({ ...tab, baseUrl: server.baseUrl });
    const state = JSON.parse(tab.storage.getItem("keyport:sign-in") ?? "").s;
    tab.location.url = new URL(`https://app.example/?error=access_denied&state=${state}`);
    const first = completeSignIn(tab);
    const second = completeSignIn(tab);
    await expect(first).rejects.toThrow(AccessDeniedError);
    await expect(second).rejects.toThrow(AccessDeniedError);
    expect(tab.location.href).toBe("https://app.example/");
    expect(tab.storage.getItem("keyport:sign-in")).toBeNull();
  });

  it("another error value → KeyportError carrying it", async () => {
    const tab = fakeTab("https://app.example/");
    await startSignIn({ ...tab, baseUrl: server.baseUrl });
    tab.location.url = new URL("https://app.example/?error=server_error");
    const error = await completeSignIn(tab).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyportError);
    expect(error).not.toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toContain("server_error");
  });

  it("ignores a `code` parameter on a page other than the callback page", async () => {
    const tab = fakeTab("https://app.example/");
    await startSignIn({ ...tab, baseUrl: server.baseUrl, callbackUrl: "/callback" });
    tab.location.url = new URL("https://app.example/shop?code=PROMO10");
    expect(await completeSignIn(tab)).toBeNull();
    expect(tab.location.search).toBe("?code=PROMO10");
  });

  it("a second tab's storage holds no verifier: its forged callback is refused", async () => {
    const victim = fakeTab("https://app.example/");
    await signInAndReturn(victim);
    const other = fakeTab(victim.location.href);
    await expect(completeSignIn(other)).rejects.toThrow(StateMismatchError);
    expect(server.requests).toHaveLength(0);
  });

  it("passes an injected fetch and surfaces exchange errors", async () => {
    const tab = fakeTab("https://app.example/");
    await signInAndReturn(tab);
    const fetch: FetchLike = async () =>
      new Response(JSON.stringify(errorBody(403, "Authorization code expired")), { status: 403 });
    const env: BrowserEnvironment = { ...tab, fetch };
    await expect(completeSignIn(env)).rejects.toMatchObject({
      name: "CodeExpiredError",
      status: 403,
    });
    expect(tab.storage.getItem("keyport:sign-in")).toBeNull();
  });
});
