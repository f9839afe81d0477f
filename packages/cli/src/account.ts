import {
  AccessDeniedError,
  CodeExpiredError,
  credentialsPath,
  InvalidCodeError,
  KeyportError,
  NetworkError,
  OPENROUTER_BASE_URL,
  TimeoutError,
  UnauthorizedError,
} from "@keyport/client/node";
import { type CommandIo, EXIT, UsageError } from "./io.js";
import { terminalText } from "./terminal-text.js";

/** The `--base-url` option shared by `login`, `whoami` and `logout`. */
export const baseUrlOption = { "base-url": { type: "string" } } as const;

/** Help text for {@link baseUrlOption}. */
export const baseUrlHelp = `  --base-url URL      the server (KEYPORT_BASE_URL, default ${OPENROUTER_BASE_URL})
`;

/**
 * The server to sign in to: `--base-url`, else `KEYPORT_BASE_URL`, else OpenRouter, whose wire
 * protocol Keyport speaks. Trailing slashes are dropped so one server is one credentials entry.
 *
 * @example
 * ```ts
 * resolveBaseUrl({ "base-url": "http://localhost:8787/" }, {}); // "http://localhost:8787"
 * ```
 */
export function resolveBaseUrl(values: Record<string, unknown>, env: CommandIo["env"]): string {
  const given = values["base-url"];
  const raw = typeof given === "string" ? given : env.KEYPORT_BASE_URL || OPENROUTER_BASE_URL;
  const source = typeof given === "string" ? "--base-url" : "KEYPORT_BASE_URL";
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

/**
 * The credentials file for this invocation's environment (`XDG_CONFIG_HOME` and `APPDATA` come
 * from `io.env`, so tests and wrappers can point it elsewhere).
 *
 * @example
 * ```ts
 * credentialsFile({ XDG_CONFIG_HOME: "/tmp/cfg" }); // "/tmp/cfg/keyport/credentials.json"
 * ```
 */
export function credentialsFile(env: CommandIo["env"]): string {
  return credentialsPath({ env });
}

/** The key's prefix and last four characters: enough to recognise it, useless to steal it. */
export function maskKey(key: string): string {
  return key.length > 16 ? `${key.slice(0, 12)}…${key.slice(-4)}` : "…";
}

/**
 * How to log in to `baseUrl` again: `keyport login`, plus `--base-url` when the default would
 * pick another server.
 */
export function loginHint(baseUrl: string, env: CommandIo["env"]): string {
  const fallback = resolveBaseUrl({}, env);
  return baseUrl === fallback ? "`keyport login`" : `\`keyport login --base-url ${baseUrl}\``;
}

/**
 * Writes the one-line message for a failed sign-in or key lookup (what happened, what to do
 * next) and returns the exit code: 3 when the user declined or the key was refused, 1
 * otherwise. Errors that are not the client's are rethrown.
 *
 * @example
 * ```ts
 * try { await signIn(options); } catch (error) { return reportError(error, io, "login", url); }
 * ```
 */
export function reportError(
  error: unknown,
  io: CommandIo,
  command: string,
  baseUrl: string,
): number {
  // The line carries the server's own words (error messages): printed as plain text.
  const say = (line: string) => io.stderr.write(`keyport ${command}: ${terminalText(line)}\n`);
  const login = loginHint(baseUrl, io.env);
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
    say(`could not reach ${baseUrl} (${causeText(error)}). Check --base-url and your network.`);
    return EXIT.failure;
  }
  if (error instanceof KeyportError) {
    const status = error.status ? ` (HTTP ${error.status})` : "";
    say(`${baseUrl} answered: ${error.message}${status}. Try again later, or check --base-url.`);
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
