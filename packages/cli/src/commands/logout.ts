import { deleteKey, loadKey } from "@keyport/client/node";
import {
  baseUrlHelp,
  baseUrlOption,
  credentialsFile,
  maskKey,
  resolveBaseUrl,
} from "../account.js";
import type { Command } from "../command.js";
import { EXIT, UsageError } from "../io.js";

/** `keyport logout`: forgets the saved key for a server (the key itself stays valid). */
export const logoutCommand: Command = {
  usage: `Usage: keyport logout [--base-url URL]

Removes the key \`keyport login\` saved for this server from the credentials
file. The key keeps working until you revoke it in the server's key settings.

Options:
${baseUrlHelp}
Exit status: 0 (also when no key was saved), 1 failed, 2 bad usage.
`,
  options: baseUrlOption,
  async run({ values, positionals }, io) {
    if (positionals.length > 0) {
      throw new UsageError(`unexpected "${positionals[0]}". Run \`keyport logout --help\`.`);
    }
    const baseUrl = resolveBaseUrl(values, io.env);
    const path = credentialsFile(io.env);
    const saved = await loadKey(baseUrl, { path });
    if (!saved || !(await deleteKey(baseUrl, { path }))) {
      io.stdout.write(`Not logged in to ${baseUrl}; nothing to forget.\n`);
      return EXIT.ok;
    }
    io.stdout.write(
      `Logged out of ${baseUrl}: forgot key ${maskKey(saved.key)}. It works until revoked in the server's key settings.\n`,
    );
    return EXIT.ok;
  },
};
