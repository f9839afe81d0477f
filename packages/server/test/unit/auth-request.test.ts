import { describe, expect, it } from "vitest";
import { type AuthRequest, parseAuthRequest } from "../../src/domain/auth-request.js";

const NOW = new Date("2026-01-01T00:00:00Z");
const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const BASE = { callback_url: "https://app.example/cb", code_challenge: CHALLENGE };

function parse(params: Record<string, string | string[]>, allowed: string[] = []) {
  return parseAuthRequest(
    (name) => {
      const value = params[name];
      return value === undefined ? undefined : Array.isArray(value) ? value : [value];
    },
    NOW,
    { allowedCallbackPrefixes: allowed, requireS256: false },
  );
}

function accepted(params: Record<string, string | string[]>): AuthRequest {
  const result = parse(params);
  if ("message" in result) throw new Error(result.message);
  return result;
}

function problem(params: Record<string, string | string[]>): string {
  const result = parse(params);
  if (!("message" in result)) throw new Error("accepted");
  return result.message;
}

describe("GET /auth parameters (wire contract)", () => {
  it("reads every parameter", () => {
    const request = accepted({
      ...BASE,
      code_challenge_method: "S256",
      key_label: "My app",
      limit: "12.5",
      usage_limit_type: "monthly",
      expires_at: "2026-02-01T00:00:00Z",
      state: "xyz",
    });
    expect(request).toMatchObject({
      codeChallenge: CHALLENGE,
      codeChallengeMethod: "S256",
      keyLabel: "My app",
      limit: 12.5,
      usageLimitType: "monthly",
      state: "xyz",
    });
    expect(request.callback?.url.href).toBe("https://app.example/cb");
    expect(request.expiresAt?.toISOString()).toBe("2026-02-01T00:00:00.000Z");
  });

  it("a challenge without a method is plain (RFC 7636 §4.3)", () => {
    expect(accepted(BASE).codeChallengeMethod).toBe("plain");
  });

  it("no challenge at all is allowed with a callback (OpenRouter makes PKCE optional)", () => {
    const request = accepted({ callback_url: "https://app.example/cb" });
    expect(request.codeChallenge).toBeUndefined();
    expect(request.codeChallengeMethod).toBeUndefined();
  });

  it("the default label is the callback's origin", () => {
    expect(accepted(BASE).keyLabel).toBe("https://app.example");
  });

  it.each(["callback_url", "code_challenge", "state", "key_label"])(
    "refuses %s given twice",
    (name) => {
      const params: Record<string, string | string[]> = { ...BASE, key_label: "a", state: "s" };
      params[name] = [String(params[name]), String(params[name])];
      expect(problem(params)).toMatch(/more than once/);
    },
  );

  it("passes a bad callback's reason through", () => {
    expect(problem({ ...BASE, callback_url: "javascript:alert(1)" })).toMatch(/javascript/);
  });

  it.each(["s256", "S512", "none"])("refuses code_challenge_method=%s", (method) => {
    expect(problem({ ...BASE, code_challenge_method: method })).toMatch(/code_challenge_method/);
  });

  it("refuses a method without a challenge", () => {
    expect(problem({ callback_url: BASE.callback_url, code_challenge_method: "S256" })).toMatch(
      /without a code_challenge/,
    );
  });

  it.each([42, 129])("refuses a challenge of %i characters", (length) => {
    expect(problem({ ...BASE, code_challenge: "a".repeat(length) })).toMatch(/code_challenge/);
  });

  it("refuses a challenge with a character outside [A-Za-z0-9-._~]", () => {
    expect(problem({ ...BASE, code_challenge: `${"a".repeat(43)}+` })).toMatch(/code_challenge/);
  });

  describe("headless mode (no callback_url)", () => {
    it("accepts an S256 challenge", () => {
      const request = accepted({ code_challenge: CHALLENGE, code_challenge_method: "S256" });
      expect(request.callback).toBeUndefined();
      expect(request.keyLabel).toBe("Headless sign-in");
    });

    it("requires S256: plain and no challenge are refused", () => {
      expect(problem({ code_challenge: CHALLENGE, code_challenge_method: "plain" })).toMatch(
        /S256/,
      );
      expect(problem({ code_challenge: CHALLENGE })).toMatch(/S256/);
      expect(problem({})).toMatch(/S256/);
    });
  });

  describe("key_label", () => {
    it("accepts 100 characters and trims", () => {
      expect(accepted({ ...BASE, key_label: "x".repeat(100) }).keyLabel).toHaveLength(100);
      expect(accepted({ ...BASE, key_label: "  padded  " }).keyLabel).toBe("padded");
    });

    it("refuses 101 characters and blank labels", () => {
      expect(problem({ ...BASE, key_label: "x".repeat(101) })).toMatch(/key_label/);
      expect(problem({ ...BASE, key_label: "   " })).toMatch(/key_label/);
    });
  });

  describe("limit", () => {
    it.each(["0", "1", "0.25", "1000000000"])("accepts %s", (limit) => {
      expect(accepted({ ...BASE, limit }).limit).toBe(Number(limit));
    });

    it.each(["-1", "abc", "1e3", "Infinity", "NaN", "1000000001", "0x10", " 5"])(
      "refuses %j",
      (limit) => {
        expect(problem({ ...BASE, limit })).toMatch(/limit/);
      },
    );
  });

  describe("usage_limit_type", () => {
    it.each(["daily", "weekly", "monthly"])("accepts %s", (type) => {
      expect(accepted({ ...BASE, usage_limit_type: type }).usageLimitType).toBe(type);
    });

    it.each(["yearly", "Daily", "hourly"])("refuses %s", (type) => {
      expect(problem({ ...BASE, usage_limit_type: type })).toMatch(/usage_limit_type/);
    });
  });

  describe("expires_at", () => {
    it.each(["2026-06-01T12:00:00Z", "2026-06-01T12:00:00.123Z", "2026-06-01T12:00+00:00"])(
      "accepts %s",
      (expiresAt) => {
        expect(accepted({ ...BASE, expires_at: expiresAt }).expiresAt).toBeInstanceOf(Date);
      },
    );

    it.each(["2026-06-01", "2026-06-01T12:00:00+02:00", "tomorrow", "2026-13-01T00:00:00Z"])(
      "refuses %s (not ISO 8601 UTC)",
      (expiresAt) => {
        expect(problem({ ...BASE, expires_at: expiresAt })).toMatch(/expires_at/);
      },
    );

    it("refuses an instant in the past", () => {
      expect(problem({ ...BASE, expires_at: "2025-12-31T23:59:59Z" })).toMatch(/past/);
      expect(problem({ ...BASE, expires_at: NOW.toISOString() })).toMatch(/past/);
    });
  });

  it("refuses a state over 1024 characters", () => {
    expect(accepted({ ...BASE, state: "s".repeat(1024) }).state).toHaveLength(1024);
    expect(problem({ ...BASE, state: "s".repeat(1025) })).toMatch(/state/);
  });

  it("applies the operator's callback prefixes", () => {
    expect(parse(BASE, ["https://other.example/"])).toHaveProperty("message");
    expect(parse(BASE, ["https://app.example/"])).not.toHaveProperty("message");
  });
});
