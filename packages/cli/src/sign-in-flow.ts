import {
  type ExchangeResult,
  openBrowser,
  signInHeadless,
  signInWithLoopback,
} from "@keyport/client/node";
import { noBrowserReason } from "./browser-here.js";
import type { CommandIo } from "./io.js";

/** What `keyport login` asked for. */
export interface SignInPlan {
  readonly server: string;
  readonly keyLabel: string;
  readonly limit: number | undefined;
  /** `--headless`: print a URL that works anywhere and read the code the page shows. */
  readonly headless: boolean;
  /** `--no-browser`: do not start a browser; the user opens the URL on this machine. */
  readonly noBrowser: boolean;
  readonly platform: string;
}

const FALL_BACK = Symbol("headless");

/**
 * Gets a key and prints exactly one URL, the one that can work:
 * - headless (asked for, or no browser can open here): the consent URL without a callback,
 *   whose page shows a short code the user types back; it works from any device;
 * - `--no-browser` on a desktop: the loopback URL, to open on this machine;
 * - otherwise the browser opens the loopback URL, which is then printed in case it did not
 *   show; if no browser could be started, a person at a terminal goes headless (the loopback
 *   URL is never shown), and a script gets the loopback URL.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
export async function obtainKey(io: CommandIo, plan: SignInPlan): Promise<ExchangeResult> {
  const common = {
    baseUrl: plan.server,
    keyLabel: plan.keyLabel,
    ...(plan.limit === undefined ? {} : { limit: plan.limit }),
    input: io.stdin,
    output: io.stderr,
  };
  const say = (text: string) => io.stderr.write(text);
  const reason = plan.headless ? undefined : noBrowserReason(io.env, plan.platform);
  if (plan.headless || reason) {
    if (reason) say(`No browser can open here (${reason}), so sign in from any device.\n`);
    return signInHeadless(common);
  }
  const interactive = io.stdin.isTTY === true;
  const fallBack = new AbortController();
  try {
    return await signInWithLoopback({
      ...common,
      signal: fallBack.signal,
      onUrl: () => {},
      openBrowser: async (url) => {
        if (plan.noBrowser) {
          say(`\nOpen this URL in a browser on this machine to connect:\n\n  ${url}\n\n`);
          say("Waiting for you to approve…\n");
          return false;
        }
        const opened = await openBrowser(url);
        if (opened) {
          say(`\nOpened your browser to connect. If it did not show, visit:\n\n  ${url}\n\n`);
          say("Waiting for you to approve…\n");
        } else if (interactive) {
          fallBack.abort(FALL_BACK);
        } else {
          say(`\nCould not open a browser. Open this URL in a browser on this machine:\n\n`);
          say(`  ${url}\n\nWaiting for you to approve…\n`);
        }
        return opened;
      },
    });
  } catch (error) {
    if (error !== FALL_BACK) throw error;
    say("Could not open a browser, so sign in from any device.\n");
    return signInHeadless(common);
  }
}
