import { getKeyInfo, type KeyInfo, loadKey } from "@keyport/client/node";
import {
  baseUrlHelp,
  baseUrlOption,
  credentialsFile,
  loginHint,
  maskKey,
  reportError,
  resolveBaseUrl,
} from "../account.js";
import type { Command } from "../command.js";
import { EXIT, UsageError } from "../io.js";
import { terminalText } from "../terminal-text.js";

/** `keyport whoami`: the saved key's label, usage, limit and expiry, as the server reports them. */
export const whoamiCommand: Command = {
  usage: `Usage: keyport whoami [--base-url URL]

Asks the server about the key \`keyport login\` saved (GET /api/v1/key) and shows
its label, usage, limit and expiry.

Options:
${baseUrlHelp}
Exit status: 0 shown, 1 failed, 2 bad usage, 3 not logged in or key refused.
`,
  options: baseUrlOption,
  async run({ values, positionals }, io) {
    if (positionals.length > 0) {
      throw new UsageError(`unexpected "${positionals[0]}". Run \`keyport whoami --help\`.`);
    }
    const baseUrl = resolveBaseUrl(values, io.env);
    const saved = await loadKey(baseUrl, { path: credentialsFile(io.env) });
    if (!saved) {
      io.stderr.write(
        `keyport whoami: not logged in to ${baseUrl}. Run ${loginHint(baseUrl, io.env)}.\n`,
      );
      return EXIT.unauthorized;
    }
    let info: KeyInfo;
    try {
      info = await getKeyInfo({ baseUrl, key: saved.key });
    } catch (error) {
      return reportError(error, io, "whoami", baseUrl);
    }
    io.stdout.write(describeKey(baseUrl, saved.key, info));
    return EXIT.ok;
  },
};

/** The key as a short aligned table, numbers as the server sent them (credits). */
function describeKey(baseUrl: string, key: string, info: KeyInfo): string {
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
    ["Server", baseUrl],
    ["Usage", `${credits(info.usage)} credits${usage.length ? ` (${usage.join(", ")})` : ""}`],
    ["Limit", limit],
    ["Expires", info.expires_at ? terminalText(info.expires_at) : "never"],
  ];
  return rows.map(([name, value]) => `${name?.padEnd(8)} ${value}\n`).join("");
}

const credits = (value: number) => String(Number(value.toFixed(6)));
