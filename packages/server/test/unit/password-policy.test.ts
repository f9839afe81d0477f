import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  isCommonPassword,
  passwordLength,
  passwordProblem,
} from "../../src/services/password-policy.js";

const LIST = readFileSync(new URL("../../data/common-passwords.txt", import.meta.url), "utf8")
  .split("\n")
  .filter(Boolean);

describe("NIST SP 800-63B §3.1.1.2: the bundled common-password list", () => {
  it("holds at least 10,000 distinct lower-case passwords of 8+ characters", () => {
    expect(LIST.length).toBeGreaterThanOrEqual(10_000);
    expect(new Set(LIST).size).toBe(LIST.length);
    expect(LIST.every((entry) => entry === entry.toLowerCase() && passwordLength(entry) >= 8)).toBe(
      true,
    );
  });

  it("matches case-insensitively, from the most common to the last entry", () => {
    expect(isCommonPassword("password")).toBe(true);
    expect(isCommonPassword("PassWord")).toBe(true);
    expect(isCommonPassword(LIST.at(-1) as string)).toBe(true);
    expect(isCommonPassword("correct horse battery staple")).toBe(false);
  });

  it("counts code points, and sets no composition rules", () => {
    expect(passwordLength("🔑".repeat(8))).toBe(8);
    expect(passwordProblem("🔑".repeat(8))).toBeUndefined();
    expect(passwordProblem("alllowercaseletters")).toBeUndefined();
    expect(passwordProblem("12345678")).toMatch(/most common/);
  });
});
