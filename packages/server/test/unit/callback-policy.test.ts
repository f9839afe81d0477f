import { describe, expect, it } from "vitest";
import { checkCallbackUrl, withQuery } from "../../src/domain/callback-policy.js";

describe("DESIGN invariant 4: callback_url policy (RFC 8252 §7, RFC 9700 §4.1)", () => {
  it.each([
    ["https://app.example/cb", "web", "https://app.example"],
    ["https://app.example:8443/cb?x=1", "web", "https://app.example:8443"],
    ["http://localhost/cb", "loopback", "http://localhost"],
    ["http://localhost:3000/cb", "loopback", "http://localhost:3000"],
    ["http://127.0.0.1:49152/callback", "loopback", "http://127.0.0.1:49152"],
    ["http://[::1]:8080/cb", "loopback", "http://[::1]:8080"],
    ["com.example.app:/cb", "custom-scheme", "com.example.app"],
    ["myapp://cb", "custom-scheme", "myapp"],
  ])("accepts %s as %s", (raw, kind, displayName) => {
    const checked = checkCallbackUrl(raw);
    expect(checked).toMatchObject({ kind, displayName });
  });

  it.each([
    ["javascript:alert(1)", "javascript"],
    ["JavaScript:alert(1)", "javascript"],
    ["data:text/html,x", "data"],
    ["file:///etc/passwd", "file"],
    ["https://user@host/cb", "userinfo"],
    ["https://user:pw@host/cb", "userinfo"],
    ["https://app.example/cb#frag", "fragment"],
    ["https://app.example/cb#", "empty fragment"],
    ["/cb", "relative"],
    ["cb", "relative"],
    ["//app.example/cb", "scheme-relative"],
    ["http://example.com/cb", "plain http off loopback"],
    ["http://localhost.evil.com/cb", "loopback look-alike"],
    ["http://127.0.0.1.nip.io/cb", "loopback look-alike"],
    ["http://0.0.0.0:3000/cb", "unspecified address"],
    ["https://app.example\\@evil.com/cb", "backslash"],
    [" https://app.example/cb", "whitespace"],
    ["", "empty"],
  ])("rejects %j (%s)", (raw) => {
    expect(checkCallbackUrl(raw)).toHaveProperty("rejected");
  });

  describe("schemes browsers or systems treat specially are never an app's callback", () => {
    it.each([
      "javascript:alert(1)",
      "JavaScript:alert(1)",
      "JAVASCRIPT://%0aalert(1)",
      "vbscript:msgbox(1)",
      "data:text/html,x",
      "file:///etc/passwd",
      "blob:https://app.example/0b2c",
      "about:blank",
      "view-source:https://app.example/",
      "ws://localhost/cb",
      "wss://app.example/cb",
      "ftp://app.example/cb",
      "filesystem:https://app.example/temporary/x",
      "intent://cb#Intent;scheme=https;end",
      "intent://cb",
      "chrome://settings",
      "Chrome-Extension://abcdefghijklmnop/cb.html",
      "chrome-untrusted://terminal/",
      "edge://settings",
      "microsoft-edge:https://evil.example",
      "microsoft-edge-holographic:https://evil.example",
      "x-safari-https://evil.example",
      "X-Safari-HTTP://evil.example",
      "jar:https://app.example/a.jar!/x",
      "res://ieframe.dll/",
      "resource://gre/",
      "moz-extension://abc/cb",
      "ms-msdt:/id%20PCWDiagnostic",
      "ms-settings:privacy",
      "search-ms:query=x",
      "opera://settings",
      "brave://settings",
      "android-app://com.example/https/cb",
      "mailto:a@example.com",
      "web+app://cb",
    ])("refuses %s", (raw) => {
      const checked = checkCallbackUrl(raw);
      expect(checked).toHaveProperty("rejected");
      expect((checked as { rejected: string }).rejected).toMatch(/may not use the .+: scheme/);
    });

    it.each([
      "com.example.app:/cb",
      "myapp://cb",
      "MyApp://cb",
      "com.googleusercontent.apps.123:/oauth2redirect",
      "https://app.example/cb",
      "http://127.0.0.1:5000/cb",
    ])("keeps %s", (raw) => {
      expect(checkCallbackUrl(raw)).not.toHaveProperty("rejected");
    });
  });

  it("rejects an over-long URL", () => {
    expect(checkCallbackUrl(`https://app.example/${"a".repeat(2100)}`)).toHaveProperty("rejected");
  });

  describe("operator narrowing (allowedCallbacks)", () => {
    const allowed = ["https://app.example/", "http://localhost"];

    it("accepts what starts with an allowed prefix", () => {
      expect(checkCallbackUrl("https://app.example/cb", allowed)).toMatchObject({ kind: "web" });
      expect(checkCallbackUrl("http://localhost:4000/cb", allowed)).toMatchObject({
        kind: "loopback",
      });
    });

    it("refuses an otherwise acceptable callback outside the prefixes", () => {
      for (const raw of [
        "https://other.example/cb",
        "https://app.example.evil.com/cb",
        "http://127.0.0.1:4000/cb",
        "myapp://cb",
      ]) {
        expect(checkCallbackUrl(raw, allowed), raw).toHaveProperty("rejected");
      }
    });

    it("compares parsed URLs: host, port and path segments, not string prefixes", () => {
      expect(checkCallbackUrl("https://app.example/cb", ["https://app.example"])).toMatchObject({
        kind: "web",
      });
      for (const [raw, prefix] of [
        ["https://app.example.com.evil.net/cb", "https://app.example.com"],
        ["https://app.example/cbevil", "https://app.example/cb"],
        ["http://127.0.0.1:53682/cb", "http://127.0.0.1:5368"],
        ["https://app.example:8443/cb", "https://app.example"],
        ["http://app.example/cb", "https://app.example"],
      ] as const) {
        expect(checkCallbackUrl(raw, [prefix]), `${raw} under ${prefix}`).toHaveProperty(
          "rejected",
        );
      }
      expect(
        checkCallbackUrl("https://app.example/cb/done", ["https://app.example/cb"]),
      ).toMatchObject({ kind: "web" });
      expect(checkCallbackUrl("http://127.0.0.1:5368/cb", ["http://127.0.0.1:5368"])).toMatchObject(
        {
          kind: "loopback",
        },
      );
    });

    it("never widens the policy", () => {
      expect(checkCallbackUrl("http://example.com/cb", ["http://example.com/"])).toHaveProperty(
        "rejected",
      );
      expect(checkCallbackUrl("javascript:alert(1)", ["javascript:"])).toHaveProperty("rejected");
    });
  });
});

describe("RFC 6749 §4.1.2: the callback keeps its own query", () => {
  it("adds parameters after the existing ones", () => {
    const url = withQuery(new URL("https://app.example/cb?x=1"), { code: "abc", state: "s t" });
    const parsed = new URL(url);
    expect(parsed.searchParams.get("x")).toBe("1");
    expect(parsed.searchParams.get("code")).toBe("abc");
    expect(parsed.searchParams.get("state")).toBe("s t");
  });

  it("leaves out parameters without a value", () => {
    expect(withQuery(new URL("myapp://cb"), { code: "abc", state: undefined })).toBe(
      "myapp://cb?code=abc",
    );
  });
});
