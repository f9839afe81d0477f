import { migrateDatabase, parseConfig } from "@keyport/server";
import type { Command } from "../command.js";
import { columns } from "../help.js";
import { EXIT } from "../io.js";

/** `keyport migrate`: runs the schema migrations, then exits. */
export const migrateCommand: Command = {
  usage: `Usage: keyport migrate [--database PATH|URL]

Brings the database schema up to date and exits, as \`keyport serve\` does at start:
for an upgrade, run it once with the new version before starting the new servers.
On PostgreSQL, instances migrating at once take turns. Prints each migration applied.

Options:
${columns([["--database PATH|URL", "SQLite file or postgres:// URL (KEYPORT_DATABASE)"]])}`,
  options: { database: { type: "string" } },
  async run({ values }, io) {
    const config = parseConfig({ database: values.database as string | undefined }, io.env);
    const applied = await migrateDatabase(config.database);
    for (const name of applied) io.stdout.write(`applied ${name}\n`);
    io.stderr.write(
      applied.length === 0
        ? "The database schema was already up to date\n"
        : `Applied ${applied.length} migration(s)\n`,
    );
    return EXIT.ok;
  },
};
