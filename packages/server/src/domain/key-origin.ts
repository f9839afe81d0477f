/** How a key came to be, as the dashboard shows it. */
export type KeyCreator = "app" | "headless" | "cli" | "management" | "dashboard";

/**
 * Where a key came from: an app through the PKCE flow (its callback's origin), the headless
 * PKCE flow (no callback: a terminal), the `keyport` CLI, the key-management API or the dashboard.
 */
export type KeyOrigin =
  | { readonly via: "app"; readonly app: string }
  | { readonly via: Exclude<KeyCreator, "app"> };

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * The app a callback URL belongs to: its origin, without the port on loopback (a CLI or desktop
 * app listens on a new port each time, yet stays one app), and `scheme:` for a custom scheme.
 * @example
 * appOriginOf("https://app.example/cb?x=1"); // "https://app.example"
 * appOriginOf("http://127.0.0.1:53121/callback"); // "http://127.0.0.1"
 * appOriginOf("com.example.app:/oauth"); // "com.example.app:"
 */
function appOriginOf(callbackUrl: string): string {
  const url = new URL(callbackUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return url.host ? `${url.protocol}//${url.host}` : url.protocol;
  }
  if (url.protocol === "http:" && LOOPBACK.has(url.hostname)) return `http://${url.hostname}`;
  return url.origin;
}

/** The origin of a key minted by the code exchange: the app's, or headless without a callback. */
export function exchangeOrigin(callbackUrl: string | null): KeyOrigin {
  return callbackUrl === null ? { via: "headless" } : { via: "app", app: appOriginOf(callbackUrl) };
}

/** A key's origin as stored in two columns (`created_via`, `app_origin`). */
export function originColumns(origin: KeyOrigin): {
  created_via: KeyCreator;
  app_origin: string | null;
} {
  return { created_via: origin.via, app_origin: origin.via === "app" ? origin.app : null };
}

/** The stored columns back to an origin; `null` for keys made before origins were recorded. */
export function originFromColumns(via: string | null, app: string | null): KeyOrigin | null {
  if (via === "app" && app !== null) return { via, app };
  if (via === "headless" || via === "cli" || via === "management" || via === "dashboard") {
    return { via };
  }
  return null;
}
