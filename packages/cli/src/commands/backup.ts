import { BackupError, backupDatabase, parseConfig } from "@keyport/server";
import type { Command } from "../command.js";
import { EXIT, UsageError } from "../io.js";

/** `keyport backup FILE`: an online copy of the SQLite database. */
export const backupCommand: Command = {
  usage: `Usage: keyport backup FILE [--database PATH]

Copies the SQLite database to FILE with SQLite's online backup API: one consistent
snapshot, safe while \`keyport serve\` runs on the database and writes to it. FILE is
written beside itself and renamed into place once checked, mode 0600; an existing FILE
is replaced. To restore: stop the server, remove the database's -wal and -shm files,
copy FILE into place, start the server (see docs/deploy.md).

For PostgreSQL, use pg_dump; this command refuses a postgres:// database.

Options:
  --database PATH     SQLite file (KEYPORT_DATABASE, default .keyport/keyport.sqlite)
`,
  options: { database: { type: "string" } },
  async run({ values, positionals }, io) {
    const [target, ...extra] = positionals;
    if (!target || extra.length > 0)
      throw new UsageError(
        "expected one FILE to write the backup to. Run `keyport backup --help`.",
      );
    const config = parseConfig({ database: values.database as string | undefined }, io.env);
    try {
      const pages = await backupDatabase(config.database, target);
      io.stderr.write(`Backed up ${config.database} to ${target} (${pages} pages)\n`);
      return EXIT.ok;
    } catch (error) {
      if (error instanceof BackupError) throw new UsageError(error.message);
      throw error;
    }
  },
};
