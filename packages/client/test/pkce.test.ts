import { describe, expect, it } from "vitest";
import { createCodeChallenge, createPkcePair } from "../src/index.js";

const APPENDIX_B_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const APPENDIX_B_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

describe("RFC 7636 Appendix B", () => {
  it("derives the S256 challenge of the example verifier", async () => {
    expect(await createCodeChallenge(APPENDIX_B_VERIFIER, "S256")).toBe(APPENDIX_B_CHALLENGE);
  });

  it("uses S256 by default", async () => {
    expect(await createCodeChallenge(APPENDIX_B_VERIFIER)).toBe(APPENDIX_B_CHALLENGE);
  });
});

describe("RFC 7636 §4.1 code_verifier", () => {
  const rejects = async (verifier: unknown) => {
    const error = await createCodeChallenge(verifier as string).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({
      code: "ERR_INVALID_ARG_VALUE",
      message: '"codeVerifier" must be 43-128 characters of [A-Za-z0-9-._~]',
    });
  };

  it("rejects 42 characters and accepts 43", async () => {
    await rejects("a".repeat(42));
    await expect(createCodeChallenge("a".repeat(43))).resolves.toHaveLength(43);
  });

  it("accepts 128 characters and rejects 129", async () => {
    await expect(createCodeChallenge("a".repeat(128))).resolves.toHaveLength(43);
    await rejects("a".repeat(129));
  });

  it("accepts every unreserved character and rejects others", async () => {
    const unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    await expect(createCodeChallenge(unreserved)).resolves.toMatch(/^[\w-]{43}$/);
    for (const bad of ["+", "/", "=", " ", "é", "%"]) await rejects(`${"a".repeat(43)}${bad}`);
    await rejects(undefined);
  });
});

describe("RFC 7636 §4.2 code_challenge_method", () => {
  it("plain is the verifier itself", async () => {
    expect(await createCodeChallenge(APPENDIX_B_VERIFIER, "plain")).toBe(APPENDIX_B_VERIFIER);
  });

  it("rejects an unknown method", async () => {
    await expect(createCodeChallenge(APPENDIX_B_VERIFIER, "S512" as "S256")).rejects.toMatchObject({
      name: "TypeError",
      code: "ERR_INVALID_ARG_VALUE",
      message: /"codeChallengeMethod"/,
    });
    await expect(createPkcePair("s256" as "S256")).rejects.toThrow(TypeError);
  });
});

describe("createPkcePair", () => {
  it("makes a 43-character verifier from 32 random octets with its S256 challenge", async () => {
    const pair = await createPkcePair();
    expect(pair.codeVerifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pair.codeChallengeMethod).toBe("S256");
    expect(pair.codeChallenge).toBe(await createCodeChallenge(pair.codeVerifier, "S256"));
    expect(pair.codeChallenge).not.toBe(pair.codeVerifier);
  });

  it("plain pairs challenge with the verifier", async () => {
    const pair = await createPkcePair("plain");
    expect(pair).toEqual({
      codeVerifier: pair.codeVerifier,
      codeChallenge: pair.codeVerifier,
      codeChallengeMethod: "plain",
    });
  });

  it("never repeats a verifier", async () => {
    const verifiers = new Set<string>();
    for (let i = 0; i < 200; i++) verifiers.add((await createPkcePair()).codeVerifier);
    expect(verifiers.size).toBe(200);
  });
});
