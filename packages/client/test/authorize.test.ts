import { describe, expect, it } from "vitest";
import { authorizationUrl, nopkce } from "../src/index.js";

const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

function query(url: string) {
  return Object.fromEntries(new URL(url).searchParams);
}

function misuse(fn: () => unknown, argument: string) {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(TypeError);
  expect(error).toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
  expect((error as Error).message.startsWith(`"${argument}" `)).toBe(true);
}

describe("authorizationUrl", () => {
  it("targets OpenRouter's /auth with every parameter, in wire names", () => {
    const url = authorizationUrl({
      callbackUrl: "https://app.example/cb?tab=1",
      codeChallenge: challenge,
      codeChallengeMethod: "S256",
      keyLabel: "My app & co",
      limit: 2.5,
      usageLimitType: "monthly",
      expiresAt: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)),
      state: "xyz",
    });
    expect(url.startsWith("https://openrouter.ai/auth?callback_url=")).toBe(true);
    expect(query(url)).toEqual({
      callback_url: "https://app.example/cb?tab=1",
      code_challenge: challenge,
      code_challenge_method: "S256",
      key_label: "My app & co",
      limit: "2.5",
      usage_limit_type: "monthly",
      expires_at: "2030-01-02T03:04:05.000Z",
      state: "xyz",
    });
    expect(Object.keys(query(url))).toEqual([
      "callback_url",
      "code_challenge",
      "code_challenge_method",
      "key_label",
      "limit",
      "usage_limit_type",
      "expires_at",
      "state",
    ]);
  });

  it("omits absent parameters and honours baseUrl without doubling slashes", () => {
    const url = authorizationUrl({
      baseUrl: "http://127.0.0.1:8787/",
      callbackUrl: "http://localhost:3000/",
      codeChallenge: challenge,
      codeChallengeMethod: "plain",
    });
    expect(url).toBe(
      `http://127.0.0.1:8787/auth?callback_url=${encodeURIComponent("http://localhost:3000/")}&code_challenge=${challenge}&code_challenge_method=plain`,
    );
  });

  it("converts an expires_at string with an offset to ISO 8601 UTC", () => {
    const url = authorizationUrl({
      callbackUrl: "https://app.example/cb",
      codeChallenge: challenge,
      codeChallengeMethod: "S256",
      expiresAt: "2030-06-01T12:00:00+02:00",
    });
    expect(query(url).expires_at).toBe("2030-06-01T10:00:00.000Z");
  });

  it("headless mode (no callback_url) requires S256", () => {
    const headless = authorizationUrl({ codeChallenge: challenge, codeChallengeMethod: "S256" });
    expect(query(headless)).toEqual({ code_challenge: challenge, code_challenge_method: "S256" });
    misuse(
      () => authorizationUrl({ codeChallenge: challenge, codeChallengeMethod: "plain" }),
      "codeChallengeMethod",
    );
    misuse(() => authorizationUrl({ codeChallenge: nopkce }), "codeChallengeMethod");
  });

  it("requires PKCE unless nopkce says otherwise at the call site", () => {
    misuse(() => authorizationUrl({ callbackUrl: "https://a.example" } as never), "codeChallenge");
    const url = authorizationUrl({ callbackUrl: "https://a.example", codeChallenge: nopkce });
    expect(query(url)).toEqual({ callback_url: "https://a.example" });
  });

  it("rejects misuse with a TypeError naming the argument", () => {
    const ok = { callbackUrl: "https://a.example", codeChallenge: challenge } as const;
    const m = "S256" as const;
    misuse(
      () => authorizationUrl({ ...ok, codeChallengeMethod: "S512" as "S256" }),
      "codeChallengeMethod",
    );
    misuse(
      () => authorizationUrl({ ...ok, codeChallengeMethod: m, codeChallenge: "short" }),
      "codeChallenge",
    );
    misuse(
      () => authorizationUrl({ ...ok, codeChallengeMethod: m, baseUrl: "openrouter.ai" }),
      "baseUrl",
    );
    // The verifier and the key must not cross a network in clear: http only on loopback.
    for (const baseUrl of [
      "http://keyport.example",
      "http://localhost.evil.example",
      "http://10.0.0.5",
    ]) {
      misuse(() => authorizationUrl({ ...ok, codeChallengeMethod: m, baseUrl }), "baseUrl");
    }
    for (const baseUrl of ["http://localhost:8787", "http://127.0.0.1", "http://[::1]:9/"]) {
      expect(authorizationUrl({ ...ok, codeChallengeMethod: m, baseUrl })).toMatch(/\/auth\?/);
    }
    misuse(
      () => authorizationUrl({ ...ok, codeChallengeMethod: m, keyLabel: "x".repeat(101) }),
      "keyLabel",
    );
    misuse(() => authorizationUrl({ ...ok, codeChallengeMethod: m, limit: -1 }), "limit");
    misuse(() => authorizationUrl({ ...ok, codeChallengeMethod: m, limit: Number.NaN }), "limit");
    misuse(
      () =>
        authorizationUrl({ ...ok, codeChallengeMethod: m, usageLimitType: "yearly" as "daily" }),
      "usageLimitType",
    );
    misuse(
      () => authorizationUrl({ ...ok, codeChallengeMethod: m, expiresAt: "soon" }),
      "expiresAt",
    );
    misuse(() => authorizationUrl({ ...ok, codeChallengeMethod: m, state: "" }), "state");
    misuse(
      () => authorizationUrl({ ...ok, codeChallengeMethod: m, callbackUrl: "" }),
      "callbackUrl",
    );
  });

  it("accepts a spread PKCE pair without leaking the verifier", () => {
    const pair = {
      codeVerifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
      codeChallenge: challenge,
      codeChallengeMethod: "S256" as const,
    };
    const url = authorizationUrl({ ...pair, callbackUrl: "https://a.example" });
    expect(url).not.toContain(pair.codeVerifier);
  });
});
