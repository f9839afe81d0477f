import { createInterface } from "node:readline/promises";
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
    `\nOpen this URL in any browser, approve, and paste the code shown:\n\n  ${url}\n\n`,
  );
  const prompt =
    options.prompt ??
    (async () => {
      const lines = createInterface({ input, output, terminal: false });
      try {
        return await lines.question("Code: ", signal ? { signal } : {});
      } finally {
        lines.close();
      }
    });
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
