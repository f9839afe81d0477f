import type { parseArgs } from "node:util";
import type { CommandIo } from "./io.js";

/** One `keyport` subcommand: its help, its flags and what it does (its summary is in catalog.ts). */
export interface Command {
  /** The `--help` text; its option rows come from `columns()` (help.ts), so they align. */
  readonly usage: string;
  readonly options: NonNullable<Parameters<typeof parseArgs>[0]>["options"];
  /**
   * The words the first positional may be (`keys list`, `users create`), when the command has
   * any: another word is refused before `run`, with the closest one suggested.
   */
  readonly subcommands?: readonly string[];
  run(
    args: { values: Record<string, unknown>; positionals: string[] },
    io: CommandIo,
  ): Promise<number>;
}
