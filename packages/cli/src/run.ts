import { parseCommandLine } from "./arguments.js";
import { catalog } from "./catalog.js";
import { columns } from "./help.js";
import { type CommandIo, EXIT } from "./io.js";
import { didYouMean } from "./suggest.js";
import { terminalText } from "./terminal-text.js";
import { cliVersion } from "./version.js";

function mainHelp(): string {
  const rows = columns(Object.entries(catalog).map(([name, entry]) => [name, entry.summary]));
  return [
    "Usage: keyport <command> [options]",
    "",
    "One-click API keys through OAuth PKCE, compatible with OpenRouter.",
    "",
    "Commands:",
    rows,
    "Run `keyport <command> --help` for a command's options, `keyport --version` for the version.",
    "",
  ].join("\n");
}

/** Parses the command line, runs the command and returns the exit code. */
export async function runCommand(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(mainHelp());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === "--version" || name === "-V") {
    io.stdout.write(`${cliVersion()}\n`);
    return EXIT.ok;
  }
  const entry = Object.hasOwn(catalog, name) ? catalog[name] : undefined;
  if (!entry) {
    // The typed word is echoed back: printed as plain text.
    const hint = didYouMean(name, Object.keys(catalog), (known) => `"${known}"`);
    io.stderr.write(
      `keyport: unknown command "${terminalText(name)}".${hint} Run \`keyport --help\` for the list.\n`,
    );
    return EXIT.usage;
  }
  try {
    const command = await entry.load();
    const parsed = parseCommandLine(name, command, rest);
    if (parsed.values.help) {
      io.stdout.write(command.usage);
      return EXIT.ok;
    }
    return await command.run(parsed, io);
  } catch (error) {
    if (
      isNamedError(error, "UsageError") ||
      isNamedError(error, "ConfigError") ||
      isParseArgsError(error)
    ) {
      io.stderr.write(`keyport ${name}: ${terminalText((error as Error).message)}\n`);
      return EXIT.usage;
    }
    // A database's or server's error text may carry anything: printed as plain text.
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`keyport ${name}: ${terminalText(message)}\n`);
    return EXIT.failure;
  }
}

function isParseArgsError(error: unknown): boolean {
  return (
    error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")
  );
}

/**
 * An error told by its name, not its class: the server's ConfigError (so that the CLI need not
 * load the server to check), and the UsageError of a command, whose io.js is another copy of the
 * class than the one bundled into the bin.
 */
function isNamedError(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}
