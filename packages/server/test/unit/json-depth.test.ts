import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../../src/domain/json-depth.js";

const arrays = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
const objects = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

describe("DESIGN invariant 7: JSON nesting depth", () => {
  it.each([
    ["1", 0],
    ["[]", 1],
    ['{"a":[1,{"b":2}]}', 3],
    [arrays(MAX_JSON_DEPTH), MAX_JSON_DEPTH],
    [objects(MAX_JSON_DEPTH), MAX_JSON_DEPTH],
  ])("%s nests %i levels", (text, depth) => {
    expect(nestsDeeperThan(text, depth)).toBe(false);
    if (depth > 0) expect(nestsDeeperThan(text, depth - 1)).toBe(true);
  });

  it("the default bound is 64: 65 levels of arrays or objects are too deep", () => {
    expect(MAX_JSON_DEPTH).toBe(64);
    expect(nestsDeeperThan(arrays(65))).toBe(true);
    expect(nestsDeeperThan(objects(65))).toBe(true);
    expect(nestsDeeperThan(`[${arrays(64)},${arrays(64)}]`)).toBe(true);
    expect(nestsDeeperThan(`[${arrays(63)},${arrays(63)}]`)).toBe(false);
  });

  it("counts siblings, not their sum", () => {
    expect(nestsDeeperThan(`[${Array.from({ length: 1000 }, () => "[1]").join(",")}]`, 2)).toBe(
      false,
    );
  });

  it("ignores brackets in strings, escaped quotes included", () => {
    expect(nestsDeeperThan(JSON.stringify({ a: "[".repeat(1000) }), 1)).toBe(false);
    expect(nestsDeeperThan(JSON.stringify({ a: `\\"${"{".repeat(1000)}\\` }), 1)).toBe(false);
    expect(nestsDeeperThan(JSON.stringify(['"]]]', [[1]]]), 3)).toBe(false);
    expect(nestsDeeperThan(JSON.stringify(['"]]]', [[[1]]]]), 3)).toBe(true);
  });

  it("10,000,000 levels: answered in one pass, without recursion", () => {
    expect(nestsDeeperThan("[".repeat(10_000_000))).toBe(true);
    expect(nestsDeeperThan(`"${"[".repeat(10_000_000)}"`)).toBe(false);
  });
});
