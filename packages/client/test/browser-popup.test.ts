import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  AccessDeniedError,
  completePopupCallback,
  PopupBlockedError,
  PopupClosedError,
  StateMismatchError,
  signInWithPopup,
  TimeoutError,
} from "../src/browser/index.js";
import { type AuthServer, startAuthServer } from "./helpers/auth-server.js";
import { type FakePopup, fakeOpener } from "./helpers/fake-browser.js";

let server: AuthServer;

beforeEach(async () => {
  server = await startAuthServer();
});

afterEach(() => server.close());

async function consentUrl(popup: FakePopup): Promise<string> {
  for (let i = 0; i < 100 && popup.location.href === "about:blank"; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return popup.location.href;
}

describe("signInWithPopup", () => {
  it("opens the popup synchronously, then finishes through completePopupCallback", async () => {
    const opener = fakeOpener("https://app.example/editor?doc=1");
    const result = signInWithPopup({
      window: opener.host,
      baseUrl: server.baseUrl,
      callbackUrl: "/popup-callback",
    });
    // Opened before any await, so the click's user activation still counts.
    expect(opener.popups).toHaveLength(1);
    const popup = opener.popups[0] as FakePopup;
    const url = await consentUrl(popup);
    expect(new URL(url).searchParams.get("callback_url")).toBe(
      "https://app.example/popup-callback",
    );
    const callbackPage = opener.popupWindow(popup, server.approve(url));
    expect(completePopupCallback({ window: callbackPage })).toBe(true);
    expect(await result).toEqual({ key: server.minted[0], userId: "user_1" });
    expect(popup.closed).toBe(true);
    expect(opener.listeners.size).toBe(0);
  });

  it("ignores messages from other origins, other windows, or of other shapes", async () => {
    const opener = fakeOpener("https://app.example/");
    const result = signInWithPopup({
      window: opener.host,
      baseUrl: server.baseUrl,
      timeoutMs: 300,
    });
    const popup = opener.popups[0] as FakePopup;
    const callback = new URL(server.approve(await consentUrl(popup)));
    const data = {
      type: "keyport:callback",
      code: callback.searchParams.get("code"),
      state: callback.searchParams.get("state"),
      error: null,
    };
    opener.deliver(data, "*", "https://evil.example", popup);
    opener.deliver(data, "*", "https://app.example", {});
    opener.deliver({ ...data, type: "other" }, "*", "https://app.example", popup);
    await expect(result).rejects.toThrow(TimeoutError);
    expect(server.requests).toHaveLength(0);
    expect(popup.closed).toBe(true);
  });

  it("the callback page posts only to an opener on its own origin", async () => {
    const opener = fakeOpener("https://evil.example/");
    const result = signInWithPopup({
      window: opener.host,
      baseUrl: server.baseUrl,
      timeoutMs: 300,
    });
    const popup = opener.popups[0] as FakePopup;
    const callbackUrl = server
      .approve(await consentUrl(popup))
      .replace("https://evil.example", "https://app.example");
    completePopupCallback({ window: opener.popupWindow(popup, callbackUrl) });
    await expect(result).rejects.toThrow(TimeoutError);
    expect(server.requests).toHaveLength(0);
  });

  it("a blocked popup → PopupBlockedError", async () => {
    const opener = fakeOpener("https://app.example/", { blockPopups: true });
    await expect(signInWithPopup({ window: opener.host })).rejects.toThrow(PopupBlockedError);
  });

  it("a callback that closed its popup before its message arrived still signs in", async () => {
    const opener = fakeOpener("https://app.example/");
    const result = signInWithPopup({ window: opener.host, baseUrl: server.baseUrl });
    const popup = opener.popups[0] as FakePopup;
    const callbackPage = opener.popupWindow(popup, server.approve(await consentUrl(popup)));
    // Closed first, its message queued behind the opener's check of the popup (a loaded browser).
    popup.closed = true;
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(completePopupCallback({ window: callbackPage })).toBe(true);
    expect(await result).toEqual({ key: server.minted[0], userId: "user_1" });
  });

  it("the user closing the popup → PopupClosedError", async () => {
    const opener = fakeOpener("https://app.example/");
    const result = signInWithPopup({ window: opener.host, baseUrl: server.baseUrl });
    (opener.popups[0] as FakePopup).closed = true;
    await expect(result).rejects.toThrow(PopupClosedError);
    expect(opener.listeners.size).toBe(0);
  });

  it("a state that differs → StateMismatchError, no exchange", async () => {
    const opener = fakeOpener("https://app.example/");
    const result = signInWithPopup({ window: opener.host, baseUrl: server.baseUrl });
    const popup = opener.popups[0] as FakePopup;
    const url = server.approve(await consentUrl(popup), { state: "forged" });
    completePopupCallback({ window: opener.popupWindow(popup, url) });
    await expect(result).rejects.toThrow(StateMismatchError);
    expect(server.requests).toHaveLength(0);
  });

  it("access_denied → AccessDeniedError", async () => {
    const opener = fakeOpener("https://app.example/");
    const result = signInWithPopup({ window: opener.host, baseUrl: server.baseUrl });
    const popup = opener.popups[0] as FakePopup;
    await consentUrl(popup);
    completePopupCallback({
      window: opener.popupWindow(popup, "https://app.example/?error=access_denied"),
    });
    await expect(result).rejects.toThrow(AccessDeniedError);
  });

  it("abort closes the popup and rejects with the reason", async () => {
    const opener = fakeOpener("https://app.example/");
    const controller = new AbortController();
    const result = signInWithPopup({ window: opener.host, signal: controller.signal });
    controller.abort(new Error("navigated away"));
    await expect(result).rejects.toThrow("navigated away");
    expect((opener.popups[0] as FakePopup).closed).toBe(true);
  });
});

describe("completePopupCallback", () => {
  it("does nothing on a page that is not a callback, or without an opener", () => {
    const opener = fakeOpener("https://app.example/");
    const popup = new (class {
      closed = false;
      location = { href: "" };
      close() {
        this.closed = true;
      }
    })();
    expect(
      completePopupCallback({ window: opener.popupWindow(popup, "https://app.example/") }),
    ).toBe(false);
    const orphan = { ...opener.popupWindow(popup, "https://app.example/?code=c"), opener: null };
    expect(completePopupCallback({ window: orphan })).toBe(false);
    expect(popup.closed).toBe(false);
  });
});
