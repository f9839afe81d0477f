import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isBuilt } from "./support/install.js";

let dir = "";

/** A package with one source and, unless `built` is false, its compiled module. */
function fakePackage(built = true): string {
  dir = mkdtempSync(join(tmpdir(), "keyport-is-built-"));
  mkdirSync(join(dir, "src", "lib"), { recursive: true });
  writeFileSync(join(dir, "tsconfig.build.json"), "{}");
  writeFileSync(join(dir, "src", "lib", "a.ts"), "export const a = 1;");
  if (built) {
    mkdirSync(join(dir, "dist", "lib"), { recursive: true });
    writeFileSync(join(dir, "dist", "lib", "a.js"), "export const a = 1;");
    writeFileSync(join(dir, "dist", "lib", "a.d.ts"), "export declare const a = 1;");
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, "dist", "lib", "a.js"), later, later);
    utimesSync(join(dir, "dist", "lib", "a.d.ts"), later, later);
  }
  return dir;
}

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("isBuilt (whether the smoke test may pack dist/ as it is)", () => {
  it("a dist/ compiled after every source is built", () => {
    expect(isBuilt(fakePackage())).toBe(true);
  });

  it("no dist/ at all is not built", () => {
    expect(isBuilt(fakePackage(false))).toBe(false);
  });

  it("a source changed after the build is not built", () => {
    const pkg = fakePackage();
    const later = new Date(Date.now() + 120_000);
    utimesSync(join(pkg, "src", "lib", "a.ts"), later, later);
    expect(isBuilt(pkg)).toBe(false);
  });

  it("a module left over from a deleted source is not built", () => {
    const pkg = fakePackage();
    writeFileSync(join(pkg, "dist", "lib", "gone.js"), "export {};");
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(pkg, "dist", "lib", "gone.js"), later, later);
    expect(isBuilt(pkg)).toBe(false);
  });
});
