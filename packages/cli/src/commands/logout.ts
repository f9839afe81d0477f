import { deleteKey, disconnect, RevocationUnsupportedError } from "@keyport/client/node";
import {
  accountHelpRows,
  accountOptions,
  maskKey,
  notLoggedIn,
  resolveAccount,
} from "../account.js";
import type { Command } from "../command.js";
import { columns } from "../help.js";
import { EXIT, UsageError } from "../io.js";
import { writeProfile } from "../profiles.js";
import { causeText } from "../server-check.js";
import { terminalText } from "../terminal-text.js";

/** `keyport logout`: revokes the profile's key on its server, then forgets it. */
export const logoutCommand: Command = {
  usage: `Usage: keyport logout [--profile NAME] [--server URL]

Revokes the key \`keyport login\` saved in the profile (DELETE /api/v1/key, a
Keyport extension) and removes it from the credentials file. The profile keeps
its server, so \`keyport login\` goes back to it. Where the server cannot revoke
keys (OpenRouter) or cannot be reached, the key is still forgotten, and the
message says it works until you revoke it in the server's key settings.

Options:
${columns(accountHelpRows)}
Exit status: 0 logged out (also when no key was saved), 1 forgotten but not
revoked, 2 bad usage.
`,
  options: accountOptions,
  async run({ values, positionals }, io) {
    if (positionals.length > 0) {
      throw new UsageError(`unexpected "${positionals[0]}". Run \`keyport logout --help\`.`);
    }
    const account = await resolveAccount(values, io.env);
    const { profile, key } = account;
    if (!key) {
      io.stdout.write(`${capitalized(notLoggedIn(account))}; nothing to forget.\n`);
      return EXIT.ok;
    }
    let revoked: string | undefined;
    let failure: string | undefined;
    try {
      const answer = await disconnect({ baseUrl: account.server, key });
      revoked = answer.revoked ? "revoked" : "it was already refused";
    } catch (error) {
      failure =
        error instanceof RevocationUnsupportedError
          ? "the server cannot revoke keys from the CLI"
          : causeText(error);
    }
    if (account.legacy) await deleteKey(account.server, { path: account.path });
    await writeProfile(account.path, account.profileName, {
      server: profile?.server ?? account.server,
    });
    if (revoked) {
      io.stdout.write(
        `Logged out of ${account.server}: key ${maskKey(key)} ${revoked} and forgotten.\n`,
      );
      return EXIT.ok;
    }
    io.stdout.write(`Logged out of ${account.server}: forgot key ${maskKey(key)}.\n`);
    io.stderr.write(
      `keyport logout: could not revoke it (${terminalText(failure)}). It works until you revoke it in the server's key settings.\n`,
    );
    return EXIT.failure;
  },
};

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
