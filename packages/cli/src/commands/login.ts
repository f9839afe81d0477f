import { hostname } from "node:os";
import {
  type ExchangeResult,
  loadKey,
  openBrowser,
  saveKey,
  signIn,
  signInHeadless,
} from "@keyport/client/node";
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
import { type CommandIo, EXIT, UsageError } from "../io.js";
import { terminalText } from "../terminal-text.js";

/** `keyport login`: one-click API key through the browser (or a pasted code), then saved. */
export const loginCommand: Command = {
  usage: `Usage: keyport login [--base-url URL] [--headless] [--label TEXT] [--limit N] [--print]

Opens the consent page in your browser and waits on 127.0.0.1 for the answer
(OAuth PKCE). The URL is always printed, so you can open it yourself. When no
browser opens and this is a terminal, it asks you to paste the code instead.
The key is saved for this server in the credentials file (mode 0600):
$XDG_CONFIG_HOME/keyport/credentials.json or the platform equivalent.

Options:
${baseUrlHelp}  --headless          print the URL, then paste the code the page shows (for SSH)
  --label TEXT        the key's name in your dashboard (default "keyport CLI on <host>")
  --limit N           the key's spending limit, in credits
  --print             write the key alone to stdout and save nothing (for scripts)
  --no-browser        print the URL, do not open a browser (KEYPORT_NO_BROWSER=1)

Exit status: 0 logged in, 1 failed, 2 bad usage, 3 access denied.
`,
  options: {
    ...baseUrlOption,
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
    const baseUrl = resolveBaseUrl(values, io.env);
    const keyLabel = parseLabel(values.label);
    const limit = parseLimit(values.limit);
    const path = credentialsFile(io.env);
    // Fail before the browser dance, not after: an unreadable file would lose the new key.
    if (!values.print) await loadKey(baseUrl, { path });

    let result: ExchangeResult;
    try {
      result = await obtainKey(io, {
        baseUrl,
        keyLabel,
        limit,
        headless: values.headless === true,
        noBrowser: values["no-browser"] === true || isSet(io.env.KEYPORT_NO_BROWSER),
      });
    } catch (error) {
      return reportError(error, io, "login", baseUrl);
    }

    if (values.print) {
      io.stdout.write(`${terminalText(result.key)}\n`);
      io.stderr.write(`Connected to ${baseUrl}. The key was printed, not saved.\n`);
      return EXIT.ok;
    }
    try {
      await saveKey(baseUrl, { key: result.key, userId: result.userId, label: keyLabel }, { path });
    } catch (error) {
      io.stderr.write(
        `keyport login: could not save the key in ${path} (${(error as Error).message}). Fix that and run ${loginHint(baseUrl, io.env)} again, or use --print.\n`,
      );
      return EXIT.failure;
    }
    io.stderr.write(
      `Logged in to ${baseUrl} as "${keyLabel}". Key ${maskKey(result.key)} saved in ${path}.\n`,
    );
    return EXIT.ok;
  },
};

interface LoginPlan {
  baseUrl: string;
  keyLabel: string;
  limit: number | undefined;
  headless: boolean;
  noBrowser: boolean;
}

function obtainKey(io: CommandIo, plan: LoginPlan): Promise<ExchangeResult> {
  const common = {
    baseUrl: plan.baseUrl,
    keyLabel: plan.keyLabel,
    ...(plan.limit === undefined ? {} : { limit: plan.limit }),
    input: io.stdin,
    output: io.stderr,
  };
  if (plan.headless) return signInHeadless(common);
  return signIn({
    ...common,
    openBrowser: plan.noBrowser ? false : openBrowser,
    onUrl: (url) =>
      io.stderr.write(
        plan.noBrowser
          ? `\nOpen this URL in a browser to connect:\n\n  ${url}\n\nWaiting for you to approve…\n`
          : `\nOpening your browser to connect. If it does not open, visit:\n\n  ${url}\n\n`,
      ),
  });
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
