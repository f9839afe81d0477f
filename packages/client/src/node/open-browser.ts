import { spawn } from "node:child_process";

/**
 * Opens `url` in the user's default browser: `open` on macOS, `rundll32
 * url.dll,FileProtocolHandler` on Windows (no `cmd` in between, whose parser would cut the URL at
 * `&`), `xdg-open` elsewhere. Never throws: resolves `false` when the browser could not be
 * opened (no opener installed, no display), so the caller can show the URL instead.
 *
 * @example
 * ```ts
 * if (!(await openBrowser(url))) console.error(`Open ${url} in a browser`);
 * ```
 */
export function openBrowser(url: string, platform: string = process.platform): Promise<boolean> {
  const [command, args] =
    platform === "darwin"
      ? ["open", [url]]
      : platform === "win32"
        ? ["rundll32", ["url.dll,FileProtocolHandler", url]]
        : ["xdg-open", [url]];
  return new Promise((resolve) => {
    try {
      const child = spawn(command, args, { detached: true, stdio: "ignore" });
      child.once("error", () => resolve(false));
      child.once("exit", (code) => resolve(code === 0));
      // Some openers stay in the foreground as the browser itself: still running means it worked.
      child.once("spawn", () => setTimeout(() => resolve(true), 3000).unref());
      child.unref();
    } catch {
      resolve(false);
    }
  });
}
