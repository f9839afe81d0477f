import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type AuthorizationParams, authorizationUrl } from "../authorize.js";
import { checkCallback } from "../check-callback.js";
import { TimeoutError } from "../errors.js";
import { type ExchangeResult, exchangeCode } from "../exchange.js";
import type { RequestOptions } from "../http.js";
import { createPkcePair } from "../pkce.js";
import { randomToken, timingSafeEqual } from "../platform.js";
import { openBrowser as defaultOpenBrowser } from "./open-browser.js";
import { sendPage, sendText } from "./pages.js";

/** Opens a URL in a browser; resolves `false` when it could not. */
export type BrowserOpener = (url: string) => boolean | Promise<boolean>;

/** Options of {@link signInWithLoopback}. */
export interface LoopbackSignInOptions
  extends Omit<AuthorizationParams, "callbackUrl" | "state">,
    Omit<RequestOptions, "signal"> {
  /** Opens the consent page. Default: the system browser; `false` to only show the URL. */
  openBrowser?: BrowserOpener | false;
  /** Shown the consent page URL, always, before the browser opens. Default: print to stderr. */
  onUrl?: (url: string) => void;
  /** How long to wait for the user, in milliseconds. Default 300 000 (5 minutes). */
  timeoutMs?: number;
  /** Cancels the sign-in; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * The loopback port to listen on, for servers that only accept one registered callback
   * (`--allowed-callbacks http://127.0.0.1:53682/`). Default 0: the OS picks a free one.
   */
  port?: number;
}

/**
 * The default `onUrl`: prints the consent URL to stderr, where it cannot pollute a CLI's piped
 * stdout.
 *
 * @example
 * ```ts
 * await signInWithLoopback({ onUrl: (url) => { printUrl(url); copyToClipboard(url); } });
 * ```
 */
export function printUrl(url: string): void {
  process.stderr.write(
    `\nOpening your browser to connect. If it does not open, visit:\n\n  ${url}\n\n`,
  );
}

/**
 * Signs in from a CLI through the system browser and a one-shot HTTP listener on
 * `127.0.0.1` (RFC 8252 §7.3): the port is chosen by the OS, the callback path carries a
 * 256-bit nonce, PKCE is S256 and `state` is checked. Requests that are not the callback
 * (favicon, wrong path or nonce, missing code, wrong state) get a 4xx and are ignored. The
 * listener is closed whatever happens.
 *
 * Rejects with {@link AccessDeniedError}, {@link TimeoutError}, `signal.reason` on abort, or
 * any error of {@link exchangeCode}.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 * @see https://www.rfc-editor.org/rfc/rfc7636
 * @example
 * ```ts
 * const { key } = await signInWithLoopback({ keyLabel: "my-cli" });
 * await saveKey("https://openrouter.ai", { key });
 * ```
 */
export async function signInWithLoopback(
  options: LoopbackSignInOptions = {},
): Promise<ExchangeResult> {
  const { signal, timeoutMs = 300_000, onUrl = printUrl } = options;
  signal?.throwIfAborted();
  const server = createServer();
  const wanted = options.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? Object.assign(
              new Error(
                `Port ${wanted} on 127.0.0.1 is already in use: free it or leave out "port"`,
                {
                  cause: error,
                },
              ),
              { code: "EADDRINUSE" },
            )
          : error,
      ),
    );
    server.listen(wanted, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  const callbackPath = `/callback/${randomToken(32)}`;
  const state = randomToken(32);
  // From here on, every exit goes through `finish`, which closes the listener.
  const stop = new AbortController();

  return new Promise<ExchangeResult>((resolve, reject) => {
    let active: ServerResponse | undefined;
    let done = false;
    let verifier = "";

    const finish = (error: unknown, result?: ExchangeResult, page?: [number, string, string]) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      server.close(() => (result ? resolve(result) : reject(error)));
      if (active && !active.writableEnded) {
        const [status, title, detail] = page ?? [500, "Sign-in failed", String(error)];
        sendPage(active, status, title, detail, () => server.closeAllConnections());
      } else {
        server.closeAllConnections();
      }
    };
    const onAbort = () => stop.abort(signal?.reason);
    stop.signal.addEventListener("abort", () => finish(stop.signal.reason));
    signal?.addEventListener("abort", onAbort);
    if (signal?.aborted) onAbort();
    const timer = setTimeout(
      () => stop.abort(new TimeoutError(`No sign-in within ${Math.round(timeoutMs / 1000)} s`)),
      timeoutMs,
    );

    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      if (done || active || req.method !== "GET" || !timingSafeEqual(url.pathname, callbackPath)) {
        return sendText(res, 404, "Not found");
      }
      const callback = {
        code: url.searchParams.get("code"),
        state: url.searchParams.get("state"),
        error: url.searchParams.get("error"),
      };
      if (callback.code === null && callback.error === null) {
        return sendText(res, 400, "Missing code");
      }
      if (callback.state !== null && !timingSafeEqual(callback.state, state)) {
        return sendText(res, 400, "State does not match");
      }
      active = res;
      try {
        checkCallback(callback, state);
      } catch (error) {
        return finish(error, undefined, [403, "Sign-in cancelled", "You can close this tab."]);
      }
      exchangeCode({
        baseUrl: options.baseUrl,
        code: callback.code,
        codeVerifier: verifier,
        fetch: options.fetch,
        signal: stop.signal,
      }).then(
        (result) =>
          finish(undefined, result, [
            200,
            "Connected",
            "You can close this tab and return to the terminal.",
          ]),
        (error: unknown) =>
          finish(error, undefined, [502, "Sign-in failed", (error as Error).message]),
      );
    };
    server.on("request", onRequest);

    createPkcePair("S256")
      .then(async (pkce) => {
        verifier = pkce.codeVerifier;
        const url = authorizationUrl({
          ...options,
          ...pkce,
          callbackUrl: `http://127.0.0.1:${port}${callbackPath}`,
          state,
        });
        onUrl(url);
        const open = options.openBrowser ?? defaultOpenBrowser;
        // A failing opener is not a failed sign-in: the user still has the URL.
        if (open)
          await Promise.resolve(url)
            .then(open)
            .catch(() => false);
      })
      .catch(finish);
  });
}
