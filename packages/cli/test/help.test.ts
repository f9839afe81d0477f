import { describe, expect, it } from "vitest";
import { catalog } from "../src/catalog.js";
import { closestName, editDistance } from "../src/suggest.js";
import { runInProcess, spawnCli } from "./support/run-cli.js";

/**
 * The misalignments in a help text: within each block of rows (lines that start with exactly
 * two spaces), every text starts at one column, with at least two spaces before it, and every
 * continuation line (deeper indent, right after a row) starts at that column too.
 */
function misalignments(help: string): string[] {
  const problems: string[] = [];
  let column: number | undefined;
  let inBlock = false;
  let termOnly = false;
  for (const line of help.split("\n")) {
    const row = /^ {2}(\S(?:.*?\S)?)(?: {2,}(\S.*))?$/.exec(line);
    if (row && !line.startsWith("   ")) {
      const start = row[2] === undefined ? undefined : line.length - row[2].length;
      if (start !== undefined) {
        if (inBlock && column !== undefined && start !== column) {
          problems.push(`"${line}" starts its text at ${start}, not ${column}`);
        }
        column ??= start;
      }
      inBlock = true;
      termOnly = start === undefined;
      continue;
    }
    if (inBlock && /^ {3,}\S/.test(line)) {
      const start = line.length - line.trimStart().length;
      if (column === undefined) column = start;
      else if (start !== column) problems.push(`"${line}" continues at ${start}, not ${column}`);
      termOnly = false;
      continue;
    }
    if (termOnly) problems.push(`a term has no text before "${line}"`);
    inBlock = false;
    termOnly = false;
    column = undefined;
  }
  return problems;
}

describe("help text", () => {
  it("`keyport --help` (the real executable) lists every command, aligned", async () => {
    const result = await spawnCli(["--help"]).exited;
    expect(result.code).toBe(0);
    const listed = [...result.stdout.matchAll(/^ {2}(\S+) {2,}\S/gm)].map((match) => match[1]);
    expect(listed).toEqual(Object.keys(catalog));
    expect(misalignments(result.stdout)).toEqual([]);
  });

  it.each(Object.keys(catalog))("`keyport %s --help` has aligned columns", async (name) => {
    const result = await runInProcess([name, "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: keyport ${name}`));
    expect(result.stdout).toMatch(/^Options:$/m);
    expect(misalignments(result.stdout)).toEqual([]);
  });

  it("the checker finds a misaligned row, a one-space gap and a stray continuation", () => {
    expect(misalignments("Options:\n  --a    one\n  --bb  two\n")).toHaveLength(1);
    expect(misalignments("Options:\n  --a  one\n  --database PATH two\n")).toHaveLength(1);
    expect(misalignments("  --a  one\n      more\n")).toHaveLength(1);
    expect(misalignments("  --a  one\n       more\n  --b  two\n")).toEqual([]);
  });
});

describe("did you mean", () => {
  it("counts a swap of neighbours as one edit", () => {
    expect(editDistance("lgoin", "login")).toBe(1);
    expect(editDistance("whomai", "whoami")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });

  it("suggests only what is close", () => {
    expect(closestName("sever", ["server", "headless"])).toBe("server");
    expect(closestName("HEADLES", ["server", "headless"])).toBe("headless");
    expect(closestName("frobnicate", Object.keys(catalog))).toBeUndefined();
    expect(closestName("x", ["id", "h"])).toBeUndefined();
    expect(closestName("create-m", ["create-management", "list"])).toBe("create-management");
  });

  it.each([
    [["lgoin"], /^keyport: unknown command "lgoin"\. Did you mean "login"\?/],
    [
      ["whoami", "--sever", "http://x"],
      /^keyport whoami: unknown option --sever\. Did you mean --server\?/,
    ],
    [["serve", "--prot=80"], /^keyport serve: unknown option --prot\. Did you mean --port\?/],
    [
      ["keys", "lst"],
      /^keyport keys: unknown subcommand "lst" \(expected `keys create-management`, `keys list` or `keys revoke`\)\. Did you mean `keyport keys list`\?/,
    ],
    [["requests", "overrun"], /Did you mean `keyport requests overruns`\?/],
    [["login", "-x"], /^keyport login: unknown option -x\. Run `keyport login --help`\.$/],
    [["frobnicate"], /^keyport: unknown command "frobnicate"\. Run `keyport --help`/],
  ])("%j (the real executable): exit 2, one line", async (argv, message) => {
    const result = await spawnCli(argv).exited;
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });
});
