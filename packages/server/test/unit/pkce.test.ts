import { describe, expect, it } from "vitest";
import {
  codeChallengeOf,
  isCodeChallengeMethod,
  isPkceValue,
  verifyCodeVerifier,
} from "../../src/domain/pkce.js";

const APPENDIX_B_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const APPENDIX_B_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

describe("RFC 7636 Appendix B", () => {
  it("S256 turns the example verifier into the example challenge", () => {
    expect(codeChallengeOf(APPENDIX_B_VERIFIER, "S256")).toBe(APPENDIX_B_CHALLENGE);
  });

  it("verifies the example pair and rejects a one-character change", () => {
    expect(verifyCodeVerifier(APPENDIX_B_VERIFIER, APPENDIX_B_CHALLENGE, "S256")).toBe(true);
    const altered = `${APPENDIX_B_VERIFIER.slice(0, -1)}j`;
    expect(verifyCodeVerifier(altered, APPENDIX_B_CHALLENGE, "S256")).toBe(false);
  });
});

describe("RFC 7636 §4.1 code_verifier shape", () => {
  it.each([
    [42, false],
    [43, true],
    [128, true],
    [129, false],
  ])("a verifier of %i characters is accepted: %s", (length, accepted) => {
    expect(isPkceValue("a".repeat(length))).toBe(accepted);
    const verifier = "A1-._~".repeat(30).slice(0, length);
    expect(verifyCodeVerifier(verifier, verifier, "plain")).toBe(accepted);
  });

  it("accepts every unreserved character", () => {
    expect(isPkceValue("ABCXYZabcxyz0189-._~".repeat(3))).toBe(true);
  });

  it.each(["+", "/", "=", " ", "%", "é", "\n"])("rejects the character %j", (bad) => {
    const verifier = `${"a".repeat(50)}${bad}`;
    expect(isPkceValue(verifier)).toBe(false);
    expect(verifyCodeVerifier(verifier, verifier, "plain")).toBe(false);
  });
});

describe("RFC 7636 §4.2 code_challenge_method", () => {
  it("plain: the challenge is the verifier itself", () => {
    expect(codeChallengeOf(APPENDIX_B_VERIFIER, "plain")).toBe(APPENDIX_B_VERIFIER);
    expect(verifyCodeVerifier(APPENDIX_B_VERIFIER, APPENDIX_B_VERIFIER, "plain")).toBe(true);
  });

  it("a verifier under the wrong method does not verify", () => {
    expect(verifyCodeVerifier(APPENDIX_B_VERIFIER, APPENDIX_B_CHALLENGE, "plain")).toBe(false);
    expect(verifyCodeVerifier(APPENDIX_B_VERIFIER, APPENDIX_B_VERIFIER, "S256")).toBe(false);
  });

  it("knows exactly S256 and plain, case-sensitively", () => {
    expect(isCodeChallengeMethod("S256")).toBe(true);
    expect(isCodeChallengeMethod("plain")).toBe(true);
    for (const other of ["s256", "PLAIN", "S512", "", null, 256]) {
      expect(isCodeChallengeMethod(other)).toBe(false);
    }
  });
});
