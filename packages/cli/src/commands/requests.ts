import { openStore, parseConfig, type RequestRecord } from "@keyport/server";
import type { Command } from "../command.js";
import { columns } from "../help.js";
import { EXIT, UsageError } from "../io.js";
import { terminalText } from "../terminal-text.js";

const USAGE = `Usage: keyport requests overruns [--limit N] [--database PATH|URL]

Reads metered gateway requests straight from the database (no server needed).

${columns([
  [
    "overruns",
    [
      "requests whose upstream reported more than was reserved, newest first:",
      "the key was charged its reservation, the rest is the operator's. One line",
      "each: time, request id, key hash, model, upstream, reported prompt and",
      "completion tokens, charged and overrun credits; then a total.",
    ].join("\n"),
  ],
])}
Options:
${columns([
  ["--limit N", "at most N requests (default 50, at most 10000)"],
  ["--database PATH|URL", "SQLite file or postgres:// URL (KEYPORT_DATABASE)"],
])}`;

/** `keyport requests overruns`: what upstreams billed past the reservations, for operators. */
export const requestsCommand: Command = {
  usage: USAGE,
  subcommands: ["overruns"],
  options: {
    limit: { type: "string" },
    database: { type: "string" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length !== 1 || positionals[0] !== "overruns")
      throw new UsageError("expected `requests overruns`. Run `keyport requests --help`.");
    const limit = values.limit === undefined ? 50 : Number(values.limit);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000)
      throw new UsageError("--limit must be an integer from 1 to 10000.");
    const config = parseConfig({ database: values.database as string | undefined }, io.env);
    const store = await openStore(config.database);
    try {
      const records = await store.listOverruns(limit);
      let total = 0;
      for (const record of records) {
        io.stdout.write(`${describe(record)}\n`);
        total += record.overrunMicros;
      }
      io.stdout.write(`${records.length} overrun(s), ${credits(total)} credits\n`);
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};

const credits = (micros: number) => (micros / 1_000_000).toFixed(6);

/**
 * Tab-separated, stable columns for scripts; model and upstream names (a client chose the model
 * id) as JSON strings, with no control or bidi characters left to reach the terminal.
 */
function describe(record: RequestRecord): string {
  return [
    record.createdAt.toISOString(),
    record.id,
    record.keyHash,
    terminalText(JSON.stringify(record.model)),
    terminalText(JSON.stringify(record.upstream)),
    `prompt=${record.promptTokens}`,
    `completion=${record.completionTokens}`,
    `charged=${credits(record.costMicros)}`,
    `overrun=${credits(record.overrunMicros)}`,
  ].join("\t");
}
