import { createInterface } from "node:readline";
import { type AuthorizationParams, authorizationUrl } from "../authorize.js";
import { InvalidCodeError } from "../errors.js";
import { type ExchangeResult, exchangeCode } from "../exchange.js";
import type { RequestOptions } from "../http.js";
import { createPkcePair } from "../pkce.js";

/** Options of {@link signInHeadless}. */
export interface HeadlessSignInOptions
  extends Omit<AuthorizationParams, "callbackUrl" | "state">,
    Omit<RequestOptions, "signal"> {
  /** Asks the user for the code shown after approving. Default: one line from `input`. */
  prompt?: (url: string) => Promise<string>;
  /** Default `process.stdin`. */
  input?: NodeJS.ReadableStream;
  /** Where the URL and the default prompt go. Default `process.stderr`. */
  output?: NodeJS.WritableStream;
  /** Cancels the prompt and the exchange; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/**
 * Signs in where no browser can reach this machine (SSH, containers): prints a consent URL
 * without `callback_url`, so the page shows the code, and exchanges the code the user pastes.
 * Headless mode requires S256, which this always uses.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3
 * @example
 * ```ts
 * const { key } = await signInHeadless({ keyLabel: "build-server" });
 * ```
 */
export async function signInHeadless(options: HeadlessSignInOptions = {}): Promise<ExchangeResult> {
  const { signal, input = process.stdin, output = process.stderr } = options;
  signal?.throwIfAborted();
  const pkce = await createPkcePair("S256");
  const url = authorizationUrl({ ...options, ...pkce, callbackUrl: undefined, state: undefined });
  output.write(
    `\nOpen this URL in any browser, approve, then type the code it shows (like ABCD-EFGH):\n\n  ${url}\n\n`,
  );
  const prompt = options.prompt ?? (() => readLine(input, output, signal));
  const code = (await prompt(url)).trim();
  if (!code) throw new InvalidCodeError("No code was entered");
  return exchangeCode({
    baseUrl: options.baseUrl,
    code,
    codeVerifier: pkce.codeVerifier,
    fetch: options.fetch,
    signal,
  });
}

/**
 * One line from `input`. Unlike `readline/promises` `question`, which never settles when input
 * ends first (a CLI fed `</dev/null` would hang, then exit 13), end of input answers what was
 * typed so far, or "" (→ "No code was entered").
 */
function readLine(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  signal: AbortSignal | undefined,
): Promise<string> {
  output.write("Code: ");
  const lines = createInterface({ input, terminal: false });
  let onAbort = () => {};
  return new Promise<string>((resolve, reject) => {
    onAbort = () => reject(signal?.reason);
    signal?.addEventListener("abort", onAbort);
    lines.once("line", resolve);
    lines.once("close", () => resolve(""));
  }).finally(() => {
    signal?.removeEventListener("abort", onAbort);
    lines.close();
  });
}
