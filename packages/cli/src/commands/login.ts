import { hostname } from "node:os";
import {
  deleteKey,
  disconnect,
  type ExchangeResult,
  RevocationUnsupportedError,
} from "@keyport/client/node";
import {
  type Account,
  accountHelpRows,
  accountOptions,
  loginHint,
  maskKey,
  reportError,
  resolveAccount,
} from "../account.js";
import type { Command } from "../command.js";
import { columns } from "../help.js";
import { type CommandIo, EXIT, UsageError } from "../io.js";
import { writeProfile } from "../profiles.js";
import { causeText, serverProblem } from "../server-check.js";
import { obtainKey } from "../sign-in-flow.js";
import { terminalText } from "../terminal-text.js";

/** `keyport login`: one-click API key through the browser (or a typed code), then saved. */
export const loginCommand: Command = {
  usage: `Usage: keyport login [--server URL] [--profile NAME] [--headless] [--label TEXT] [--limit N] [--print]

Checks that the server answers, then opens its consent page in your browser
and waits on 127.0.0.1 for the answer (OAuth PKCE). Where no browser can open
(no display, SSH, or the opener fails at a terminal), it prints a URL for any
device and asks for the short code the page shows (like ABCD-EFGH; spaces,
dashes and case do not matter).

The server and the key are saved in the profile, in the credentials file (mode
0600): $XDG_CONFIG_HOME/keyport/credentials.json or the platform equivalent.
\`whoami\` and \`logout\` then use that server. Logging in again replaces the
profile's key and revokes the old one.

Options:
${columns([
  ...accountHelpRows,
  ["--headless", "print a URL for any device, then type the code it shows (SSH)"],
  ["--no-browser", "print the URL for this machine, open nothing (KEYPORT_NO_BROWSER=1)"],
  ["--label TEXT", 'the key\'s name in your dashboard (default "keyport CLI on <host>")'],
  ["--limit N", "the key's spending limit, in credits"],
  ["--print", "write the key alone to stdout and save nothing (for scripts)"],
])}
Exit status: 0 logged in, 1 failed, 2 bad usage, 3 access denied.
`,
  options: {
    ...accountOptions,
    headless: { type: "boolean" },
    label: { type: "string" },
    limit: { type: "string" },
    print: { type: "boolean" },
    "no-browser": { type: "boolean" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) {
      throw new UsageError(`unexpected "${positionals[0]}". Run \`keyport login --help\`.`);
    }
    // Reads the credentials file first: an unreadable one would lose the new key.
    const account = await resolveAccount(values, io.env);
    const keyLabel = parseLabel(values.label);
    const limit = parseLimit(values.limit);

    const problem = await serverProblem(account.server);
    if (problem) {
      io.stderr.write(`keyport login: ${terminalText(problem)}\n`);
      return EXIT.failure;
    }
    let result: ExchangeResult;
    try {
      result = await obtainKey(io, {
        server: account.server,
        keyLabel,
        limit,
        headless: values.headless === true,
        noBrowser: values["no-browser"] === true || isSet(io.env.KEYPORT_NO_BROWSER),
        platform: process.platform,
      });
    } catch (error) {
      return reportError(error, io, "login", account);
    }

    if (values.print) {
      io.stdout.write(`${terminalText(result.key)}\n`);
      io.stderr.write(`Connected to ${account.server}. The key was printed, not saved.\n`);
      return EXIT.ok;
    }
    try {
      await writeProfile(account.path, account.profileName, {
        server: account.server,
        key: result.key,
        userId: result.userId,
        label: keyLabel,
        savedAt: new Date().toISOString(),
      });
    } catch (error) {
      io.stderr.write(
        `keyport login: could not save the key in ${account.path} (${terminalText((error as Error).message)}). Fix that and run ${loginHint(account, io.env)} again, or use --print.\n`,
      );
      return EXIT.failure;
    }
    const profile = account.profileName === "default" ? "" : ` (profile ${account.profileName})`;
    io.stderr.write(
      `Logged in to ${account.server}${profile} as "${terminalText(keyLabel)}". Key ${maskKey(result.key)} saved in ${account.path}.\n`,
    );
    await revokeReplaced(account, io);
    return EXIT.ok;
  },
};

/**
 * Revokes the key the profile held before this login, once the new one is saved, so logging in
 * again never leaves a working key nobody holds. A failure is reported, not fatal: the new key
 * is saved and works.
 */
async function revokeReplaced(account: Account, io: CommandIo): Promise<void> {
  const old = account.legacy
    ? { key: account.key, server: account.server }
    : { key: account.profile?.key, server: account.profile?.server ?? account.server };
  if (!old.key) return;
  if (account.legacy) await deleteKey(account.server, { path: account.path });
  const where = `${maskKey(old.key)} on ${old.server}`;
  try {
    const { revoked } = await disconnect({ baseUrl: old.server, key: old.key });
    io.stderr.write(
      revoked
        ? `Revoked the previous key ${where}.\n`
        : `The previous key ${where} no longer worked; forgot it.\n`,
    );
  } catch (error) {
    const why =
      error instanceof RevocationUnsupportedError
        ? "the server cannot revoke keys from the CLI"
        : causeText(error);
    io.stderr.write(
      `keyport login: could not revoke the previous key ${where} (${terminalText(why)}). It works until you revoke it in the server's key settings.\n`,
    );
  }
}

function parseLabel(value: unknown): string {
  if (value === undefined) return `keyport CLI on ${hostname()}`.slice(0, 100);
  const label = String(value).trim();
  if (!label || label.length > 100) throw new UsageError("--label must be 1 to 100 characters.");
  return label;
}

function parseLimit(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const limit = Number(value);
  if (String(value).trim() === "" || !Number.isFinite(limit) || limit < 0) {
    throw new UsageError(`--limit must be a number of credits, 0 or more (got "${value}").`);
  }
  return limit;
}

const isSet = (value: string | undefined) => value !== undefined && !/^(|0|false)$/i.test(value);
