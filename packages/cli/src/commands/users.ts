import {
  accountProblem,
  createAccount,
  normalizeEmail,
  openStore,
  parseConfig,
  systemClock,
} from "@keyport/server";
import type { Command } from "../command.js";
import { columns } from "../help.js";
import { EXIT, readAll, UsageError } from "../io.js";

/** `keyport users create`: accounts for closed sign-up installs and automation. */
export const usersCommand: Command = {
  usage: `Usage: keyport users create --email EMAIL --password-stdin [--database PATH|URL]

Creates an account. The password is read from standard input (one line).

Options:
${columns([
  ["--email EMAIL", "the account's email"],
  ["--password-stdin", "read the password from standard input"],
  ["--database PATH|URL", "SQLite file or postgres:// URL (KEYPORT_DATABASE)"],
])}`,
  subcommands: ["create"],
  options: {
    email: { type: "string" },
    "password-stdin": { type: "boolean" },
    database: { type: "string" },
  },
  async run({ values, positionals }, io) {
    if (positionals[0] !== "create" || positionals.length !== 1) {
      throw new UsageError("expected `users create`. Run `keyport users --help`.");
    }
    if (typeof values.email !== "string") throw new UsageError("--email is required.");
    if (!values["password-stdin"])
      throw new UsageError("--password-stdin is required (never pass a password as a flag).");
    const email = normalizeEmail(values.email);
    const password = (await readAll(io.stdin)).replace(/\r?\n$/, "");
    const problem = accountProblem(email, password);
    if (problem) throw new UsageError(problem);
    const config = parseConfig({ database: values.database as string | undefined }, io.env);
    const store = await openStore(config.database);
    try {
      const user = await createAccount({ store, clock: systemClock }, email, password);
      if (!user) {
        io.stderr.write(`keyport users: an account with ${email} already exists.\n`);
        return EXIT.failure;
      }
      io.stdout.write(`${user.id}\n`);
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};
