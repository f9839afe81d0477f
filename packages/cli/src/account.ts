import {
  AccessDeniedError,
  CodeExpiredError,
  credentialsPath,
  InvalidCodeError,
  KeyportError,
  loadKey,
  NetworkError,
  OPENROUTER_BASE_URL,
  TimeoutError,
  UnauthorizedError,
} from "@keyport/client/node";
import { type CommandIo, EXIT, UsageError } from "./io.js";
import { PROFILE_NAME, type Profile, readProfile } from "./profiles.js";
import { terminalText } from "./terminal-text.js";

/** The options `login`, `whoami` and `logout` share: which server, and which saved login. */
export const accountOptions = {
  server: { type: "string" },
  "base-url": { type: "string" },
  profile: { type: "string" },
} as const;

/** Help rows for {@link accountOptions}, for `columns()`. */
export const accountHelpRows: readonly (readonly [string, string])[] = [
  [
    "--server URL",
    `the server, remembered in the profile (default: the profile's, else\nKEYPORT_URL, else ${OPENROUTER_BASE_URL})`,
  ],
  ["--base-url URL", "the same as --server (its older name)"],
  ["--profile NAME", 'which saved login to use (KEYPORT_PROFILE, default "default")'],
];

/** The saved login a command works on: where the file is, which profile, which server. */
export interface Account {
  /** The credentials file. */
  readonly path: string;
  readonly profileName: string;
  /** What the file holds for the profile, if anything. */
  readonly profile: Profile | undefined;
  /** The server this invocation talks to. */
  readonly server: string;
  /** The saved key, when the profile holds one for {@link Account.server}. */
  readonly key: string | undefined;
  /**
   * The key was saved by an earlier `keyport login`, by server in the file's `keys` (the SDK's
   * `saveKey`), before profiles: read for the default profile until it is replaced or logged out.
   */
  readonly legacy: boolean;
}

/**
 * Resolves the profile and the server: `--server` (or `--base-url`), else the server the
 * profile remembers, else `KEYPORT_URL` (or the older `KEYPORT_BASE_URL`), else OpenRouter,
 * whose wire protocol Keyport speaks. Reads the credentials file, so an unreadable one stops
 * the command before anything happens.
 *
 * @example
 * ```ts
 * const account = await resolveAccount({ server: "http://localhost:8787/" }, io.env);
 * account.server; // "http://localhost:8787"
 * ```
 */
export async function resolveAccount(
  values: Record<string, unknown>,
  env: CommandIo["env"],
): Promise<Account> {
  const profileName = resolveProfileName(values, env);
  const path = credentialsPath({ env });
  const profile = await readProfile(path, profileName);
  const flag = serverFlag(values);
  const server = flag
    ? parseServerUrl(flag.value, flag.name)
    : profile
      ? parseServerUrl(profile.server, `the server saved in profile "${profileName}"`)
      : defaultServer(env);
  if (!profile && profileName === "default") {
    const saved = await loadKey(server, { path });
    if (saved) return { path, profileName, profile, server, key: saved.key, legacy: true };
  }
  const key = profile?.key && profile.server === server ? profile.key : undefined;
  return { path, profileName, profile, server, key, legacy: false };
}

function resolveProfileName(values: Record<string, unknown>, env: CommandIo["env"]): string {
  const given = values.profile;
  const name = typeof given === "string" ? given : env.KEYPORT_PROFILE || "default";
  if (!PROFILE_NAME.test(name)) {
    const source = typeof given === "string" ? "--profile" : "KEYPORT_PROFILE";
    throw new UsageError(
      `${source} must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit.`,
    );
  }
  return name;
}

function serverFlag(values: Record<string, unknown>): { name: string; value: string } | undefined {
  const server = typeof values.server === "string" ? values.server : undefined;
  const baseUrl = typeof values["base-url"] === "string" ? values["base-url"] : undefined;
  if (server !== undefined && baseUrl !== undefined && server !== baseUrl) {
    throw new UsageError("--server and --base-url name the same setting: give one.");
  }
  if (server !== undefined) return { name: "--server", value: server };
  return baseUrl === undefined ? undefined : { name: "--base-url", value: baseUrl };
}

