import type { parseArgs } from "node:util";
import type { CommandIo } from "./io.js";

/** One `keyport` subcommand: its help, its flags and what it does (its summary is in catalog.ts). */
export interface Command {
  readonly usage: string;
  readonly options: NonNullable<Parameters<typeof parseArgs>[0]>["options"];
  run(
    args: { values: Record<string, unknown>; positionals: string[] },
    io: CommandIo,
  ): Promise<number>;
}
