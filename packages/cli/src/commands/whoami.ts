import { getKeyInfo, type KeyInfo } from "@keyport/client/node";
import {
  type Account,
  accountHelpRows,
  accountOptions,
  loginHint,
  maskKey,
  notLoggedIn,
  reportError,
  resolveAccount,
} from "../account.js";
import type { Command } from "../command.js";
import { columns } from "../help.js";
import { EXIT, UsageError } from "../io.js";
import { terminalText } from "../terminal-text.js";

/** `keyport whoami`: the saved key's label, usage, limit and expiry, as the server reports them. */
export const whoamiCommand: Command = {
  usage: `Usage: keyport whoami [--profile NAME] [--server URL]

Asks the server the profile remembers about the key \`keyport login\` saved
(GET /api/v1/key) and shows its label, usage, limit and expiry.

Options:
${columns(accountHelpRows)}
Exit status: 0 shown, 1 failed, 2 bad usage, 3 not logged in or key refused.
`,
  options: accountOptions,
  async run({ values, positionals }, io) {
    if (positionals.length > 0) {
      throw new UsageError(`unexpected "${positionals[0]}". Run \`keyport whoami --help\`.`);
    }
    const account = await resolveAccount(values, io.env);
    if (!account.key) {
      io.stderr.write(
        `keyport whoami: ${notLoggedIn(account)}. Run ${loginHint(account, io.env)}.\n`,
      );
      return EXIT.unauthorized;
    }
    let info: KeyInfo;
    try {
      info = await getKeyInfo({ baseUrl: account.server, key: account.key });
    } catch (error) {
      return reportError(error, io, "whoami", account);
    }
    io.stdout.write(describeKey(account, account.key, info));
    return EXIT.ok;
  },
};

/** The key as a short aligned table, numbers as the server sent them (credits). */
function describeKey(account: Account, key: string, info: KeyInfo): string {
  const usage = [
    ["today", info.usage_daily],
    ["this week", info.usage_weekly],
    ["this month", info.usage_monthly],
  ]
    .filter((entry): entry is [string, number] => typeof entry[1] === "number")
    .map(([period, value]) => `${period} ${credits(value)}`);
  let limit = "none";
  if (info.limit !== null) {
    limit = `${credits(info.limit)} credits`;
    if (typeof info.limit_remaining === "number")
      limit += `, ${credits(info.limit_remaining)} left`;
    if (info.limit_reset) limit += `, resets ${terminalText(info.limit_reset)}`;
  }
  const rows = [
    ["Label", terminalText(info.label)],
    ["Key", maskKey(key)],
    ["Server", account.server],
    ["Profile", account.profileName],
    ["Usage", `${credits(info.usage)} credits${usage.length ? ` (${usage.join(", ")})` : ""}`],
    ["Limit", limit],
    ["Expires", info.expires_at ? terminalText(info.expires_at) : "never"],
  ];
  return rows.map(([name, value]) => `${name?.padEnd(8)} ${value}\n`).join("");
}

const credits = (value: number) => String(Number(value.toFixed(6)));
