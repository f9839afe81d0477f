import { describe, expect, it } from "vitest";
import { isStorageFault } from "../../src/store/storage-fault.js";

const coded = (code: string, message = "failed") => Object.assign(new Error(message), { code });

describe("isStorageFault: what is answered 503 (DESIGN invariant 9)", () => {
  it.each([
    "SQLITE_FULL",
    "SQLITE_IOERR",
    "SQLITE_IOERR_WRITE",
    "SQLITE_BUSY",
    "SQLITE_READONLY_DBMOVED",
    "SQLITE_CANTOPEN",
    "53100", // PostgreSQL disk_full
    "53300", // too_many_connections
    "08006", // connection_failure
    "57P01", // admin_shutdown
    "ENOSPC",
    "ECONNREFUSED",
    "ECONNRESET",
  ])("%s is a storage fault", (code) => {
    expect(isStorageFault(coded(code))).toBe(true);
  });

  it.each([
    "SQLITE_CONSTRAINT_UNIQUE",
    "SQLITE_ERROR",
    "SQLITE_CORRUPT",
    "23505", // unique_violation
    "22P02", // invalid_text_representation
    "ERR_INVALID_ARG_TYPE",
  ])("%s is not", (code) => {
    expect(isStorageFault(coded(code))).toBe(false);
  });

  it("pg's code-less dropped connection is one, found through `cause` too", () => {
    expect(isStorageFault(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isStorageFault(new Error("wrapped", { cause: coded("SQLITE_FULL") }))).toBe(true);
  });

  it("anything else is not", () => {
    expect(isStorageFault(new Error("boom"))).toBe(false);
    expect(isStorageFault("SQLITE_FULL")).toBe(false);
    expect(isStorageFault(undefined)).toBe(false);
  });
});
