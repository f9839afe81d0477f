import { parseArgs } from "node:util";
import { parseConfig } from "@keyport/server";
import { describe, expect, it } from "vitest";
import { configInput, serverOptions, serverOptionsHelp } from "../src/commands/server-options.js";

function configOf(args: string[]) {
  const { values } = parseArgs({ args, options: serverOptions, strict: true });
  return parseConfig(configInput(values), {});
}

describe("server flags (issue 9: PKCE strictness, slow clients)", () => {
  it("--require-s256 and the read deadlines reach the config", () => {
    expect(
      configOf(["--require-s256", "--headers-timeout-ms", "2000", "--request-timeout-ms", "5000"]),
    ).toMatchObject({ requireS256: true, headersTimeoutMs: 2000, requestTimeoutMs: 5000 });
    expect(configOf([])).toMatchObject({ requireS256: false });
  });

  it("the help names each flag with its variable", () => {
    for (const variable of [
      "KEYPORT_REQUIRE_S256",
      "KEYPORT_HEADERS_TIMEOUT_MS",
      "KEYPORT_REQUEST_TIMEOUT_MS",
    ]) {
      expect(serverOptionsHelp).toContain(variable);
    }
  });
});