/** The server when neither a flag nor the profile names one. */
function defaultServer(env: CommandIo["env"]): string {
  if (env.KEYPORT_URL) return parseServerUrl(env.KEYPORT_URL, "KEYPORT_URL");
  if (env.KEYPORT_BASE_URL) return parseServerUrl(env.KEYPORT_BASE_URL, "KEYPORT_BASE_URL");
  return OPENROUTER_BASE_URL;
}

/** Trailing slashes are dropped so that one server is one server. */
function parseServerUrl(raw: string, source: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${source} must be an absolute URL such as https://openrouter.ai.`);
  }
  if (!/^https?:$/.test(url.protocol) || url.search || url.hash || url.username) {
    throw new UsageError(`${source} must be an http(s) URL without query, fragment or user.`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/** The key's prefix and last four characters: enough to recognise it, useless to steal it. */
export function maskKey(key: string): string {
  return key.length > 16 ? `${key.slice(0, 12)}…${key.slice(-4)}` : "…";
}

/** "not logged in to X", naming the profile when it is not the default one. */
export function notLoggedIn(account: Account): string {
  const profile = account.profileName === "default" ? "" : ` in profile ${account.profileName}`;
  return `not logged in to ${account.server}${profile}`;
}

/**
 * How to log in again: `keyport login`, plus `--server` when the profile would not pick this
 * server by itself, and `--profile` when it is not the one used by default.
 */
export function loginHint(account: Account, env: CommandIo["env"]): string {
  const remembered = account.profile?.server ?? defaultServer(env);
  const server = account.server === remembered ? "" : ` --server ${account.server}`;
  const usual = env.KEYPORT_PROFILE || "default";
  const profile = account.profileName === usual ? "" : ` --profile ${account.profileName}`;
  return `\`keyport login${server}${profile}\``;
}

/**
 * Writes the one-line message for a failed sign-in or key lookup (what happened, what to do
 * next) and returns the exit code: 3 when the user declined or the key was refused, 1
 * otherwise. Errors that are not the client's are rethrown.
 *
 * @example
 * ```ts
 * try { await signIn(options); } catch (error) { return reportError(error, io, "login", account); }
 * ```
 */
export function reportError(
  error: unknown,
  io: CommandIo,
  command: string,
  account: Account,
): number {
  const baseUrl = account.server;
  // The line carries the server's own words (error messages): printed as plain text.
  const say = (line: string) => io.stderr.write(`keyport ${command}: ${terminalText(line)}\n`);
  const login = loginHint(account, io.env);
  if (error instanceof AccessDeniedError) {
    say(`access was denied on the consent page. Run ${login} again to retry.`);
    return EXIT.unauthorized;
  }
  if (error instanceof UnauthorizedError) {
    say(`${baseUrl} refused the saved key (revoked or expired). Run ${login} for a new one.`);
    return EXIT.unauthorized;
  }
  if (error instanceof TimeoutError) {
    say(`${error.message}. Run ${login} again, or add --headless to paste a code instead.`);
    return EXIT.failure;
  }
  if (error instanceof InvalidCodeError && error.status === undefined) {
    say(`no code was entered. Run ${login} again and paste the code the page shows.`);
    return EXIT.failure;
  }
  if (error instanceof InvalidCodeError || error instanceof CodeExpiredError) {
    say(`${error.message}. A code works once, for 10 minutes: run ${login} again.`);
    return EXIT.failure;
  }
  if (error instanceof NetworkError) {
    say(`could not reach ${baseUrl} (${causeText(error)}). Check --server and your network.`);
    return EXIT.failure;
  }
  if (error instanceof KeyportError) {
    const status = error.status ? ` (HTTP ${error.status})` : "";
    say(`${baseUrl} answered: ${error.message}${status}. Try again later, or check --server.`);
    return EXIT.failure;
  }
  throw error;
}

/** The innermost reason `fetch` gave: `ECONNREFUSED`, `ENOTFOUND`, `bad port`, … */
function causeText(error: Error): string {
  let reason: unknown = error;
  while (reason instanceof Error && reason.cause instanceof Error) reason = reason.cause;
  const code = (reason as { code?: unknown }).code;
  return typeof code === "string" ? code : (reason as Error).message;
}
