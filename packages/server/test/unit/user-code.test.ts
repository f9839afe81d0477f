import { describe, expect, it } from "vitest";
import { newUserCode, normalizeUserCode, userCodeHash } from "../../src/domain/user-code.js";

describe("headless user codes", () => {
  it("are 8 characters of Crockford's base32 in two groups, fresh each time", () => {
    const codes = Array.from({ length: 2000 }, newUserCode);
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(new Set(codes).size).toBe(codes.length);
    // Every one of the 32 characters shows up: the draw is not narrowed by a bug.
    expect(new Set(codes.join("").replaceAll("-", "")).size).toBe(32);
  });

  it("forgive spaces, dashes, case, and O/I/L typed for 0/1/1", () => {
    const code = "K7QD-9M1A";
    for (const typed of [
      "K7QD-9M1A",
      "k7qd9m1a",
      " k7qd 9m1a\n",
      "K7-QD-9M-1A",
      "k7qd-9mla",
      "K7QD 9MIA",
    ]) {
      expect(normalizeUserCode(typed), typed).toBe("K7QD9M1A");
    }
    expect(normalizeUserCode("K0QD-9M1A")).toBe(normalizeUserCode("KoQD-9M1A"));
    expect(userCodeHash(code)).toBe(userCodeHash(normalizeUserCode(" k7qd9m1a ") as string));
  });

  it("anything else is not a user code (the 43-character codes of the callback flow stay codes)", () => {
    for (const typed of [
      "",
      "K7QD-9M1",
      "K7QD-9M1AB",
      "K7QD-9MUA",
      "K7QD_9M1A",
      "K7QD-9M1A!",
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ",
      `${"-".repeat(40)}K7QD9M1A`,
    ]) {
      expect(normalizeUserCode(typed), typed).toBeUndefined();
    }
  });
});
