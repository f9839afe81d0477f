import type { ExchangeResult } from "../exchange.js";
import { type HeadlessSignInOptions, signInHeadless } from "./headless.js";
import { type LoopbackSignInOptions, signInWithLoopback } from "./loopback.js";
import { openBrowser } from "./open-browser.js";

/** Options of {@link signIn}: those of both flows. */
export interface SignInOptions
  extends LoopbackSignInOptions,
    Pick<HeadlessSignInOptions, "prompt" | "input" | "output"> {}

/**
 * Signs in the best way available: the loopback flow through the system browser, or, when no
 * browser can be opened and a person is at the terminal (stdin is a TTY), the headless flow
 * where the user pastes the code.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 * @example
 * ```ts
 * const { key } = await signIn({ keyLabel: "my-cli", limit: 10 });
 * ```
 */
export async function signIn(options: SignInOptions = {}): Promise<ExchangeResult> {
  const input = options.input ?? process.stdin;
  const interactive = (input as { isTTY?: boolean }).isTTY === true;
  const open = options.openBrowser ?? openBrowser;
  if (open === false) return signInWithLoopback(options);
  const fallback = new AbortController();
  const headless = Symbol("headless");
  try {
    return await signInWithLoopback({
      ...options,
      signal: options.signal ? AbortSignal.any([options.signal, fallback.signal]) : fallback.signal,
      openBrowser: async (url) => {
        const opened = await open(url);
        if (!opened && interactive) fallback.abort(headless);
        return opened;
      },
    });
  } catch (error) {
    if (error !== headless) throw error;
    (options.output ?? process.stderr).write("Could not open a browser.\n");
    return signInHeadless({ ...options, input });
  }
}
