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

    describe("Keycloak redirect_uri bypasses (CVE-2023-6134, CVE-2023-6291, CVE-2024-1132 style)", () => {
      const prefix = ["https://app.example/callback"];

      it.each([
        ["https://app.example/callback/..;/evil", "Tomcat path parameter on a dot segment"],
        ["https://app.example/callback;jsessionid=x", "path parameter"],
        ["https://app.example/callback/;/evil", "empty path parameter"],
        ["https://app.example/callback/../evil", "dot segment"],
        ["https://app.example/callback/..", "trailing dot segment"],
        ["https://app.example/callback/./x", "single-dot segment"],
        ["https://app.example/callback/%2e%2e/evil", "encoded dots"],
        ["https://app.example/callback/%2E%2E/evil", "encoded dots, upper case"],
        ["https://app.example/callback/%2E%2e/evil", "encoded dots, mixed case"],
        ["https://app.example/callback/.%2e/evil", "half-encoded dots"],
        ["https://app.example/callback/%2e", "one encoded dot"],
        ["https://app.example/callback%2f..%2fevil", "encoded slashes"],
        ["https://app.example/callback%2F..%2Fevil", "encoded slashes, upper case"],
        ["https://app.example/callback/..%5cevil", "encoded backslash"],
        ["https://app.example/callback/..%5Cevil", "encoded backslash, upper case"],
        ["https://app.example/callback/%252e%252e/evil", "double-encoded dots"],
        ["https://app.example/callback/%252f", "double-encoded slash"],
        ["https://app.example/callback/%25%32%65", "double-encoded dot, by parts"],
        ["https://app.example/callback\\..\\evil", "backslashes"],
        ["https://app.example\\@evil.example/callback", "backslash before userinfo"],
        ["https://app.example@evil.example/callback", "userinfo"],
        ["https://app.example:443@evil.example/callback", "userinfo with a port"],
        ["https://app.example%40evil.example/callback", "encoded @ in the host"],
        ["https://app%2eexample/callback", "encoded dot in the host"],
        ["https://app.example.evil.example/callback", "suffix host"],
        ["https://evil.example/app.example/callback", "host as a path"],
        ["https://app.example/call\tback", "tab"],
        ["https://app.example/callback\n/../evil", "newline"],
        ["https://app.ex\nample/callback", "newline in the host"],
        ["https://\u0430pp.example/callback", "IDN look-alike (Cyrillic a)"],
        ["https://xn--pp-8cd.example/callback", "punycode look-alike"],
        ["https://app.example./callback", "trailing dot host"],
        ["https://app.example:8443/callback", "another port"],
        ["http://app.example/callback", "another scheme"],
        ["https://app.example/callbackevil", "no segment boundary"],
        ["https://app.example/Callback", "path case"],
      ])("refuses %j (%s)", (raw) => {
        expect(checkCallbackUrl(raw, prefix)).toHaveProperty("rejected");
      });

      it.each([
        ["https://app.example/callback", "https://app.example/callback"],
        ["https://app.example/callback/", "https://app.example/callback/"],
        ["https://app.example/callback/done", "https://app.example/callback/done"],
        [
          "https://app.example/callback/v2/step-1?x=1",
          "https://app.example/callback/v2/step-1?x=1",
        ],
        // The query is the app's own: encoded slashes and dots there are data, not path.
        [
          "https://app.example/callback?next=%2F..%2Fhome;x",
          "https://app.example/callback?next=%2F..%2Fhome;x",
        ],
        ["https://app.example/callback/caf%C3%A9", "https://app.example/callback/caf%C3%A9"],
        ["https://APP.Example/callback", "https://app.example/callback"],
        ["https://app.example:443/callback", "https://app.example/callback"],
      ])("accepts %j, redirecting to %j", (raw, href) => {
        const checked = checkCallbackUrl(raw, prefix);
        expect(checked).toMatchObject({ kind: "web" });
        expect((checked as { url: URL }).url.href).toBe(href);
      });

      it("a loopback prefix keeps its any-port rule, and its path rules", () => {
        const loopback = ["http://127.0.0.1/callback"];
        expect(checkCallbackUrl("http://127.0.0.1:4000/callback/x", loopback)).toMatchObject({
          kind: "loopback",
        });
        expect(checkCallbackUrl("http://127.0.0.1:4000/callback/..;/x", loopback)).toHaveProperty(
          "rejected",
        );
      });

      it("a custom-scheme prefix gets the same path rules", () => {
        const app = ["com.example.app:/oauth"];
        expect(checkCallbackUrl("com.example.app:/oauth/done", app)).toMatchObject({
          kind: "custom-scheme",
        });
        expect(checkCallbackUrl("com.example.app:/oauth/%2e%2e/x", app)).toHaveProperty("rejected");
      });
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
