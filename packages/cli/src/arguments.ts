import { parseArgs } from "node:util";
import type { Command } from "./command.js";
import { UsageError } from "./io.js";
import { didYouMean } from "./suggest.js";

/** What {@link parseCommandLine} gives a command: flag values and the remaining words. */
export interface ParsedArguments {
  values: Record<string, unknown>;
  positionals: string[];
}

/**
 * Parses a command's arguments strictly, for every command alike: an unknown flag or an
 * unknown subcommand is a {@link UsageError} that names the closest known one ("did you
 * mean"); a flag's missing or unexpected value is Node's own parse error. `--help`/`-h` is
 * always known.
 *
 * @example
 * ```ts
 * parseCommandLine("login", loginCommand, ["--sever", "http://localhost:8787"]);
 * // throws UsageError: unknown option --sever. Did you mean --server? Run `keyport login --help`.
 * ```
 */
export function parseCommandLine(name: string, command: Command, args: string[]): ParsedArguments {
  const options = { ...command.options, help: { type: "boolean", short: "h" } } as const;
  const loose = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true });
  const longNames = Object.keys(options);
  const shortNames: string[] = Object.values(options).flatMap((option) =>
    "short" in option && typeof option.short === "string" ? [option.short] : [],
  );
  const help = `Run \`keyport ${name} --help\`.`;
  for (const token of loose.tokens) {
    if (token.kind !== "option") continue;
    const known = token.rawName.startsWith("--")
      ? longNames.includes(token.name)
      : shortNames.includes(token.name);
    if (known) continue;
    const hint = didYouMean(token.name, longNames, (option) => `--${option}`);
    throw new UsageError(`unknown option ${token.rawName}.${hint} ${help}`);
  }
  const parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  const action = parsed.positionals[0];
  if (command.subcommands && action !== undefined && !command.subcommands.includes(action)) {
    if (!parsed.values.help) {
      const hint = didYouMean(action, command.subcommands, (word) => `\`keyport ${name} ${word}\``);
      const known = command.subcommands.map((word) => `\`${name} ${word}\``);
      const expected =
        known.length > 1 ? `${known.slice(0, -1).join(", ")} or ${known.at(-1)}` : known[0];
      throw new UsageError(`unknown subcommand "${action}" (expected ${expected}).${hint} ${help}`);
    }
  }
  return parsed;
}
