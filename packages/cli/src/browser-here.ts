import type { CommandIo } from "./io.js";

/**
 * Why no browser can open on this machine for the person at the terminal, or `undefined` when
 * one may: on Linux and the BSDs a browser needs a display (`DISPLAY` or `WAYLAND_DISPLAY`); on
 * macOS and Windows a session over SSH would open it on someone else's screen. Then only a
 * URL that works from any device (headless: the page shows a code) is worth printing.
 *
 * @example
 * ```ts
 * noBrowserReason({ SSH_CONNECTION: "10.0.0.2 5123 10.0.0.1 22" }, "darwin"); // "this is an SSH session"
 * ```
 */
export function noBrowserReason(env: CommandIo["env"], platform: string): string | undefined {
  if (platform === "darwin" || platform === "win32") {
    return env.SSH_CONNECTION || env.SSH_CLIENT || env.SSH_TTY
      ? "this is an SSH session"
      : undefined;
  }
  return env.DISPLAY || env.WAYLAND_DISPLAY ? undefined : "no display (DISPLAY is not set)";
}
